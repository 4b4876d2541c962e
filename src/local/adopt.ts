/**
 * Namespaces cnperf did not make — a container's, a process's — get a name of the run's for as long
 * as it lasts: `ip netns attach NAME PID` bind-mounts /proc/PID/ns/net at /run/netns/NAME, so the
 * engine (--netns), `ip -n` and every probe reach them as they reach the run's own. Nothing inside
 * the namespace changes; teardown removes only the name (unmount + unlink: the namespace lives on
 * with its processes).
 */
import { existsSync, statSync } from 'node:fs';
import { errorMessage, UserError } from '../util/errors.js';
import { runCommand, type CommandRunner } from './command.js';
import { netnsExists, registerUndoHandler } from './undo.js';
import type { JournalLike } from './journal.js';

/** Names the network namespace of process `pid` `name` for the run; `what` says whose it is. */
export async function adoptNamespace(
  name: string,
  pid: number,
  what: string,
  journal: Pick<JournalLike, 'append'>,
  run: CommandRunner = runCommand,
): Promise<void> {
  checkNamespaceOf(pid, what);
  await journal.append({ op: 'unname-netns', netns: name, what });
  try {
    await run(['ip', 'netns', 'attach', name, String(pid)]);
  } catch (e) {
    throw new UserError(`${what}: cannot enter the network namespace of process ${pid}: ${errorMessage(e)}`);
  }
}

/**
 * Whether process pid's network namespace can be entered, said truly: a process that exists but whose
 * namespace cannot be read (another user's, a sandbox's pid 1) is not "a process that does not exist".
 */
function checkNamespaceOf(pid: number, what: string): void {
  if (!existsSync(`/proc/${pid}`)) throw new UserError(`${what}: process ${pid} does not exist`);
  try {
    statSync(`/proc/${pid}/ns/net`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new UserError(`${what}: process ${pid} has no network namespace (it exited, or is a kernel thread)`);
    throw new UserError(
      `${what}: process ${pid} exists, but its network namespace cannot be opened (${errorMessage(e)})`,
      'cnperf runs as root; a process of another user namespace, or one the kernel hides (ptrace rules, a ' +
        'sandbox), cannot be entered',
    );
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
