/**
 * How a real host's journal entries are undone: each as a command over ssh (the host has no
 * cnperf-wire, and this machine's /run/netns and /proc are not the host's). The kinds a host's journal
 * holds: the run's namespaces and links, its names for the host's own namespace, routes and sysctls
 * there (src/local/executor.ts's handlers already work through any runner), the engines' pidfiles and
 * the run's directory on the host.
 */
import { type ExecutorPlace } from '../local/executor.js';
import { delRouteArgv, restoreSysctlArgv, runOrGone, type UndoHandler } from '../local/undo.js';
import type { CommandRunner } from '../local/command.js';
import type { UndoAction } from '../local/steps.js';
import { HostCommandError } from '../util/errors.js';
import { REMOTE_STATE_DIR } from './remote-host.js';
import { sh } from '../util/shell.js';
import { REMOVE_INSTANCE } from './remote-trace.js';
import { INSTANCE_RE } from '../local/tracefs.js';
import { remotePlugins } from '../datapaths/cni/cni-remote.js';
import { cniDel } from '../datapaths/cni/runtime.js';
import type { NetworkList } from '../datapaths/cni/config.js';

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

/**
 * Kinds a host's journal never holds (their datapaths or mechanisms do not run across hosts). Should
 * one appear there, its undo is refused by name and the journal kept: this machine's handler would
 * undo this machine's state (its hugepages, mounts, podman), not the host's.
 */
export const NEVER_ON_A_HOST: Partial<Record<UndoAction['op'], string>> = {
  'podman-rm': 'the podman datapath does not run across hosts',
  'podman-network-rm': 'the podman datapath does not run across hosts',
  'podman-rmi': 'the podman datapath does not run across hosts',
  'netavark-residue': 'the podman datapath does not run across hosts',
  'ssh-exit': "an ssh connection is this machine's, journaled here, never on a host",
};

function refused(op: string, why: string): UndoHandler<UndoAction> {
  return {
    describe: () => op,
    undo: async () => {
      throw new Error(`cannot undo '${op}' on a host (${why}); the journal is kept for a cnperf that can`);
    },
  };
}

/** Runs a script on the host whose exit 3 means "already gone" (its object is not there). */
async function scriptOrGone(run: CommandRunner, script: string, ...args: string[]): Promise<'removed' | 'gone'> {
  try {
    await run(sh(script, ...args));
    return 'removed';
  } catch (e) {
    if (e instanceof HostCommandError && e.code === 3) return 'gone';
    throw e;
  }
}

/** What a run mounted on a host is only ever under its run directory there. */
const RUN_MOUNT_RE = /^\/run\/cnperf\/cnp[a-z0-9]{6}\/[a-z0-9-]+$/;
const UNMOUNT = '[ -n "$(awk -v p="$1" -v t="$2" \'$2 == p && $3 == t\' /proc/mounts)" ] || exit 3; umount "$1"';
const unmountOnHost = (type: string) => (u: { path: string }, run: CommandRunner) => {
  if (!RUN_MOUNT_RE.test(u.path))
    throw new Error(
      `refusing to unmount ${u.path} on a host: not a mount under a run directory of ${REMOTE_STATE_DIR}`,
    );
  return scriptOrGone(run, UNMOUNT, u.path, type);
};

/** nr_hugepages back to what the host had, rewritten until it holds (pages a dying process maps come back late). */
const RESTORE_PAGES = `f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
[ -e "$f" ] && [ "$(cat "$f")" != "$1" ] || exit 3
i=0; while [ $i -lt 50 ]; do echo "$1" > "$f"; [ "$(cat "$f")" = "$1" ] && exit 0; sleep 0.1; i=$((i+1)); done
echo "nr_hugepages is $(cat "$f"), not the $1 it was: pages are still in use" >&2; exit 1`;

/** DPDK's runtime directories of the run's processes (their --file-prefix starts with the run's). */
const RM_DPDK_RUNTIME = 'set -- /var/run/dpdk/"$1"*; [ -e "$1" ] || exit 3; rm -rf -- "$@"';

export const ON_A_HOST: ExecutorPlace = {
  wire: false,
  undo: {
    'del-netns': commandHandler<'del-netns'>((u) => ['ip', 'netns', 'del', u.netns]),
    'del-link': commandHandler<'del-link'>((u) => ['ip', '-n', u.netns, 'link', 'del', 'dev', u.dev]),
    // the name only: the host's namespace lives on
    'unname-netns': commandHandler<'unname-netns'>((u) => ['ip', 'netns', 'del', u.netns]),
    'kill-pidfile': handler<'kill-pidfile'>((u, run) => scriptOrGone(run, STOP_PIDFILE, u.pidfile, u.comm)),
    // DEL through the plugins on the host, where both namespaces are still there (else nothing is left to undo)
    'cni-del': handler<'cni-del'>(async (u, run) => {
      const there = await run(sh('[ -e "/run/netns/$1" ] && [ -e "/run/netns/$2" ]', u.runIn, u.netns)).then(
        () => true,
        () => false,
      );
      if (!there) return 'gone';
      await cniDel({
        network: u.network as NetworkList,
        containerId: u.containerId,
        netns: u.netns,
        ifname: u.ifname,
        runIn: u.runIn,
        cacheFile: u.cacheFile,
        host: remotePlugins(run, 'the host'),
      });
      return 'removed';
    }),
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
    'hugepages-restore': handler<'hugepages-restore'>((u, run) => scriptOrGone(run, RESTORE_PAGES, String(u.before))),
    'umount-hugetlbfs': handler<'umount-hugetlbfs'>(unmountOnHost('hugetlbfs')),
    'umount-bpffs': handler<'umount-bpffs'>(unmountOnHost('bpf')),
    'rm-dpdk-runtime': handler<'rm-dpdk-runtime'>((u, run) => {
      if (!/^cnp[a-z0-9]{6}[a-z0-9-]*$/.test(u.prefix))
        throw new Error(`refusing to remove DPDK runtime files '${u.prefix}*' on a host: not a run's prefix`);
      return scriptOrGone(run, RM_DPDK_RUNTIME, u.prefix);
    }),
    // the executor's own: they act only through the runner, which here is the host's ssh
    'del-route': commandHandler<'del-route'>(delRouteArgv),
    'sysctl-restore': commandHandler<'sysctl-restore'>(restoreSysctlArgv),
    ...Object.fromEntries(Object.entries(NEVER_ON_A_HOST).map(([op, why]) => [op, refused(op, why)])),
    'rm-dir': handler<'rm-dir'>(async (u, run) => {
      if (!/^\/run\/cnperf\/cnp[a-z0-9]{6}$/.test(u.path))
        throw new Error(`refusing to remove ${u.path} on a host: not a run directory under ${REMOTE_STATE_DIR}`);
      return runOrGone(
        run,
        sh('[ -d "$1" ] || { echo "No such file or directory" >&2; exit 1; }; rm -rf "$1"', u.path),
      );
    }),
  },
};
