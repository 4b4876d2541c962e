/**
 * How a real host's journal entries are undone: each as a command over ssh (the host has no
 * cnperf-wire, and this machine's /run/netns and /proc are not the host's). The kinds a host's journal
 * holds: the run's namespaces and links, its names for the host's own namespace, routes and sysctls
 * there (src/host/executor.ts's handlers already work through any runner), the engines' pidfiles and
 * the run's directory on the host.
 */
import { runOrGone, type ExecutorPlace, type UndoHandler } from '../host/executor.js';
import type { CommandRunner } from '../host/command.js';
import type { UndoAction } from '../host/steps.js';
import { HostCommandError } from '../util/errors.js';
import { REMOTE_STATE_DIR } from './remote-host.js';
import { sh } from './ssh.js';
import { REMOVE_INSTANCE } from './trace.js';
import { remotePlugins } from './cni.js';
import { cniDel } from '../cni/runtime.js';
import type { NetworkList } from '../cni/config.js';

const handler = <K extends UndoAction['op']>(undo: (u: Extract<UndoAction, { op: K }>, run: CommandRunner) => Promise<'removed' | 'gone'>) =>
  ({ describe: () => '', undo }) as unknown as UndoHandler<UndoAction>;

/** Stops the engine in pidfile if it is still one: SIGTERM, then SIGKILL after two seconds. */
const STOP_PIDFILE = `p=$(cat "$1" 2>/dev/null) || exit 3
[ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] || exit 3
kill -TERM "$p" 2>/dev/null; i=0
while [ $i -lt 20 ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ]; do sleep 0.1; i=$((i+1)); done
[ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] && kill -KILL "$p" 2>/dev/null; exit 0`;

export const ON_A_HOST: ExecutorPlace = {
  wire: false,
  undo: {
    'del-netns': handler<'del-netns'>((u, run) => runOrGone(run, ['ip', 'netns', 'del', u.netns])),
    'del-link': handler<'del-link'>((u, run) => runOrGone(run, ['ip', '-n', u.netns, 'link', 'del', 'dev', u.dev])),
    // the name only: the host's namespace lives on
    'unname-netns': handler<'unname-netns'>((u, run) => runOrGone(run, ['ip', 'netns', 'del', u.netns])),
    'kill-pidfile': handler<'kill-pidfile'>(async (u, run) => {
      try {
        await run(sh(STOP_PIDFILE, u.pidfile, u.comm));
        return 'removed';
      } catch (e) {
        if (e instanceof HostCommandError && e.code === 3) return 'gone';
        throw e;
      }
    }),
    // DEL through the plugins on the host, where both namespaces are still there (else nothing is left to undo)
    'cni-del': handler<'cni-del'>(async (u, run) => {
      const there = await run(sh('[ -e "/run/netns/$1" ] && [ -e "/run/netns/$2" ]', u.runIn, u.netns)).then(() => true, () => false);
      if (!there) return 'gone';
      await cniDel({ network: u.network as NetworkList, containerId: u.containerId, netns: u.netns, ifname: u.ifname, runIn: u.runIn, cacheFile: u.cacheFile, host: remotePlugins(run, 'the host') });
      return 'removed';
    }),
    'rm-trace-instance': handler<'rm-trace-instance'>(async (u, run) => {
      if (!/^\/sys\/kernel\/(debug\/)?tracing\/instances\/cnperf-[a-z0-9]{6}-[a-z][a-z0-9-]{0,15}$/.test(u.path)) throw new Error(`refusing to remove ${u.path} on a host: not a cnperf tracefs instance`);
      try {
        await run(sh(REMOVE_INSTANCE, u.path));
        return 'removed';
      } catch (e) {
        if (e instanceof HostCommandError && e.code === 3) return 'gone';
        throw e;
      }
    }),
    // only ever where a traced run mounted it because nothing had (its journal says so)
    'umount-tracefs': handler<'umount-tracefs'>((u, run) => runOrGone(run, sh('grep -q " $1 tracefs " /proc/mounts || { echo "No such file or directory" >&2; exit 1; }; umount "$1"', u.path))),
    'rm-dir': handler<'rm-dir'>(async (u, run) => {
      if (!/^\/run\/cnperf\/cnp[a-z0-9]{6}$/.test(u.path)) throw new Error(`refusing to remove ${u.path} on a host: not a run directory under ${REMOTE_STATE_DIR}`);
      return runOrGone(run, sh('[ -d "$1" ] || { echo "No such file or directory" >&2; exit 1; }; rm -rf "$1"', u.path));
    }),
  },
};
