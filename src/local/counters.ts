/**
 * Drop counters outside the receiving socket, read before and after a stream so every packet the
 * sender counted is accounted for: device drops (veth backlog full, bridge ports) of every device the
 * datapath created, and the per-CPU input backlog (/proc/net/softnet_stat column 2: a host-wide count).
 */
import { readFileSync } from 'node:fs';
import type { Topology } from '../topology/model.js';
import { runCommand } from './command.js';

/** null: a counter could not be read — not measured, never taken for 0 drops. */
export interface DropCounters {
  devices: number | null;
  backlog: number | null;
}

/** Sums the "dropped" column (2nd, hex) of /proc/net/softnet_stat over all CPUs. Pure, for tests. */
export function parseSoftnetDrops(text: string): number {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[1] ?? '0', 16), 0);
}

async function deviceDrops(netns: string, dev: string): Promise<number | null> {
  try {
    const { stdout } = await runCommand(['ip', '-n', netns, '-s', '-j', 'link', 'show', 'dev', dev]);
    const s = (JSON.parse(stdout) as Array<{ stats64?: { rx: { dropped: number }; tx: { dropped: number } } }>)[0]
      ?.stats64;
    return s ? s.rx.dropped + s.tx.dropped : null;
  } catch {
    return null;
  }
}

/** after − before, or null when either was not read. */
export function dropsBetween(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before;
}

export async function readDropCounters(t: Topology): Promise<DropCounters> {
  const devs: Array<[string, string]> = [];
  for (const l of t.links) {
    devs.push([l.netns, l.name]);
    if (l.kind === 'veth') devs.push([l.peerNetns, l.peer]);
  }
  const each = await Promise.all(devs.map(([ns, d]) => deviceDrops(ns, d)));
  const devices = each.some((x) => x === null) ? null : (each as number[]).reduce((a, b) => a + b, 0);
  let backlog: number | null = null;
  try {
    backlog = parseSoftnetDrops(readFileSync('/proc/net/softnet_stat', 'utf8'));
  } catch {
    /* not available: not measured */
  }
  return { devices, backlog };
}
