/**
 * What the option tables are made of: an option's declaration (OptionDef), the groups of workloads that
 * take the same options, and the parsers that check a value against its range.
 */
import os from 'node:os';
import { isIP } from 'node:net';
import { OFFLOAD_FEATURES, type DatapathOption } from '../datapaths/types.js';
import { UserError } from '../util/errors.js';
import { notOneOf } from '../util/nearest.js';
import { parseEndpointSpec } from '../topology/namespace-ref.js';
import { parseDuration, parseIntIn } from '../util/units.js';

export interface OptionDef<T> {
  type: 'string' | 'boolean';
  short?: string;
  for: 'output' | 'datapath' | readonly string[];
  /** datapath options that only some datapaths take: the key in their `takes` */
  only?: DatapathOption;
  /** the value's syntax in the usage text */
  value?: string;
  help: string;
  /** may be set in an experiment file's params (default: every datapath and workload option) */
  experiment?: boolean;
  /** text → value, checked against its range; the flag name is for the message */
  parse?: (text: string, flag: string) => T;
}

export const ALL = ['rtt', 'stream', 'sweep', 'load', 'rr', 'crr'] as const;
export const PROBE = ['rtt', 'load', 'rr', 'crr'] as const;
export const TCP_TRANSACTIONS = ['rr', 'crr'] as const;
export const STREAMS = ['stream', 'sweep', 'load'] as const;

export const oneOf =
  <T extends string>(allowed: readonly T[], what?: string) =>
  (text: string, flag: string): T => {
    if (!(allowed as readonly string[]).includes(text)) throw notOneOf(flag, text, allowed, what);
    return text as T;
  };
export const intIn = (min: number, max: number) => (text: string, flag: string) => parseIntIn(text, flag, min, max);
export const powerOfTwo = (min: number, max: number) => (text: string, flag: string) => {
  const n = parseIntIn(text, flag, min, max);
  if (n & (n - 1)) throw new UserError(`${flag} ${text}: expected a power of two (${min}, ${min * 2}, … ${max})`);
  return n;
};
export const durationIn = (minNs: number, maxNs: number, range: string) => (text: string, flag: string) => {
  const ns = parseDuration(text, flag);
  if (ns < minNs || ns > maxNs) throw new UserError(`${flag} ${text}: allowed ${range}`);
  return ns;
};
export const onOff = oneOf(['on', 'off'] as const, 'on or off');
export const cpuMask = (text: string, flag: string) => {
  if (!/^[0-9a-f]{1,8}(,[0-9a-f]{8})*$/i.test(text))
    throw new UserError(`${flag} '${text}': expected a hexadecimal CPU mask as in /sys (e.g. 3 for CPUs 0 and 1)`);
  return text.toLowerCase();
};
export const text = (t: string) => t;
export const endpointSpec = (t: string, flag: string) => (parseEndpointSpec(t, flag), t);
/** An IPv4 or IPv6 address (the family measured decides which one a run can use). */
export const ipAddress = (t: string, flag: string) => {
  if (!isIP(t)) throw new UserError(`${flag} '${t}': expected an IPv4 or IPv6 address, e.g. 198.18.0.2 or 2001:2::2`);
  return t;
};

/** "--cpus 0,1": client CPU, server CPU, both existing on this machine. */
export function parseCpus(t: string, flag = '--cpus'): [number, number] {
  const parts = t.split(',');
  const n = os.cpus().length;
  if (parts.length !== 2) throw new UserError(`${flag} '${t}': expected CLIENT,SERVER, e.g. ${flag} 0,1`);
  return parts.map((p) => parseIntIn(p, flag, 0, n - 1)) as [number, number];
}

/** "gro=off,tso=off" → {gro: 'off', tso: 'off'}; names ethtool -K knows, values on/off. */
export function parseOffload(t: string): Record<string, 'on' | 'off'> {
  const out: Record<string, 'on' | 'off'> = {};
  for (const item of t.split(',')) {
    const m = /^([a-z-]+)=(on|off)$/.exec(item.trim());
    if (!m) throw new UserError(`--offload '${item}': expected FEATURE=on|off, e.g. --offload gro=off,tso=off`);
    if (!(OFFLOAD_FEATURES as readonly string[]).includes(m[1]!))
      throw new UserError(`--offload: unknown feature '${m[1]}'`, `features: ${OFFLOAD_FEATURES.join(', ')}`);
    if (m[1]! in out) throw new UserError(`--offload: '${m[1]}' named twice`);
    out[m[1]!] = m[2] as 'on' | 'off';
  }
  return out;
}

export const def = <T = boolean>(d: OptionDef<T>) => d;
