/**
 * The tracefs state a traced run changes, and how it is put back: the mount (only when nothing had
 * mounted tracefs) and the run's own instance (instances/cnperf-<run id>). Everything else a run sets
 * (events, filters, buffer size) lives inside its instance and goes with it.
 */
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from './command.js';

/** Where tracefs lives on current kernels; the debugfs path is the older one. */
export const TRACEFS_MOUNT = '/sys/kernel/tracing';
const CANDIDATES = [TRACEFS_MOUNT, '/sys/kernel/debug/tracing'];
/**
 * A run's instance: cnperf-<run id>, or cnperf-<run id>-<host> for a run across hosts (simulated hosts
 * share one kernel, so the host is in the name) — a local `clean` on such a host finishes either.
 */
export const INSTANCE_RE = /^\/sys\/kernel\/(debug\/)?tracing\/instances\/cnperf-[a-z0-9]{6}(-[a-z][a-z0-9-]{0,15})?$/;

/** A mounted tracefs with instance support, or null. */
export function findTracefs(): string | null {
  return CANDIDATES.find((p) => existsSync(path.join(p, 'instances'))) ?? null;
}

export function isTracefsMounted(at: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const [, mountPoint, type] = l.split(' ');
        return mountPoint === at && type === 'tracefs';
      });
  } catch {
    return false;
  }
}

export function traceInstancePath(root: string, runId: string): string {
  return path.join(root, 'instances', `cnperf-${runId}`);
}

export function removeTraceInstance(p: string): 'removed' | 'gone' {
  if (!INSTANCE_RE.test(p)) throw new Error(`refusing to remove ${p}: not a cnperf tracefs instance`);
  if (!existsSync(p)) return 'gone';
  try {
    writeFileSync(path.join(p, 'tracing_on'), '0');
  } catch {
    /* removal below says what is wrong */
  }
  rmdirSync(p); // tracefs frees the instance's buffers and events with it
  return 'removed';
}

export async function unmountTracefs(at: string, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (at !== TRACEFS_MOUNT)
    throw new Error(`refusing to unmount ${at}: cnperf only ever mounts tracefs at ${TRACEFS_MOUNT}`);
  if (!isTracefsMounted(at)) return 'gone';
  await run(['umount', at]);
  return 'removed';
}
