/**
 * Connection tracking in a namespace: how many entries it holds (nf_conntrack_count, per namespace)
 * and the per-CPU statistics of /proc/net/stat/nf_conntrack (hexadecimal, one row per CPU, the first
 * column the table's entry count) — insert failures, drops, early drops, invalid packets, clashes.
 * A Service path's NAT lives on conntrack: these say whether it kept up (a full table drops new flows).
 */
import { runCommand } from '../local/command.js';

export interface ConntrackReading {
  entries: number;
  /** summed over CPUs, by the kernel's column names (insert_failed, drop, early_drop, invalid, ...) */
  stats: Record<string, number>;
}

/** The counters that mean a connection was not tracked, or a packet was refused. */
export const CONNTRACK_TROUBLE = [
  'insert_failed',
  'drop',
  'early_drop',
  'invalid',
  'clashres',
  'search_restart',
  'chaintoolong',
] as const;

/** Parses `cat nf_conntrack_count /proc/net/stat/nf_conntrack` (the count first, then the table). Pure. */
export function parseConntrack(text: string): ConntrackReading {
  const lines = text.trim().split('\n');
  const entries = Number(lines[0]);
  if (!Number.isInteger(entries) || lines.length < 2) throw new Error(`not a conntrack reading: '${lines[0] ?? ''}'`);
  const names = lines[1]!.trim().split(/\s+/);
  if (names[0] !== 'entries') throw new Error(`not /proc/net/stat/nf_conntrack: header '${lines[1]}'`);
  const stats: Record<string, number> = {};
  for (const row of lines.slice(2)) {
    const values = row.trim().split(/\s+/);
    // "entries" repeats the table's count on every CPU's row: not a per-CPU figure to add up
    names.forEach((n, i) => {
      if (i > 0 && values[i] !== undefined) stats[n] = (stats[n] ?? 0) + parseInt(values[i]!, 16);
    });
  }
  return { entries, stats };
}

/** Reads a namespace's conntrack; null when the namespace has no conntrack (nothing loaded it). */
export async function readConntrack(netns: string): Promise<ConntrackReading | null> {
  try {
    const { stdout } = await runCommand([
      'ip',
      'netns',
      'exec',
      netns,
      'cat',
      '/proc/sys/net/netfilter/nf_conntrack_count',
      '/proc/net/stat/nf_conntrack',
    ]);
    return parseConntrack(stdout);
  } catch {
    return null;
  }
}

export interface ConntrackDelta {
  /** entries at the end of the window (a crr run leaves its closed connections there for a while) */
  entries: number;
  /** the trouble counters that moved during the window (zero: not listed) */
  trouble: Record<string, number>;
}

export function conntrackDelta(before: ConntrackReading | null, after: ConntrackReading): ConntrackDelta {
  const trouble: Record<string, number> = {};
  for (const n of CONNTRACK_TROUBLE) {
    const d = (after.stats[n] ?? 0) - (before?.stats[n] ?? 0);
    if (d) trouble[n] = d;
  }
  return { entries: after.entries, trouble };
}
