import type { Journal } from '../local/journal.js';
import type { CniPlan, PlanHost, Topology } from '../topology/model.js';
import type { VmOptions } from './guests.js';
import type { NetfilterOptions } from './netfilter.js';
import type { ServiceOptions } from './service.js';

import type { Placement } from './nodes.js';
export { PLACEMENTS, type Placement } from './nodes.js';

export interface PlanContext {
  runId: string;
  /** client/server pairs, each in its own namespaces where the datapath allows (default 1) */
  pairs?: number;
  /** where client and server sit: one simulated node, or two joined by a wire (default same-node) */
  placement?: Placement;
  /** macvlan/ipvlan mode */
  mode?: string;
  /** vxlan: host (seed 002's Linux overlay) or bridge (Docker overlay) */
  variant?: string;
  vni?: number;
  vxlanPort?: number;
  /** MTU of the links the datapath creates (vxlan: of the underlay; the overlay gets 50 less) */
  mtu?: number;
  /** ethtool -K features set on every device the datapath creates (bridges excepted) */
  offload?: Record<string, 'on' | 'off'>;
  /** firewall rules on the forwarding path (datapaths that forward through a node) */
  netfilter?: NetfilterOptions;
  /** a Kubernetes Service in front of the server: kube-proxy's rules in the nodes (--service-proxy) */
  service?: ServiceOptions;
  /** the run's own directory (daemons keep their files there); set by the planner */
  runDir?: string;
  /** RPS / XPS CPU masks (hex, as in /sys/class/net/DEV/queues/…) for every device created */
  rps?: string;
  xps?: string;
  /** ovs: the userspace (netdev) or the kernel (system) datapath */
  ovsDatapath?: 'netdev' | 'system';
  /** how simulated nodes are joined: a wire (a veth) or a switch (a bridge in a fabric namespace) */
  fabric?: 'wire' | 'switch';
  /** cni: the network configuration list (--cni-config) */
  cni?: CniPlan['network'];
  /** testpmd, ovs-dpdk: the CPU the switch polls on (--switch-cpu; default the last) */
  switchCpu?: number;
  /** podman: the network driver (bridge, netavark's default; macvlan) */
  podmanDriver?: 'bridge' | 'macvlan';
  /** VM endpoints (--endpoint, --client-endpoint, --server-endpoint, --vm-accel): src/datapaths/guests.ts */
  vm?: VmOptions;
  /** across real hosts (--hosts): the hosts the nodes are, client's first (the runner fills nic and mtu) */
  hosts?: PlanHost[];
  /** existing: the namespaces to measure between (--client, --server, --server-address) */
  existing?: { client?: string; server?: string; serverAddress?: string };
}

/** Datapath options from the command line or an experiment: everything a plan takes but the run id. */
export type DatapathOptions = Omit<PlanContext, 'runId'>;

/** The offload features --offload accepts (ethtool -K names). */
export const OFFLOAD_FEATURES = [
  'gro',
  'gso',
  'tso',
  'tx',
  'rx',
  'sg',
  'lro',
  'ufo',
  'rx-gro-list',
  'rx-udp-gro-forwarding',
  'tx-udp-segmentation',
] as const;

/** The datapath options a user can give on the command line, and what each datapath accepts. */
export type DatapathOption =
  | 'mode'
  | 'variant'
  | 'vni'
  | 'vxlan-port'
  | 'netfilter'
  | 'service-proxy'
  | 'ovs-datapath'
  | 'cni-config'
  | 'existing'
  | 'podman-driver'
  | 'vm-endpoint'
  | 'switch-cpu'
  | 'hosts';

/** A kernel answer that means "this kernel lacks a feature", and what the user needs to know. */
export interface KernelFailure {
  match: RegExp;
  meaning: string;
}

/** What a datapath's lifecycle hooks get: the run's journal (undo first) and its own directory. */
export interface AttachContext {
  journal: Journal;
  runDir: string;
}

/**
 * At most this many pairs: seed 004 goes to 128, a busy node runs hundreds of pods. Names stay within
 * 15 characters (IFNAMSIZ) up to here: 'cnp' + run id + '-c511e'.
 */
export const MAX_PAIRS = 512;

/** At most this many concurrent stream flows: each is two engine processes, all running at once. */
export const MAX_FLOWS = 128;

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
  placements: readonly Placement[];
  /** where client and server sit when --placement is not given */
  defaultPlacement: Placement;
  /** options beyond placement, pairs and MTU this datapath understands */
  takes: readonly DatapathOption[];
  modes?: readonly string[];
  variants?: readonly string[];
  /** its plan applies --mtu itself (where links need different MTUs, as an overlay does) */
  plansMtu?: boolean;
  /**
   * Why this combination of options cannot work, or null. Pure, checked before anything is built
   * (e.g. macvlan private mode between two containers of one node: forbidden by design).
   */
  refuse?(ctx: PlanContext): string | null;
  /** Pure: describes the datapath; never touches the host. */
  plan(ctx: PlanContext): Topology;
  /**
   * programs (or paths) it runs beyond iproute2, as the tool table (src/tools/tools.json) names them:
   * checked by `cnperf doctor`, named with their package on failure
   */
  tools?: readonly string[];
  /** how this kernel says it lacks what the datapath needs */
  kernelFailures?: readonly KernelFailure[];
  /**
   * Runs after the topology's steps and before readiness, for what a topology cannot say (CNI plugins
   * now; switch daemons and VMs next). Journals the undo of everything it does before doing it.
   */
  attach?(t: Topology, ctx: AttachContext): Promise<void>;
  /**
   * For a datapath that cannot be built without the user's input (cni needs a configuration): what
   * `cnperf doctor` checks instead of building it; returns a description or throws why it cannot run.
   */
  doctor?(): string;
}

/**
 * Container addresses come from 198.18.0.0/15, the range RFC 2544 reserves for benchmarking:
 * it is never routed anywhere, and it lives only inside namespaces cnperf creates.
 */
export const CLIENT_IP = '198.18.0.1';
export const SERVER_IP = '198.18.0.2';
export const PREFIX = 24;

/**
 * Pair i's addresses: 198.18.i.1 and 198.18.i.2; beyond 256 pairs the third octet wraps and the
 * host part moves on (pair 256: 198.18.0.3 and .4), so every address stays unique in 198.18.0.0/16.
 */
export function pairIps(i: number): { client: string; server: string } {
  const base = 1 + 2 * Math.floor(i / 256);
  return { client: `198.18.${i % 256}.${base}`, server: `198.18.${i % 256}.${base + 1}` };
}
