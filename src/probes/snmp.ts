/**
 * IP/UDP/TCP counters of a namespace (/proc/net/snmp and /proc/net/snmp6 as seen from inside it): the
 * drops and errors the stack itself counted (UDP receive buffer full, no socket on the port, checksum
 * errors), IPv4's and IPv6's apart (TCP counts both families in one Tcp line).
 */
import { runCommand } from '../local/command.js';

export type Snmp = Record<string, Record<string, number>>;

/** Parses /proc/net/snmp (pairs of "Proto: names" / "Proto: values" lines). Pure. */
export function parseSnmp(text: string): Snmp {
  const out: Snmp = {};
  const lines = text.split('\n').filter((l) => l.includes(':'));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [proto, names] = splitLine(lines[i]!);
    const [proto2, values] = splitLine(lines[i + 1]!);
    if (proto !== proto2) throw new Error(`not /proc/net/snmp: '${proto}' header followed by '${proto2}'`);
    out[proto] = Object.fromEntries(names.map((n, k) => [n, Number(values[k])]));
  }
  return out;
}

/** Parses /proc/net/snmp6 ("Ip6InReceives   12", one counter a line) into Ip6, Icmp6 and Udp6. Pure. */
export function parseSnmp6(text: string): Snmp {
  const out: Snmp = {};
  for (const m of text.matchAll(/^(Ip6|Icmp6|Udp6)([A-Za-z]\w*)\s+(\d+)\s*$/gm)) {
    (out[m[1]!] ??= {})[m[2]!] = Number(m[3]);
  }
  return out;
}

function splitLine(l: string): [string, string[]] {
  const i = l.indexOf(':');
  return [
    l.slice(0, i),
    l
      .slice(i + 1)
      .trim()
      .split(/\s+/),
  ];
}

/** The counters that mean a packet was lost or refused. */
export const SNMP_ERRORS: Record<string, string[]> = {
  Ip: ['InHdrErrors', 'InAddrErrors', 'InDiscards', 'OutDiscards', 'OutNoRoutes', 'ReasmFails', 'FragFails'],
  Udp: ['InErrors', 'NoPorts', 'RcvbufErrors', 'SndbufErrors', 'InCsumErrors'],
  Tcp: ['RetransSegs', 'InErrs', 'OutRsts'],
  Ip6: ['InHdrErrors', 'InAddrErrors', 'InDiscards', 'OutDiscards', 'OutNoRoutes', 'InNoRoutes', 'InTooBigErrors'],
  Udp6: ['InErrors', 'NoPorts', 'RcvbufErrors', 'SndbufErrors', 'InCsumErrors'],
  Icmp6: ['InErrors', 'OutErrors'],
};

/** The error counters that changed between two readings (only those: zero means nothing to say). */
export function snmpErrorDeltas(before: Snmp, after: Snmp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [proto, names] of Object.entries(SNMP_ERRORS)) {
    for (const n of names) {
      const d = (after[proto]?.[n] ?? 0) - (before[proto]?.[n] ?? 0);
      if (d) out[`${proto}.${n}`] = d;
    }
  }
  return out;
}

export async function readSnmp(netns: string): Promise<Snmp> {
  // one process for both files: snmp's lines hold colons, snmp6's none
  const { stdout } = await runCommand(['ip', 'netns', 'exec', netns, 'cat', '/proc/net/snmp', '/proc/net/snmp6']);
  return { ...parseSnmp(stdout), ...parseSnmp6(stdout) };
}
