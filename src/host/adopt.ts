/**
 * Namespaces cnperf did not make — a container's, a process's — get a name of the run's for as long
 * as it lasts: `ip netns attach NAME PID` bind-mounts /proc/PID/ns/net at /run/netns/NAME, so the
 * engine (--netns), `ip -n` and every probe reach them as they reach the run's own. Nothing inside
 * the namespace changes; teardown removes only the name (unmount + unlink: the namespace lives on
 * with its processes).
 */
import { existsSync } from 'node:fs';
import { errorMessage, UserError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './command.js';
import { netnsExists, registerUndoHandler } from './executor.js';
import type { Journal } from './journal.js';

/** Names the network namespace of process `pid` `name` for the run; `what` says whose it is. */
export async function adoptNamespace(name: string, pid: number, what: string, journal: Journal, run: CommandRunner = runCommand): Promise<void> {
  if (!existsSync(`/proc/${pid}/ns/net`)) throw new UserError(`${what}: process ${pid} does not exist (or has no network namespace)`);
  journal.append({ op: 'unname-netns', netns: name, what });
  try {
    await run(['ip', 'netns', 'attach', name, String(pid)]);
  } catch (e) {
    throw new UserError(`${what}: cannot enter the network namespace of process ${pid}: ${errorMessage(e)}`);
  }
}

registerUndoHandler('unname-netns', {
  describe: (u) => `the run's name ${u.netns} for ${u.what}'s namespace`,
  async undo(u, run) {
    if (!netnsExists(u.netns)) return 'gone';
    // `ip netns del` unmounts and unlinks the name; a namespace some process still holds lives on
    await run(['ip', 'netns', 'del', u.netns]);
    return 'removed';
  },
});
