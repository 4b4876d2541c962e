import type { CommandRunner } from '../local/command.js';
import type { JournalLike } from '../local/journal.js';
import type { ReadyCondition } from '../local/wire.js';
import type { Topology } from '../topology/model.js';
import type { VmOptions } from './guests.js';
import type { NetfilterOptions } from './netfilter.js';
import type { ServiceOptions } from './service.js';

import type { Placement, PlanHost } from './nodes.js';
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
  /** --ip 6: the plan's addresses, routes and endpoints by their twins in 2001:2::/48 (src/topology/family.ts) */
  ip?: 6;
  /** vxlan --underlay: the tunnel's outer family when it is not the overlay's (--ip) */
  underlay?: 4 | 6;
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
  /**
   * What the options only one datapath takes said (--cni-config, --switch-cpu, --client...), by
   * datapath name, as that datapath's `readOptions` made it: its own business, typed in its own folder
   */
  own?: Record<string, unknown>;
  /** VM endpoints (--endpoint, --client-endpoint, --server-endpoint, --vm-accel): src/datapaths/guests.ts */
  vm?: VmOptions;
  /** across real hosts (--hosts): the hosts the nodes are, client's first (the runner fills nic and mtu) */
  hosts?: PlanHost[];
}

/** What datapath `name`'s readOptions made of its own options (the one place their type is asserted), if any. */
export function ownOptions<T>(ctx: Pick<PlanContext, 'own'>, name: string): T | undefined {
  return ctx.own?.[name] as T | undefined;
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
  | 'underlay'
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
  journal: JournalLike;
  runDir: string;
  /** across real hosts: the host this part of the plan is built on, and how to run a command there */
  host?: { name: string; run: CommandRunner };
}

/** What a build waits for beyond the plan's own links and ports (what attach made). */
export interface Readiness {
  conditions: ReadyCondition[];
  /** in a host's own namespace, the bridges whose ports count for `wait-ports` (it has bridges of its own) */
  bridges?: string[];
}

/** What probes watch beyond the plan's own devices and rule-holding namespaces. */
export interface ProbeTargets {
  /** device names (globs) the tracepoints match: those a plugin or runtime chose */
  traceDevices?: string[];
  /** namespaces whose connection tracking says something (a runtime's firewall rules) */
  conntrack?: string[];
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
   * --ip 6: its plan holds only addresses with an IPv6 twin and nothing family-bound besides addresses,
   * routes and endpoints, so the planner carries it over IPv6 (src/topology/family.ts); else refused
   */
  ipv6?: true;
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
  /** `cnperf doctor`'s lines for what this datapath needs beyond tools (hugepages, vhost-user): [mark, what, detail] */
  doctorLines?(): Array<[string, string, string]>;
  /**
   * Reads the options only it takes, by option name (`takes`), into its own value (ctx.own[name]):
   * e.g. the CNI configuration file, parsed. Throws a UserError naming what is wrong.
   */
  readOptions?(option: (name: string) => unknown): unknown;
  /** Why its plans cannot be built on real hosts (--hosts) yet; absent when they can. */
  notAcrossHosts?: string;
  /** Pairs of namespaces that must be on one host though no link of the plan joins them (plugins wire them). */
  colocated?(t: Topology): Array<[string, string]>;
  /**
   * Its plan puts the VM endpoints itself (ctx.vm: a namespace's `guest`, on a NIC it makes for one, as
   * a macvtap); else a VM takes the place of an endpoint's veth (src/datapaths/guests.ts)
   */
  placesGuests?: boolean;
  /** Why its endpoints cannot be VMs (--endpoint vm), said before anything is built; null: they can. */
  noVm?: string | ((ctx: { variant?: string }) => string | null);
  /** What its build found that a user should know, in a line (how podman had to be run here), or null. */
  describe?(t: Topology): string | null;
  /** What the build waits for beyond the plan's links and ports (what attach made). */
  readiness?(t: Topology): Readiness;
  /** What probes watch beyond the plan's devices. */
  probeTargets?(t: Topology): ProbeTargets;
  /**
   * Why a workload cannot run over it, with a hint, or null (a DPDK port has no kernel: no TCP, no
   * socket timestamps). `params` as the workload parsed them.
   */
  refuseWorkload?(workload: string, params: unknown): { why: string; hint?: string } | null;
  /** a stream's burst when --burst is not given (a DPDK engine moves bursts, as DPDK applications do) */
  defaultBurst?: number;
  /** What a stored run of it adds to reports (its part of the stored topology; params as stored). */
  report?: DatapathReport;
}

/** A datapath's section in reports, from a stored run's topology (JSON) and parameters. */
export interface DatapathReport {
  /** the member of a `--json` result its `json` fills */
  member?: string;
  json?(t: Topology, params: unknown): object | null;
  /** one line about the run under the tables (prefixed with the run id), or null */
  note?(t: Topology, params: unknown): string | null;
  /** the heading of those lines */
  heading?: string;
  /** a part of the run's "why" line (what it ran with that explains its figures), or null */
  why?(t: Topology): string | null;
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
