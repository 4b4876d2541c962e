/**
 * Every option of `cnperf quick` (and of experiment files' `params`), declared once: its name, who
 * takes it, how its value is parsed and checked, and its help text. The command-line parser, the
 * usage text, `cnperf quick --help`, the experiment schema (`cnperf schema`) and the experiment
 * planner are all derived from this table; nothing else lists option names.
 *
 * `for` says who takes an option: 'output' (the command itself: output, storage), 'datapath' (the
 * planner; `only` narrows it to datapaths whose `takes` names that key), or the workloads by name.
 * Options whose meaning depends on the workload (--warmup is a count of round trips for rtt and a
 * duration for stream; --rate is one rate for stream and a list for sweep) keep their text and are
 * parsed by the workload.
 */
import os from 'node:os';
import { MAX_RULES, NETFILTERS, type Netfilter } from '../datapaths/netfilter.js';
import { MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES, SERVICE_PROXIES, type ServiceProxy } from '../datapaths/service-rules.js';
import { MAX_FLOWS, MAX_PAIRS, OFFLOAD_FEATURES, PLACEMENTS, type DatapathOption, type Placement } from '../datapaths/types.js';
import { UserError } from '../util/errors.js';
import { notOneOf } from '../util/nearest.js';
import { parseEndpointSpec } from '../datapaths/existing/endpoint.js';
import { parseBytes, parseDuration, parseIntIn, parsePercent } from '../util/units.js';

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

const ALL = ['rtt', 'stream', 'sweep', 'load', 'rr', 'crr'] as const;
const PROBE = ['rtt', 'load', 'rr', 'crr'] as const;
const TCP_TRANSACTIONS = ['rr', 'crr'] as const;
const STREAMS = ['stream', 'sweep', 'load'] as const;

const oneOf =
  <T extends string>(allowed: readonly T[], what?: string) =>
  (text: string, flag: string): T => {
    if (!(allowed as readonly string[]).includes(text)) throw notOneOf(flag, text, allowed, what);
    return text as T;
  };
const intIn = (min: number, max: number) => (text: string, flag: string) => parseIntIn(text, flag, min, max);
const powerOfTwo = (min: number, max: number) => (text: string, flag: string) => {
  const n = parseIntIn(text, flag, min, max);
  if (n & (n - 1)) throw new UserError(`${flag} ${text}: expected a power of two (${min}, ${min * 2}, … ${max})`);
  return n;
};
const durationIn = (minNs: number, maxNs: number, range: string) => (text: string, flag: string) => {
  const ns = parseDuration(text, flag);
  if (ns < minNs || ns > maxNs) throw new UserError(`${flag} ${text}: allowed ${range}`);
  return ns;
};
const onOff = oneOf(['on', 'off'] as const, 'on or off');
const cpuMask = (text: string, flag: string) => {
  if (!/^[0-9a-f]{1,8}(,[0-9a-f]{8})*$/i.test(text)) throw new UserError(`${flag} '${text}': expected a hexadecimal CPU mask as in /sys (e.g. 3 for CPUs 0 and 1)`);
  return text.toLowerCase();
};
const text = (t: string) => t;
const endpointSpec = (t: string, flag: string) => (parseEndpointSpec(t, flag), t);
const ipv4 = (t: string, flag: string) => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new UserError(`${flag} '${t}': expected an IPv4 address, e.g. 198.18.0.2`);
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
    if (!(OFFLOAD_FEATURES as readonly string[]).includes(m[1]!)) throw new UserError(`--offload: unknown feature '${m[1]}'`, `features: ${OFFLOAD_FEATURES.join(', ')}`);
    if (m[1]! in out) throw new UserError(`--offload: '${m[1]}' named twice`);
    out[m[1]!] = m[2] as 'on' | 'off';
  }
  return out;
}

const def = <T = boolean>(d: OptionDef<T>) => d;

export const OPTIONS = {
  // The command itself.
  workload: def<string>({ type: 'string', for: 'output', value: 'rtt|stream|sweep|load|rr|crr', help: 'what to measure (default rtt; rr, crr: TCP transactions)', experiment: false, parse: text }),
  json: def({ type: 'boolean', for: 'output', help: 'one JSON document on stdout instead of tables', experiment: false }),
  db: def<string>({ type: 'string', for: 'output', value: 'FILE', help: 'the SQLite store (default cnperf-results/results.sqlite)', experiment: false, parse: text }),
  'dry-run': def({ type: 'boolean', for: 'output', help: 'print the commands (ip, nft, engine) a run would execute, and change nothing', experiment: false }),
  help: def({ type: 'boolean', short: 'h', for: 'output', help: 'this text', experiment: false }),
  trace: def({ type: 'boolean', for: 'output', help: 'tracepoints and a perf profile: stack traversals per packet, softirq durations (CPU, softirq, IRQ and drop counters are always on)', experiment: false }),

  // Datapath options: how the datapath is built.
  pairs: def<number>({ type: 'string', for: 'datapath', value: 'N', help: `container pairs (1..${MAX_PAIRS}); rtt measures each in turn`, parse: intIn(1, MAX_PAIRS) }),
  placement: def<Placement>({ type: 'string', for: 'datapath', value: PLACEMENTS.join('|'), help: 'one simulated node, or two joined by a wire (default: the datapath\'s own)', parse: oneOf(PLACEMENTS) }),
  mode: def<string>({ type: 'string', for: 'datapath', only: 'mode', value: 'M', help: 'macvlan/ipvlan mode', parse: text }),
  variant: def<string>({ type: 'string', for: 'datapath', only: 'variant', value: 'host|bridge', help: 'vxlan: apps on the nodes (host) or Docker overlay (bridge)', parse: text }),
  vni: def<number>({ type: 'string', for: 'datapath', only: 'vni', value: 'N', help: 'VXLAN network identifier', parse: intIn(1, 16_777_215) }),
  'vxlan-port': def<number>({ type: 'string', for: 'datapath', only: 'vxlan-port', value: 'N', help: 'VXLAN UDP port', parse: intIn(1, 65535) }),
  mtu: def<number>({ type: 'string', for: 'datapath', value: 'N', help: 'MTU of every link the datapath creates (vxlan: of the underlay)', parse: intIn(1280, 65535) }),
  offload: def<Record<string, 'on' | 'off'>>({ type: 'string', for: 'datapath', value: 'gro=off,tso=off,...', help: 'ethtool -K features on every device created', parse: parseOffload }),
  netfilter: def<Netfilter>({ type: 'string', for: 'datapath', only: 'netfilter', value: NETFILTERS.join('|'), help: 'firewall rules on the forwarding path', parse: oneOf(NETFILTERS) }),
  rules: def<number>({ type: 'string', for: 'datapath', only: 'netfilter', value: 'N', help: 'how many non-matching rules precede the accepting one', parse: intIn(0, MAX_RULES) }),
  conntrack: def<'on' | 'off'>({ type: 'string', for: 'datapath', only: 'netfilter', value: 'on|off', help: 'connection tracking on the forwarding path', parse: onOff }),
  'br-netfilter': def<'on' | 'off'>({ type: 'string', for: 'datapath', only: 'netfilter', value: 'on|off', help: 'bridged frames through iptables (br_netfilter)', parse: onOff }),
  'service-proxy': def<ServiceProxy>({ type: 'string', for: 'datapath', only: 'service-proxy', value: SERVICE_PROXIES.join('|'), help: "the client sends to a Service's ClusterIP through kube-proxy's rules in the nodes", parse: oneOf(SERVICE_PROXIES) }),
  services: def<number>({ type: 'string', for: 'datapath', only: 'service-proxy', value: 'N', help: `ClusterIP Services in the rules (1..${MAX_SERVICES}, default 1)`, parse: intIn(1, MAX_SERVICES) }),
  'endpoints-per-service': def<number>({ type: 'string', for: 'datapath', only: 'service-proxy', value: 'K', help: `endpoints of every Service (1..${MAX_ENDPOINTS_PER_SERVICE}, default 1); the measured one's are addresses of the server`, parse: intIn(1, MAX_ENDPOINTS_PER_SERVICE) }),
  'service-position': def<'first' | 'last' | number>({ type: 'string', for: 'datapath', only: 'service-proxy', value: 'first|last|N', help: "the measured Service's place in iptables mode's KUBE-SERVICES list (default last: the worst case)", parse: (t, f) => (t === 'first' || t === 'last' ? t : parseIntIn(t, f, 1, MAX_SERVICES)) }),
  rps: def<string>({ type: 'string', for: 'datapath', value: 'MASK', help: 'RPS CPU mask on every device created', parse: cpuMask }),
  xps: def<string>({ type: 'string', for: 'datapath', value: 'MASK', help: 'XPS CPU mask on every device created', parse: cpuMask }),
  'ovs-datapath': def<'netdev' | 'system'>({ type: 'string', for: 'datapath', only: 'ovs-datapath', value: 'netdev|system', help: 'OVS userspace or kernel datapath', parse: oneOf(['netdev', 'system'] as const, 'netdev (userspace) or system (kernel module)') }),
  hosts: def<string>({ type: 'string', for: 'datapath', value: 'FILE', help: 'real hosts over ssh (a YAML inventory: hosts: [{name, address, user, port, identity, known_hosts, interface}]): the nodes are those hosts', experiment: false, parse: text }),
  fabric: def<'wire' | 'switch'>({ type: 'string', for: 'datapath', value: 'wire|switch', help: 'how simulated nodes are joined', parse: oneOf(['wire', 'switch'] as const, 'wire (a veth between the nodes) or switch (a bridge in a fabric namespace)') }),
  'switch-cpu': def<number>({ type: 'string', for: 'datapath', only: 'switch-cpu', value: 'N', help: 'testpmd, ovs-dpdk: the CPU the switch polls on (default the last); the engines default to another', parse: (t, f) => parseIntIn(t, f, 0, os.cpus().length - 1) }),
  'podman-driver': def<'bridge' | 'macvlan'>({ type: 'string', for: 'datapath', only: 'podman-driver', value: 'bridge|macvlan', help: "podman: the network's driver (macvlan: on a veth of the run's in the host, never a real NIC)", parse: oneOf(['bridge', 'macvlan'] as const) }),
  endpoint: def<'container' | 'vm'>({ type: 'string', for: 'datapath', value: 'container|vm', help: 'both endpoints as containers (namespaces) or as VMs (qemu guests behind taps; datapaths bridge, routed, vxlan --variant bridge)', parse: oneOf(['container', 'vm'] as const) }),
  'client-endpoint': def<'container' | 'vm'>({ type: 'string', for: 'datapath', value: 'container|vm', help: 'the client alone as a container or a VM (overrides --endpoint)', parse: oneOf(['container', 'vm'] as const) }),
  'server-endpoint': def<'container' | 'vm'>({ type: 'string', for: 'datapath', value: 'container|vm', help: 'the server alone as a container or a VM (overrides --endpoint)', parse: oneOf(['container', 'vm'] as const) }),
  'vm-accel': def<'auto' | 'kvm' | 'tcg'>({ type: 'string', for: 'datapath', value: 'auto|kvm|tcg', help: 'VM endpoints: KVM, TCG emulation, or KVM where /dev/kvm boots a standard guest (auto, the default)', parse: oneOf(['auto', 'kvm', 'tcg'] as const) }),
  'vm-vhost': def<'on' | 'off'>({ type: 'string', for: 'datapath', value: 'on|off', help: 'VM endpoints: the tap with vhost-net (needs /dev/vhost-net; default off)', parse: onOff }),
  client: def<string>({ type: 'string', for: 'datapath', only: 'existing', value: 'netns:NAME|pid:PID|podman:NAME|docker:NAME', help: "existing: the client's namespace", parse: endpointSpec }),
  server: def<string>({ type: 'string', for: 'datapath', only: 'existing', value: 'netns:NAME|pid:PID|podman:NAME|docker:NAME', help: "existing: the server's namespace", parse: endpointSpec }),
  'server-address': def<string>({ type: 'string', for: 'datapath', only: 'existing', value: 'IPV4', help: "existing: the server's address (default: the first global IPv4 address on its default-route device)", parse: ipv4 }),
  'cni-config': def<string>({ type: 'string', for: 'datapath', only: 'cni-config', value: 'FILE', help: 'the CNI network configuration (.conflist or .conf)', parse: text }),

  // Round trips (rtt, and the load workload's probe).
  count: def<number>({ type: 'string', for: PROBE, value: 'N', help: 'round trips (default 10000)', parse: intIn(1, 100_000_000) }),
  interval: def<number>({ type: 'string', for: PROBE, value: '1ms|0', help: 'send period (0: back to back)', parse: durationIn(0, 60e9, '0..60s') }),
  timeout: def<number>({ type: 'string', for: PROBE, value: 'DURATION', help: 'a reply later than this is lost (default 200ms)', parse: durationIn(1000, 60e9, '1us..60s') }),
  'max-consecutive-lost': def<number>({ type: 'string', for: PROBE, value: 'N', help: 'give up after this many losses in a row (0: never)', parse: intIn(0, 100_000_000) }),
  'response-size': def<number>({ type: 'string', for: TCP_TRANSACTIONS, value: 'BYTES', help: 'bytes of each response (default: as --size; both default 1 B, as netperf)', parse: intIn(1, 65507) }),
  raw: def({ type: 'boolean', for: ['rtt'], help: 'keep every RTT, not only the histogram' }),
  breakdown: def({ type: 'boolean', for: ['rtt'], help: 'split every RTT into send, forward path, server wake-up, turnaround, return path, wake-up' }),

  // Every workload.
  size: def<number>({ type: 'string', for: ALL, value: 'BYTES', help: 'UDP payload, 16.. (TCP: bytes per write; rr/crr: of each request, 1..; load: of the load)', parse: intIn(1, 65507) }),
  wait: def<'block' | 'spin'>({ type: 'string', for: ALL, value: 'block|spin', help: 'how the engines wait for packets', parse: oneOf(['block', 'spin'] as const, 'block or spin') }),
  pace: def<'sleep' | 'spin'>({ type: 'string', for: ['rtt', 'stream', 'sweep', 'load'], value: 'sleep|spin', help: 'how senders wait for their next send time', parse: oneOf(['sleep', 'spin'] as const, 'sleep (clock_nanosleep) or spin (busy-wait on the clock)') }),
  cpus: def<[number, number]>({ type: 'string', for: ALL, value: 'CLIENT,SERVER', help: 'pin the engines', parse: parseCpus }),
  'rt-prio': def<number>({ type: 'string', for: ALL, value: '1..99', help: 'SCHED_FIFO priority of the engines', parse: intIn(1, 99) }),
  warmup: def<string>({ type: 'string', for: ALL, value: 'N|DURATION', help: 'rtt/load: round trips discarded (default 1); stream/sweep: seconds discarded (default 2s)', parse: text }),

  // Streams (stream, sweep, and the load workload's load).
  api: def<string>({ type: 'string', for: [...STREAMS, 'rtt'], value: 'send,sendmmsg,raw,raw-mmsg,raw-ring,xdp,tcp', help: 'sending APIs, one run each (default send; rtt: send or xdp)', parse: text }),
  'xdp-frames': def<number>({ type: 'string', for: [...STREAMS, 'rtt'], value: 'N', help: '--api xdp: UMEM frames of 2 KiB, a power of two (default 4096)', parse: powerOfTwo(64, 1 << 20) }),
  'xdp-ring': def<number>({ type: 'string', for: [...STREAMS, 'rtt'], value: 'N', help: '--api xdp: entries of each AF_XDP ring, a power of two below --xdp-frames (default 2048)', parse: powerOfTwo(64, 1 << 19) }),
  burst: def<number>({ type: 'string', for: STREAMS, value: 'N', help: 'datagrams per send call or paced burst', parse: intIn(1, 1024) }),
  rate: def<string>({ type: 'string', for: STREAMS, value: 'PPS|0', help: 'offered packets per second per flow (0: as fast as possible); sweep: a list 50k,100k or a range 50k..400k:8', parse: text }),
  duration: def<number>({ type: 'string', for: ['stream', 'sweep'], value: 'DURATION', help: 'how long each stream runs (default 10s)', parse: durationIn(1e9, 86400e9, '1s..24h') }),
  'qdisc-bypass': def({ type: 'boolean', for: STREAMS, help: 'raw APIs (raw, raw-mmsg, raw-ring): PACKET_QDISC_BYPASS' }),
  rcvbuf: def<number>({ type: 'string', for: STREAMS, value: 'BYTES', help: "the receiver's socket buffer (SO_RCVBUFFORCE; default: the kernel's)", parse: (t, f) => parseBytes(t, f, 4096, 2 ** 30) }),
  flows: def<number>({ type: 'string', for: ['stream', ...TCP_TRANSACTIONS], value: 'N', help: 'stream: sender/receiver pairs at once, each in its own namespaces; rr/crr: connections at once, one transaction in flight each', parse: intIn(1, MAX_FLOWS) }),
  'loss-threshold': def<number>({ type: 'string', for: ['sweep'], value: 'PERCENT', help: 'the highest rate with less loss is the maximum sustained (default 0.1%)', parse: parsePercent }),
  'sender-limit': def<number>({ type: 'string', for: ['sweep'], value: 'PERCENT', help: 'a point whose send rate falls more than this below the offered rate is sender-limited and never sustained (default 2%)', parse: parsePercent }),
  settle: def<number>({ type: 'string', for: ['load'], value: 'DURATION', help: 'how long the load runs before the probe starts (default 1s)', parse: durationIn(0, 60e9, '0..60s') }),
  worst: def<number>({ type: 'string', for: ['load'], value: 'N', help: 'how many of the worst RTTs to keep (default 5000)', parse: intIn(1, 1_000_000) }),
} as const;

export type OptionName = keyof typeof OPTIONS;
type ValueOf<D> = D extends OptionDef<infer T> ? T : never;
/** Parsed option values by name: what workloads and datapaths read. */
export type OptionValues = { -readonly [K in OptionName]?: ValueOf<(typeof OPTIONS)[K]> };

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];
export const DATAPATH_OPTION_NAMES = OPTION_NAMES.filter((k) => OPTIONS[k].for === 'datapath');
/** What an experiment file's `params` may set. */
export const EXPERIMENT_PARAM_NAMES = [
  ...OPTION_NAMES.filter((k) => OPTIONS[k].for !== 'output' && OPTIONS[k].for !== 'datapath'),
  ...DATAPATH_OPTION_NAMES,
].filter((k) => (OPTIONS[k] as OptionDef<unknown>).experiment !== false);

export function optionDef(name: string): OptionDef<unknown> | undefined {
  return (OPTIONS as Record<string, OptionDef<unknown>>)[name];
}

/** The options a workload takes (its own and those of every workload). */
export function workloadOptionNames(workload: string): OptionName[] {
  return OPTION_NAMES.filter((k) => {
    const f = OPTIONS[k].for;
    return f !== 'output' && f !== 'datapath' && f.includes(workload);
  });
}

/** node:util parseArgs's option spec for the named options. */
export function parseArgsSpec(names: readonly OptionName[]): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(names.map((k) => [k, { type: OPTIONS[k].type, ...('short' in OPTIONS[k] ? { short: (OPTIONS[k] as OptionDef<unknown>).short } : {}) }]));
}

/**
 * Raw values (strings from argv or an experiment file, true for flags) → parsed values, each
 * checked by its option's parser. Unknown names are the caller's to refuse.
 */
export function parseOptionValues(raw: Readonly<Record<string, string | boolean | undefined>>): OptionValues {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const d = optionDef(k);
    if (!d) throw new UserError(`unknown option --${k}`);
    if (d.type === 'boolean') {
      if (typeof v !== 'boolean') throw new UserError(`--${k} is a flag: give true or false, not '${v}'`);
      if (v) out[k] = true;
      continue;
    }
    const t = String(v);
    out[k] = d.parse ? d.parse(t, `--${k}`) : t;
  }
  return out as OptionValues;
}

/** One usage line per option: "--name VALUE   help". */
function optionLines(names: readonly OptionName[]): string {
  const left = names.map((k) => `  --${k}${OPTIONS[k].type === 'string' ? ` ${(OPTIONS[k] as OptionDef<unknown>).value ?? 'VALUE'}` : ''}`);
  const width = Math.min(44, Math.max(...left.map((l) => l.length)) + 2);
  // an option whose syntax is wider than the column gets its text on the next line, never run into it
  return names.map((k, i) => (left[i]!.length < width - 1 ? left[i]!.padEnd(width) : `${left[i]}\n${' '.repeat(width)}`) + OPTIONS[k].help).join('\n');
}

/** The usage of `cnperf quick`, made from the table. */
export function quickUsage(workloads: ReadonlyArray<{ name: string; description: string }>, datapaths: readonly string[]): string {
  const of = (pred: (f: OptionDef<unknown>['for']) => boolean) => OPTION_NAMES.filter((k) => pred(OPTIONS[k].for));
  const everyWorkload = of((f) => f !== 'output' && f !== 'datapath' && workloads.every((w) => f.includes(w.name)));
  const sections = [
    `cnperf quick DATAPATH... [--workload ${workloads.map((w) => w.name).join('|')}] [options]`,
    `output:\n${optionLines(of((f) => f === 'output'))}`,
    `datapath:\n${optionLines(of((f) => f === 'datapath'))}`,
    `every workload:\n${optionLines(everyWorkload)}`,
    ...workloads.map((w) => `--workload ${w.name}: ${w.description}\n${optionLines(workloadOptionNames(w.name).filter((k) => !everyWorkload.includes(k)))}`),
    `datapaths: ${datapaths.join(', ')}`,
  ];
  return sections.join('\n');
}

/** The usage lines of the datapath options (for `cnperf topo up`). */
export function datapathUsage(): string {
  return optionLines(DATAPATH_OPTION_NAMES);
}
