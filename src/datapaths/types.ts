import type { Topology } from '../topology/model.js';

export interface PlanContext {
  runId: string;
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
