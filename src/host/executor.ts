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
import { cniDel } from '../cni/runtime.js';

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

export function describeUndo(u: UndoAction): string {
  switch (u.op) {
    case 'del-netns':
      return `namespace ${u.netns}`;
    case 'del-link':
      return `link ${u.dev} in ${u.netns}`;
    case 'kill-pidfile':
      return `${u.comm} (${u.pidfile})`;
    case 'rm-dir':
      return `directory ${u.path}`;
    case 'rm-trace-instance':
      return `tracefs instance ${u.path}`;
    case 'umount-tracefs':
      return `tracefs mount ${u.path}`;
    case 'cni-del':
      return `CNI attachment ${u.containerId} (network ${u.network.name}) in ${u.netns}`;
  }
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
  if (u.op === 'kill-pidfile') return stopDaemon(u.pidfile, u.comm);
  if (u.op === 'rm-trace-instance') return removeTraceInstance(u.path);
  if (u.op === 'umount-tracefs') return unmountTracefs(u.path, run);
  if (u.op === 'cni-del') {
    // Without the node the plugins have nothing to undo there; the run directory (IPAM state) goes
    // with its own journal entry.
    if (!netnsExists(u.runIn) || !netnsExists(u.netns)) return 'gone';
    await cniDel({ network: u.network, containerId: u.containerId, netns: u.netns, ifname: u.ifname, runIn: u.runIn, cacheFile: u.cacheFile });
    return 'removed';
  }
  if (u.op === 'rm-dir') {
    // Only ever a directory of ours: under the state directory, named by a run id.
    if (!/^\/.+\/cnp[a-z0-9]{6}$/.test(u.path) || !path.resolve(u.path).startsWith(path.resolve(stateDir()) + path.sep)) throw new Error(`refusing to remove ${u.path}: not a run directory under ${stateDir()}`);
    if (!existsSync(u.path)) return 'gone';
    rmSync(u.path, { recursive: true, force: true });
    return 'removed';
  }
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
