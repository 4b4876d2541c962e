/**
 * The bpffs a run of an eBPF datapath mounts in its own directory (src/local/steps.ts): pins live
 * there, never in the host's /sys/fs/bpf, and unmounting it drops them all at once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths.js';
import type { CommandRunner } from './command.js';

/** The only place cnperf mounts bpffs: `bpf` in a run's directory under the state directory. */
export function isRunBpffsPath(p: string): boolean {
  return /\/cnp[a-z0-9]{6}\/bpf$/.test(p) && path.resolve(p).startsWith(path.resolve(stateDir()) + path.sep);
}

/** Mount points of bpf filesystems, from /proc/self/mounts. */
export function bpffsMounts(): string[] {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[2] === 'bpf')
      .map((f) => f[1]!.replace(/\\040/g, ' '));
  } catch {
    return [];
  }
}

export async function unmountRunBpffs(at: string, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (!isRunBpffsPath(at))
    throw new Error(`refusing to unmount ${at}: cnperf only mounts bpffs at <run directory>/bpf under ${stateDir()}`);
  if (!bpffsMounts().includes(at)) return 'gone';
  await run(['umount', at]);
  return 'removed';
}
