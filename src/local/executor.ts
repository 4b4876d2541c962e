/**
 * The only code that changes the host's network state. It runs planned steps in order, journaling
 * each step's reverse action first, and tears down by replaying the journal backwards. Teardown
 * treats "already gone" as success, so it can be run any number of times.
 *
 * Consecutive kernel steps go to cnperf-wire as one batch (src/local/wire.ts): their undos are all
 * journaled, in one write, before the batch is sent, so a crash anywhere in it is still undone (an
 * undo whose object was never made finds it "already gone"). A batch ends at a test fault point, so
 * fail@K / kill@K / pause@K still act exactly at step K. Teardown deletes namespaces rather than
 * the links inside them: the kernel then dismantles every device of every dying namespace in one
 * batch (one RCU grace period) instead of one per link.
 */
import { HostCommandError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './command.js';
import { unreadableFailure, type Journal, type JournalLike } from './journal.js';
import type { Step } from './steps.js';
import { runWire, wireLine } from './wire.js';
import { undoAll, type TeardownReport, type UndoHandlers } from './undo.js';

export type { TeardownReport };

/**
 * Test-only fault injection (issue: reliability): CNPERF_TEST_FAULT="fail@K" makes step K (1-based)
 * fail; "kill@K" SIGKILLs this process right after step K; "pause@K" and "pause@teardown" say so on
 * stderr and wait 1.5 s there, so a test can signal a run at a known point. Never set outside tests.
 */
function faultAt(stepNo: number | 'teardown'): 'fail' | 'kill' | 'pause' | null {
  const spec = process.env.CNPERF_TEST_FAULT;
  if (!spec) return null;
  const m = /^(fail|kill|pause)@(\d+|teardown)$/.exec(spec);
  return m && m[2] === String(stepNo) ? (m[1] as 'fail' | 'kill' | 'pause') : null;
}

async function pauseForTest(where: string): Promise<void> {
  process.stderr.write(`cnperf: test fault: paused ${where}\n`);
  await new Promise((r) => setTimeout(r, 1500));
}

/** A kernel step cnperf-wire applied and the kernel refused: named by its `ip` equivalent. */
export class NetlinkStepError extends HostCommandError {
  constructor(argv: readonly string[], error: string) {
    super(argv, error, 1);
    this.message = `netlink request failed (as \`${argv.join(' ')}\`): ${error}`;
  }
}

/**
 * The kernel steps from `from` on that go to cnperf-wire together: consecutive netlink steps, ending
 * before a step that is to fail (it is journaled and fails on its own) or right after one where the
 * process is to be killed or paused.
 */
function netlinkBatch(steps: readonly Step[], from: number): Step[] {
  const batch: Step[] = [];
  for (let i = from; i < steps.length && steps[i]!.net; i++) {
    const fault = faultAt(i + 1);
    if (fault === 'fail') break;
    batch.push(steps[i]!);
    if (fault) break;
  }
  return batch;
}

/**
 * Where an executor runs its steps: here (cnperf-wire applies kernel steps in batches), or on a real
 * host over ssh (src/remote/), where every step is its command and the undos that read this machine's
 * files (namespaces in /run/netns, pidfiles) are the host's own.
 */
export interface ExecutorPlace {
  /** kernel steps as cnperf-wire batches (false: each as its `ip` command) */
  wire: boolean;
  /** the undo handlers of this place: elsewhere than here, a kind without one is refused, never done here */
  undo?: UndoHandlers;
  /**
   * Runs consecutive ordinary steps (no `before`, no deadline of their own) in one go, each step's undo
   * journaled right before it runs, stopping at the first that fails: a host over ssh, where each
   * step on its own would be two round trips.
   */
  batch?(steps: readonly Step[]): Promise<void>;
}

/** The ordinary steps from `from` on that go to ExecutorPlace.batch together (ended by a fault point). */
function commandBatch(steps: readonly Step[], from: number): Step[] {
  const batch: Step[] = [];
  for (let i = from; i < steps.length && !steps[i]!.before && !steps[i]!.timed && !steps[i]!.timeoutMs; i++) {
    if (faultAt(i + 1) === 'fail') break;
    batch.push(steps[i]!);
    if (faultAt(i + 1)) break;
  }
  return batch;
}

export const HERE: ExecutorPlace = { wire: true };

export class HostExecutor<J extends JournalLike = Journal> {
  /** how long each timed step took (Step.timed), in the order they ran */
  readonly timings: Array<{ what: string; ms: number }> = [];

  constructor(
    readonly journal: J,
    private readonly run: CommandRunner = runCommand,
    private readonly place: ExecutorPlace = HERE,
  ) {}

  async apply(steps: readonly Step[]): Promise<void> {
    for (let i = 0; i < steps.length;) {
      const batch = this.place.wire ? netlinkBatch(steps, i) : [];
      const commands = this.place.batch ? commandBatch(steps, i) : [];
      if (commands.length > 0) {
        await this.place.batch!(commands);
        i += commands.length;
      } else if (batch.length > 0) {
        await this.journal.appendAll(batch.flatMap((s) => (s.undo ? [s.undo] : [])));
        const { answers } = await runWire(
          'apply',
          batch.map((s) => wireLine(s.net!)),
          this.run,
        );
        const refused = answers.findIndex((a) => !a.ok);
        if (refused >= 0)
          throw new NetlinkStepError(batch[refused]!.argv, (answers[refused] as { error: string }).error);
        i += batch.length;
      } else {
        const step = steps[i++]!;
        if (step.before) await this.journal.append(step.before.undo((await this.run(step.before.argv)).stdout));
        if (step.undo) await this.journal.append(step.undo);
        if (faultAt(i) === 'fail') throw new HostCommandError(step.argv, 'injected failure (CNPERF_TEST_FAULT)', 1);
        const t0 = performance.now();
        await this.run(step.argv, step.stdin, step.timeoutMs);
        if (step.timed) this.timings.push({ what: step.timed, ms: Math.round((performance.now() - t0) * 10) / 10 });
      }
      // i steps are done: act on a fault point right after the last of them
      if (faultAt(i) === 'kill') process.kill(process.pid, 'SIGKILL');
      if (faultAt(i) === 'pause') await pauseForTest(`after step ${i}`);
    }
  }

  async teardown(): Promise<TeardownReport> {
    if (faultAt('teardown') === 'pause') await pauseForTest('at teardown');
    const report = await undoAll(this.journal.undos(), this.run, this.place.undo);
    const unreadable = unreadableFailure({ path: this.journal.path, unreadable: this.journal.unreadable?.() ?? [] });
    if (unreadable) report.failed.push(unreadable);
    if (report.failed.length === 0) await this.journal.remove();
    return report;
  }
}
