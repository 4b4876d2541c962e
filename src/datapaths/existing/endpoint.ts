/**
 * Measuring between namespaces cnperf did not make (datapath `existing`): what `--client` and
 * `--server` may name, and finding, in the host's present state, the process whose network namespace
 * each one is — a named namespace, a process, a podman or Docker container's main process.
 */
import { existsSync } from 'node:fs';
import { runCommand, type CommandRunner } from '../../local/command.js';
import { HostCommandError, UserError } from '../../util/errors.js';

export { describeSpec, parseEndpointSpec, type EndpointSpec } from '../../topology/namespace-ref.js';
import type { EndpointSpec } from '../../topology/namespace-ref.js';

/**
 * The process whose network namespace a pid:/podman:/docker: endpoint is, after checking that it
 * runs. netns: endpoints need no process (their name is their handle): null.
 */
export async function endpointPid(
  s: EndpointSpec,
  flag: string,
  run: CommandRunner = runCommand,
): Promise<number | null> {
  if (s.kind === 'netns') {
    if (!existsSync(`/run/netns/${s.name}`))
      throw new UserError(`${flag} netns:${s.name}: no namespace '${s.name}' (ip netns list shows those there are)`);
    return null;
  }
  if (s.kind === 'pid') {
    if (!existsSync(`/proc/${s.pid}`)) throw new UserError(`${flag} pid:${s.pid}: no process ${s.pid} on this host`);
    return s.pid;
  }
  return containerPid(s.kind, s.name, run);
}

async function containerPid(runtime: 'podman' | 'docker', name: string, run: CommandRunner): Promise<number> {
  let stdout: string;
  try {
    ({ stdout } = await run([runtime, 'inspect', '--type', 'container', '--format', '{{json .State}}', name]));
  } catch (e) {
    const why = e instanceof HostCommandError ? e.stderr : String(e);
    if (/not found on PATH/.test(why))
      throw new UserError(
        `${runtime}:${name}: ${runtime} is not installed here`,
        `install it (Debian package ` +
          `${runtime === 'podman' ? 'podman' : 'docker.io'}) or name the container's namespace another way (pid:PID)`,
      );
    if (/no such (container|object)/i.test(why))
      throw new UserError(
        `${runtime}:${name}: ${runtime} has no container '${name}'`,
        `\`${runtime} ps -a\` lists the containers there are`,
      );
    if (/Cannot connect to the Docker daemon|docker daemon/i.test(why))
      throw new UserError(`${runtime}:${name}: the Docker engine is not reachable (${why.trim()})`);
    throw new UserError(`${runtime}:${name}: \`${runtime} inspect\` failed: ${why.trim()}`);
  }
  const state = parseState(stdout, `${runtime} inspect ${name}`);
  if (!state.Running || !state.Pid)
    throw new UserError(
      `${runtime}:${name}: the container is not running (status ${state.Status ?? 'unknown'})`,
      `start it (${runtime} start ${name}) first`,
    );
  return state.Pid;
}

function parseState(text: string, what: string): { Running?: boolean; Pid?: number; Status?: string } {
  try {
    return JSON.parse(text) as { Running?: boolean; Pid?: number; Status?: string };
  } catch {
    throw new UserError(`${what} printed no container state: ${text.slice(0, 200)}`);
  }
}
