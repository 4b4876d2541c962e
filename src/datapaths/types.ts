import type { Topology } from '../topology/model.js';

export interface PlanContext {
  runId: string;
  /** client/server pairs, each in its own namespaces where the datapath allows (default 1) */
  pairs?: number;
}

/** At most this many pairs (seed 004 goes to 128): names stay within 15 characters. */
export const MAX_PAIRS = 128;

/**
 * The role suffix of pair i: '' for the first (so one pair keeps the short names c, s, c0, ...),
 * the index for the others.
 */
export function pairSuffix(i: number): string {
  return i === 0 ? '' : String(i);
}

export interface Datapath {
  name: string;
  /** one line for `cnperf doctor` and help texts */
  description: string;
  /** Pure: describes the datapath; never touches the host. */
  plan(ctx: PlanContext): Topology;
}

/**
 * Container addresses come from 198.18.0.0/15, the range RFC 2544 reserves for benchmarking:
 * it is never routed anywhere, and it lives only inside namespaces cnperf creates.
 */
export const CLIENT_IP = '198.18.0.1';
export const SERVER_IP = '198.18.0.2';
export const PREFIX = 24;

/** Pair i's addresses: 198.18.i.1 and 198.18.i.2. */
export function pairIps(i: number): { client: string; server: string } {
  return { client: `198.18.${i}.1`, server: `198.18.${i}.2` };
}
