/**
 * The only code that changes the host's network state. It runs planned steps in order, journaling
 * each step's reverse action first, and tears down by replaying the journal backwards. Teardown
 * treats "already gone" as success, so it can be run any number of times.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths.js';
import { HostCommandError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './command.js';
import type { Journal } from './journal.js';
import type { Step, UndoAction } from './steps.js';
import { removeTraceInstance, unmountTracefs } from './tracefs.js';

export interface TeardownReport {
  removed: string[];
  alreadyGone: string[];
  failed: Array<{ what: string; error: string }>;
}

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
      if (fault === 'pause') await pauseForTest(`after step ${i + 1}`);
    }
  }

  async teardown(): Promise<TeardownReport> {
    if (faultAt('teardown') === 'pause') await pauseForTest('at teardown');
    const report = await undoAll(this.journal.undos(), this.run);
    if (report.failed.length === 0) this.journal.remove();
    return report;
  }
}

/**
 * How each kind of journal entry is described and undone. The host's own kinds are here; a module
 * that journals kinds of its own (cni-del: src/cni/attach.ts) registers their handler when it is
 * loaded, so the host layer never imports the layers above it.
 */
type UndoHandler<U extends UndoAction> = { describe(u: U): string; undo(u: U, run: CommandRunner): Promise<'removed' | 'gone'> };
const UNDO_HANDLERS: { [K in UndoAction['op']]?: UndoHandler<Extract<UndoAction, { op: K }>> } = {};

export function registerUndoHandler<K extends UndoAction['op']>(op: K, handler: UndoHandler<Extract<UndoAction, { op: K }>>): void {
  (UNDO_HANDLERS as Record<string, unknown>)[op] = handler;
}

function handlerOf<U extends UndoAction>(u: U): UndoHandler<U> {
  const h = UNDO_HANDLERS[u.op] as UndoHandler<U> | undefined;
  if (!h) throw new Error(`no handler for journal entry '${u.op}' (its module was not loaded)`);
  return h;
}

export function describeUndo(u: UndoAction): string {
  return UNDO_HANDLERS[u.op] ? handlerOf(u).describe(u) : `${u.op} ${JSON.stringify(u)}`;
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

/** Stops the process in pidfile if it is still `comm`: SIGTERM, then SIGKILL after two seconds. */
async function stopDaemon(pidfile: string, comm: string): Promise<'removed' | 'gone'> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch {
    return 'gone';
  }
  const alive = () => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };
  if (!Number.isInteger(pid) || pid <= 1 || !alive()) return 'gone';
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  if (alive()) process.kill(pid, 'SIGKILL');
  return 'removed';
}

async function undoOne(u: UndoAction, run: CommandRunner): Promise<'removed' | 'gone'> {
  return handlerOf(u).undo(u, run);
}

async function delNetns(u: { netns: string }, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (!netnsExists(u.netns)) return 'gone';
  await run(['ip', 'netns', 'del', u.netns]);
  return 'removed';
}

async function delLink(u: { netns: string; dev: string }, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (!netnsExists(u.netns)) return 'gone'; // a link dies with its namespace
  try {
    await run(['ip', '-n', u.netns, 'link', 'del', 'dev', u.dev]);
    return 'removed';
  } catch (e) {
    if (e instanceof HostCommandError && /Cannot find device/.test(e.stderr)) return 'gone';
    throw e;
  }
}

/** Only ever a directory of ours: under the state directory, named by a run id. */
async function rmRunDir(u: { path: string }): Promise<'removed' | 'gone'> {
  if (!/^\/.+\/cnp[a-z0-9]{6}$/.test(u.path) || !path.resolve(u.path).startsWith(path.resolve(stateDir()) + path.sep)) throw new Error(`refusing to remove ${u.path}: not a run directory under ${stateDir()}`);
  if (!existsSync(u.path)) return 'gone';
  rmSync(u.path, { recursive: true, force: true });
  return 'removed';
}

registerUndoHandler('del-netns', { describe: (u) => `namespace ${u.netns}`, undo: delNetns });
registerUndoHandler('del-link', { describe: (u) => `link ${u.dev} in ${u.netns}`, undo: delLink });
registerUndoHandler('kill-pidfile', { describe: (u) => `${u.comm} (${u.pidfile})`, undo: (u) => stopDaemon(u.pidfile, u.comm) });
registerUndoHandler('rm-dir', { describe: (u) => `directory ${u.path}`, undo: rmRunDir });
registerUndoHandler('rm-trace-instance', { describe: (u) => `tracefs instance ${u.path}`, undo: async (u) => removeTraceInstance(u.path) });
registerUndoHandler('umount-tracefs', { describe: (u) => `tracefs mount ${u.path}`, undo: (u, run) => unmountTracefs(u.path, run) });
