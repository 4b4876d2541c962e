/**
 * Running podman for a run: its global options (the OCI runtime and cgroup manager that work here)
 * and the --ulimit values its containers can start with, both found by probing this host once with
 * trial containers rather than assumed. (Tried on a 2-CPU Debian VM with cgroups v1: crun refuses
 * "cgroups in hybrid mode"; runc starts containers, but only with nofile/nproc limits within the
 * hard limits podman itself has — its defaults exceed them and runc cannot raise them.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { runCommand, type CommandRunner } from '../../local/command.js';
import type { PodmanRuntime } from './podman-plan.js';
import { errorMessage, HostCommandError, UserError } from '../../util/errors.js';

/** `podman` with the runtime and cgroup manager the probe found. */
export function podmanArgv(rt: Pick<PodmanRuntime, 'runtime' | 'cgroup_manager'>, args: readonly string[]): string[] {
  return ['podman', '--runtime', rt.runtime, '--cgroup-manager', rt.cgroup_manager, ...args];
}

/** `--ulimit` options for `podman run`, when the probe found podman's defaults do not start. */
export function ulimitArgs(rt: PodmanRuntime): string[] {
  return rt.ulimits
    ? [
        '--ulimit',
        `nofile=${rt.ulimits.nofile}:${rt.ulimits.nofile}`,
        '--ulimit',
        `nproc=${rt.ulimits.nproc}:${rt.ulimits.nproc}`,
      ]
    : [];
}

/** This process's hard limits of open files and processes (/proc/self/limits): what a child can keep. */
export function hardLimits(text = readFileSync('/proc/self/limits', 'utf8')): { nofile: number; nproc: number } {
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+\\S+\\s+(\\S+)`, 'm').exec(text);
    return m && m[1] !== 'unlimited' ? Number(m[1]) : 1 << 20;
  };
  return { nofile: hard('Max open files'), nproc: hard('Max processes') };
}

/** Which limit runc could not set: "error setting rlimit type 7" (RLIMIT_NOFILE is 7, RLIMIT_NPROC 6). */
export function refusedLimit(message: string): 'nofile' | 'nproc' | null {
  const m = /error setting rlimit type (\d+)/.exec(message);
  return m?.[1] === '7' ? 'nofile' : m?.[1] === '6' ? 'nproc' : null;
}

const TRIALS_PER_RUNTIME = 8;
let probed: PodmanRuntime | null = null;

/**
 * The runtime, cgroup manager and limits that start a container here: podman's own choice first,
 * then the other runtime; on "error setting rlimit" the hard limits of this process, then halving
 * the refused one. Each trial is `podman run --rm --network none IMAGE version` (about 0.3 s).
 */
export async function probePodman(image: string, run: CommandRunner = runCommand): Promise<PodmanRuntime> {
  if (probed) return probed;
  const info = await podmanInfo(run);
  // without systemd as init there is no systemd cgroup manager to talk to
  const cgroupManager = existsSync('/run/systemd/system') ? info.cgroupManager : 'cgroupfs';
  const tried: string[] = [];
  for (const runtime of [...new Set([info.runtime, 'runc', 'crun'])]) {
    let ulimits: PodmanRuntime['ulimits'] = null;
    for (let i = 0; i < TRIALS_PER_RUNTIME; i++) {
      const rt: PodmanRuntime = { runtime, cgroup_manager: cgroupManager, ulimits, tried };
      try {
        const { stdout } = await run(
          podmanArgv(rt, ['run', '--rm', '--network', 'none', '--pull', 'never', ...ulimitArgs(rt), image, 'version']),
          undefined,
          30_000,
        );
        if (!stdout.includes('"event":"hello"'))
          throw new Error(`the trial container printed no hello: ${stdout.slice(0, 200)}`);
        probed = rt;
        return rt;
      } catch (e) {
        const why = firstLine(e);
        tried.push(`${runtime}${ulimits ? ` --ulimit nofile=${ulimits.nofile} nproc=${ulimits.nproc}` : ''}: ${why}`);
        const limit = refusedLimit(why);
        if (!limit) break; // not a limit: this runtime does not work here
        const current: { nofile: number; nproc: number } = ulimits ?? hardLimits();
        ulimits = ulimits ? { ...current, [limit]: Math.floor(current[limit] / 2) } : current;
      }
    }
  }
  throw new UserError(
    `podman cannot start a container on this host; tried: ${tried.join('; ')}`,
    '`podman run --rm --network none IMAGE` must work here (cnperf doctor shows what podman reports)',
  );
}

/** What `podman info` says of its runtime and cgroups. */
export async function podmanInfo(
  run: CommandRunner = runCommand,
): Promise<{ version: string; runtime: string; cgroupManager: string; cgroupVersion: string; networkBackend: string }> {
  let stdout: string;
  try {
    ({ stdout } = await run(['podman', 'info', '--format', 'json'], undefined, 30_000));
  } catch (e) {
    if (e instanceof HostCommandError && /not found on PATH/.test(e.stderr))
      throw new UserError(
        'podman is not installed',
        'install the Debian packages podman, netavark and runc (bash scripts/setup.sh does)',
      );
    throw new UserError(`podman info failed: ${firstLine(e)}`);
  }
  const i = JSON.parse(stdout) as {
    host?: { ociRuntime?: { name?: string }; cgroupManager?: string; cgroupVersion?: string; networkBackend?: string };
    version?: { Version?: string };
  };
  return {
    version: i.version?.Version ?? '?',
    runtime: i.host?.ociRuntime?.name ?? 'runc',
    cgroupManager: i.host?.cgroupManager ?? 'cgroupfs',
    cgroupVersion: i.host?.cgroupVersion ?? '?',
    networkBackend: i.host?.networkBackend ?? '?',
  };
}

/** The line of a podman failure that says what went wrong (its stderr starts with syslog noise). */
export function firstLine(e: unknown): string {
  const text = e instanceof HostCommandError ? e.stderr : errorMessage(e);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/failed to connect to syslog/.test(l));
  return lines.find((l) => /^Error:/.test(l))?.replace(/^Error:\s*/, '') ?? lines[0] ?? 'no output';
}
