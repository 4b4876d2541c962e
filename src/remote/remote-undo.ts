/**
 * How a real host's journal entries are undone: each as a command over ssh (the host has no
 * cnperf-wire, and this machine's /run/netns and /proc are not the host's). The kinds a host's journal
 * holds: the run's namespaces and links, its names for the host's own namespace, routes and sysctls
 * there (src/local/executor.ts's handlers already work through any runner), the engines' pidfiles and
 * the run's directory on the host.
 */
import { type ExecutorPlace } from '../local/executor.js';
import {
  delRouteArgv,
  refusedOnHost,
  registeredHostUndoHandlers,
  restoreSysctlArgv,
  runOrGone,
  scriptOrGone,
  unmountOnHost,
  type UndoHandler,
  type UndoHandlers,
} from '../local/undo.js';
import type { CommandRunner } from '../local/command.js';
import type { UndoAction } from '../local/steps.js';
import { REMOTE_STATE_DIR } from './remote-host.js';
import { sh } from '../util/shell.js';
import { REMOVE_INSTANCE } from './remote-trace.js';
import { INSTANCE_RE } from '../local/tracefs.js';

/** An undo that is one command on the host (its object gone counting as done): many go in one call. */
const commandHandler = <K extends UndoAction['op']>(
  argv: (u: Extract<UndoAction, { op: K }>) => readonly string[],
): UndoHandler<Extract<UndoAction, { op: K }>> => ({
  describe: (u) => u.op,
  undo: (u, run) => runOrGone(run, argv(u)),
  command: argv,
});

const handler = <K extends UndoAction['op']>(
  undo: (u: Extract<UndoAction, { op: K }>, run: CommandRunner) => Promise<'removed' | 'gone'>,
): UndoHandler<Extract<UndoAction, { op: K }>> => ({
  describe: (u) => u.op,
  undo,
});

/**
 * Stops the engine in pidfile if it is still one — its name, and started before the pidfile was written
 * (a later process got the pid after ours died) — SIGTERM, then SIGKILL after two seconds.
 */
const STOP_PIDFILE = `p=$(cat "$1" 2>/dev/null) || exit 3
[ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] || exit 3
s=$(cat /proc/$p/stat) && b=$(sed -n 's/^btime //p' /proc/stat) && m=$(stat -c %Y "$1") || exit 3
[ $((b + $(printf '%s' "\${s##*) }" | cut -d' ' -f20) / 100)) -le $((m + 1)) ] || exit 3
kill -TERM "$p" 2>/dev/null; i=0
while [ $i -lt 20 ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ]; do sleep 0.1; i=$((i+1)); done
[ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] && kill -KILL "$p" 2>/dev/null; exit 0`;

/** Kinds of this floor a host's journal never holds: refused by name there, the journal kept. */
export const NEVER_ON_A_HOST: Partial<Record<UndoAction['op'], string>> = {
  'ssh-exit': "an ssh connection is this machine's, journaled here, never on a host",
};

const HOST_OWN: UndoHandlers = {
  'del-netns': commandHandler<'del-netns'>((u) => ['ip', 'netns', 'del', u.netns]),
  'del-link': commandHandler<'del-link'>((u) => ['ip', '-n', u.netns, 'link', 'del', 'dev', u.dev]),
  // the name only: the host's namespace lives on
  'unname-netns': commandHandler<'unname-netns'>((u) => ['ip', 'netns', 'del', u.netns]),
  'kill-pidfile': handler<'kill-pidfile'>((u, run) => scriptOrGone(run, STOP_PIDFILE, u.pidfile, u.comm)),
  'rm-trace-instance': handler<'rm-trace-instance'>(async (u, run) => {
    if (!INSTANCE_RE.test(u.path))
      throw new Error(`refusing to remove ${u.path} on a host: not a cnperf tracefs instance`);
    return scriptOrGone(run, REMOVE_INSTANCE, u.path);
  }),
  // only ever where a traced run mounted it because nothing had (its journal says so)
  'umount-tracefs': handler<'umount-tracefs'>((u, run) =>
    runOrGone(
      run,
      sh(
        'grep -q " $1 tracefs " /proc/mounts || { echo "No such file or directory" >&2; exit 1; }; umount "$1"',
        u.path,
      ),
    ),
  ),
  'umount-bpffs': handler<'umount-bpffs'>(unmountOnHost('bpf')),
  // the executor's own: they act only through the runner, which here is the host's ssh
  'del-route': commandHandler<'del-route'>(delRouteArgv),
  'sysctl-restore': commandHandler<'sysctl-restore'>(restoreSysctlArgv),
  ...Object.fromEntries(Object.entries(NEVER_ON_A_HOST).map(([op, why]) => [op, refusedOnHost(op as never, why)])),
  'rm-dir': handler<'rm-dir'>(async (u, run) => {
    if (!/^\/run\/cnperf\/cnp[a-z0-9]{6}$/.test(u.path))
      throw new Error(`refusing to remove ${u.path} on a host: not a run directory under ${REMOTE_STATE_DIR}`);
    return runOrGone(run, sh('[ -d "$1" ] || { echo "No such file or directory" >&2; exit 1; }; rm -rf "$1"', u.path));
  }),
};

/** A host's place: its own handlers, and those the modules that journal kinds of their own registered. */
export const ON_A_HOST: ExecutorPlace = {
  wire: false,
  get undo(): UndoHandlers {
    return { ...registeredHostUndoHandlers(), ...HOST_OWN };
  },
};
