/**
 * CNI plugins on a real host: found on the host's CNI_PATH and run there over ssh, the way a container
 * runtime on that host runs them (`ip netns exec` into the node — the host's own namespace — with the
 * spec's environment and the configuration on stdin); their results cached in the run's directory
 * there. What the plugins leave in the host's namespace after DEL is journaled first (hostSide).
 */
import type { PluginHost } from './plugin.js';
import type { CommandRunner } from '../../local/command.js';
import type { UndoAction } from '../../local/steps.js';
import { HostCommandError, UserError } from '../../util/errors.js';
import { sh } from '../../util/shell.js';

export const HOST_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];

export function remotePlugins(run: CommandRunner, host: string): PluginHost {
  return {
    where: `host ${host}: `,
    cniPath: () => HOST_CNI_PATH,
    async find(type) {
      try {
        return (
          await run(
            sh(
              't=$1; shift; for d; do [ -x "$d/$t" ] && { echo "$d/$t"; exit 0; }; done; exit 3',
              type,
              ...HOST_CNI_PATH,
            ),
          )
        ).stdout.trim();
      } catch (e) {
        if (e instanceof HostCommandError && e.code === 3)
          throw new UserError(
            `host ${host}: CNI plugin '${type}' not found in ${HOST_CNI_PATH.join(' or ')}`,
            'Debian: apt-get install containernetworking-plugins on the host',
          );
        throw e;
      }
    },
    async exec(argv, env, stdin, timeoutMs) {
      // exactly this environment (env -i), and the plugin's exit code after its output: its error object is on stdout
      const r = await run(
        sh('env -i "$@"; echo "@@rc $?" >&2', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv),
        stdin,
        timeoutMs,
      );
      const m = /@@rc (\d+)\s*$/.exec(r.stderr);
      return {
        code: m ? Number(m[1]) : null,
        stdout: r.stdout,
        stderr: r.stderr.replace(/@@rc \d+\s*$/, ''),
        timedOut: false,
      };
    },
    async readFile(file) {
      try {
        return (await run(['cat', file])).stdout;
      } catch (e) {
        if (e instanceof HostCommandError && e.code === 1) return null;
        throw e;
      }
    },
    async writeFile(file, text) {
      await run(sh('umask 077; cat > "$1"', file), text);
    },
    async hostSide(network, node) {
      const undos: UndoAction[] = [];
      for (const p of network.plugins.filter((x) => x.type === 'bridge')) {
        const br = typeof p.bridge === 'string' ? p.bridge : 'cni0';
        const there = await run(['ip', '-n', node, 'link', 'show', 'dev', br]).then(
          () => true,
          () => false,
        );
        if (!there && !undos.some((u) => u.op === 'del-link' && u.dev === br))
          undos.push({ op: 'del-link', netns: node, dev: br });
      }
      const fwd = (await run(['ip', 'netns', 'exec', node, 'sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim();
      undos.push({ op: 'sysctl-restore', netns: node, key: 'net.ipv4.ip_forward', value: fwd });
      return undos;
    },
  };
}
