/**
 * The only code that changes the host's network state. It runs planned steps in order, journaling
 * each step's reverse action first, and tears down by replaying the journal backwards. Teardown
 * treats "already gone" as success, so it can be run any number of times.
 */
import { existsSync } from 'node:fs';
import { HostCommandError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './command.js';
import type { Journal } from './journal.js';
import type { Step, UndoAction } from './steps.js';

export interface TeardownReport {
  removed: string[];
  alreadyGone: string[];
  failed: Array<{ what: string; error: string }>;
}

/**
 * Test-only fault injection (issue: reliability): CNPERF_TEST_FAULT="fail@K" makes step K (1-based)
 * fail; "kill@K" SIGKILLs this process right after step K. Never set outside tests.
 */
function faultAt(stepNo: number): 'fail' | 'kill' | null {
  const spec = process.env.CNPERF_TEST_FAULT;
  if (!spec) return null;
  const m = /^(fail|kill)@(\d+)$/.exec(spec);
  return m && Number(m[2]) === stepNo ? (m[1] as 'fail' | 'kill') : null;
}

export class HostExecutor {
  constructor(
    readonly journal: Journal,
    private readonly run: CommandRunner = runCommand,
  ) {}

  async apply(steps: readonly Step[]): Promise<void> {
    for (const [i, step] of steps.entries()) {
      if (step.undo) this.journal.append(step.undo);
      const fault = faultAt(i + 1);
      if (fault === 'fail') throw new HostCommandError(step.argv, 'injected failure (CNPERF_TEST_FAULT)', 1);
      await this.run(step.argv, step.stdin);
      if (fault === 'kill') process.kill(process.pid, 'SIGKILL');
    }
  }

  async teardown(): Promise<TeardownReport> {
    const report = await undoAll(this.journal.undos(), this.run);
    if (report.failed.length === 0) this.journal.remove();
    return report;
  }
}

export function describeUndo(u: UndoAction): string {
  return u.op === 'del-netns' ? `namespace ${u.netns}` : `link ${u.dev} in ${u.netns}`;
}

export async function undoAll(undos: readonly UndoAction[], run: CommandRunner = runCommand): Promise<TeardownReport> {
  const report: TeardownReport = { removed: [], alreadyGone: [], failed: [] };
  for (const u of [...undos].reverse()) {
    const what = describeUndo(u);
    try {
      const r = await undoOne(u, run);
      (r === 'removed' ? report.removed : report.alreadyGone).push(what);
    } catch (e) {
      report.failed.push({ what, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return report;
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

async function undoOne(u: UndoAction, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (!netnsExists(u.netns)) return 'gone'; // a link dies with its namespace
  if (u.op === 'del-netns') {
    await run(['ip', 'netns', 'del', u.netns]);
    return 'removed';
  }
  try {
    await run(['ip', '-n', u.netns, 'link', 'del', 'dev', u.dev]);
    return 'removed';
  } catch (e) {
    if (e instanceof HostCommandError && /Cannot find device/.test(e.stderr)) return 'gone';
    throw e;
  }
}
