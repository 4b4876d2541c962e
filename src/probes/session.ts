/**
 * All probes of one run, started before its workload and stopped after it, summarized into the
 * run's `probes` record: CPU split, softirqs and IRQs per packet, drops and errors of every device
 * and namespace of the datapath and, with --trace, stack traversals per packet and softirq durations.
 * "Per packet" means per packet delivered to an endpoint (rx_packets of the endpoints' devices).
 */
import type { Journal } from '../local/journal.js';
import type { Topology } from '../topology/model.js';
import { errorMessage } from '../util/errors.js';
import { BpfStatsSession, type BpfReport } from './bpf.js';
import { conntrackDelta, readConntrack, type ConntrackDelta, type ConntrackReading } from './conntrack.js';
import { cpuShare, type CpuShare } from './cpu.js';
import { deviceDelta, readLinkStats, type DeviceCounters } from './devices.js';
import { readSnmp, snmpErrorDeltas, type Snmp } from './snmp.js';
import { PerfSession, type PerfSummary } from './perf.js';
import { Timeline, type HostSample } from './timeline.js';
import { TraceSession, type TraceSummary } from './tracepoints.js';

export interface ProbeOptions {
  topo: Topology;
  /** [client, server] CPUs the engines are pinned to */
  cpus?: [number, number];
  trace: boolean;
  /** packets the workload is expected to carry: sizes the trace buffers */
  expectedPackets: number;
  journal?: Journal;
  /** the run's directory (under the state directory): perf writes its samples there */
  runDir: string;
  /** what the datapath adds to watch (its `probeTargets`): device names its plugins chose, firewalled namespaces */
  traceDevices?: string[];
  conntrack?: string[];
}

export interface ProbeReport {
  window_ms: number;
  /** packets delivered to the endpoints' devices during the window */
  packets: number;
  /** netif_receive_skb events on the datapath's devices per packet delivered (--trace) */
  traversals_per_packet: number | null;
  /** net_dev_xmit events on the datapath's devices per packet delivered (--trace) */
  xmits_per_packet: number | null;
  /** the longest softirq of any vector (--trace): how long it could hold up the workload */
  softirq_max_ns: number | null;
  net_rx_softirqs_per_packet: number | null;
  net_tx_softirqs_per_packet: number | null;
  irqs_per_packet: number | null;
  cpu: {
    all: CpuShare | null;
    per_cpu: Array<CpuShare | null>;
    client?: { cpu: number } & Partial<CpuShare>;
    server?: { cpu: number } & Partial<CpuShare>;
  };
  softirqs: { net_rx: number; net_tx: number; net_rx_per_cpu: number[]; net_tx_per_cpu: number[] };
  interrupts: number;
  /** counters of every device of the datapath ("netns/dev"), over the window */
  devices: Record<string, DeviceCounters>;
  /** error/drop counters of the stack that moved, per namespace */
  snmp_errors: Record<string, Record<string, number>>;
  trace: TraceSummary | null;
  /** CPU time by function (--trace, when perf is installed) */
  perf: PerfSummary | null;
  /** the eBPF datapaths' programs: runs, run time and their own action counts (null: no programs) */
  bpf: BpfReport | null;
  /** connection tracking in the nodes that hold firewall or Service rules: entries at the end, trouble counters that
   * moved */
  conntrack?: Record<string, ConntrackDelta>;
  /** how long loading each node's timed rules took (kube-proxy's rules for N Services), set by the runner */
  rules_load?: Array<{ what: string; ms: number }>;
  /** what a probe could not do (the run itself is fine) */
  problems: string[];
  /**
   * Across real hosts (--hosts): each host's own figures (its CPUs, softirqs, IRQs, its devices);
   * the run's counts and per-packet figures above are their sums, and its CPU split is per host only.
   */
  hosts?: Record<string, ProbeReport>;
  /** per 100 ms: each CPU's share of usr/sys/softirq/irq/idle, NET_RX softirqs and IRQs per CPU */
  timeline: Array<{ t_ms: number; cpu: Array<CpuShare | null>; net_rx: number[]; irqs: number[] }>;
  /** CLOCK_MONOTONIC ns at the timeline's t_ms 0 */
  timeline_start_ns?: number;
}

export interface NsCounters {
  devices: Record<string, Record<string, DeviceCounters>>;
  snmp: Record<string, Snmp>;
  conntrack?: Record<string, ConntrackReading | null>;
}

/**
 * The namespaces whose conntrack says something: nodes with rules (Services, --netfilter), and those the
 * datapath names (podman's network: netavark's rules are in the host's namespace).
 */
function conntrackNamespaces(o: Pick<ProbeOptions, 'topo' | 'conntrack'>): string[] {
  return [...new Set([...(o.topo.rulesets ?? []).map((r) => r.netns), ...(o.conntrack ?? [])])];
}

async function readNsCounters(namespaces: string[], problems: string[], tracked: string[] = []): Promise<NsCounters> {
  const out: NsCounters = { devices: {}, snmp: {}, conntrack: {} };
  await Promise.all(tracked.map(async (ns) => (out.conntrack![ns] = await readConntrack(ns))));
  await Promise.all(
    namespaces.map(async (ns) => {
      try {
        [out.devices[ns], out.snmp[ns]] = await Promise.all([readLinkStats(ns), readSnmp(ns)]);
      } catch (e) {
        problems.push(`counters of ${ns}: ${errorMessage(e)}`);
      }
    }),
  );
  return out;
}

/**
 * Per-CPU trace buffer: ~300 bytes of events per packet, 4..128 MiB. Not divided among the CPUs:
 * measured on veth, nearly every event of a stream lands on the sender's CPU (its softirq does the
 * receive too).
 */
export function traceBufferKb(expectedPackets: number): number {
  return Math.min(131072, Math.max(4096, Math.ceil((expectedPackets * 300) / 1024)));
}

export class ProbeSession {
  private constructor(
    private readonly o: ProbeOptions,
    private readonly before: NsCounters,
    private readonly timeline: Timeline,
    private readonly trace: TraceSession | null,
    private readonly perf: PerfSession | null,
    private readonly bpf: BpfStatsSession | null,
    private readonly problems: string[],
  ) {}

  static async start(o: ProbeOptions): Promise<ProbeSession> {
    const problems: string[] = [];
    const before = await readNsCounters(namespacesOf(o.topo), problems, conntrackNamespaces(o));
    let trace: TraceSession | null = null;
    if (o.trace) {
      // Tracepoints name devices, not namespaces: the run's prefix, and what the datapath's plugins name theirs.
      // Namespaces cnperf adopted (containers, existing ones) name their devices themselves.
      const adoptedNames = o.topo.namespaces.some((n) => n.adopted)
        ? [
            ...new Set([
              ...o.topo.pairs.flatMap((p) => [p.client.dev, p.server.dev]),
              ...o.topo.namespaces.flatMap((n) => n.adopted?.devices ?? []),
            ]),
          ]
        : [];
      const devices = [
        `cnp${o.topo.runId}-*`,
        ...(o.topo.pairs.some((p) => p.client.dev === 'lo' || p.server.dev === 'lo') ? ['lo'] : []),
        ...(o.traceDevices ?? []),
        ...adoptedNames,
      ];
      trace = await TraceSession.start({
        runId: o.topo.runId,
        devices,
        bufferKb: traceBufferKb(o.expectedPackets),
        journal: o.journal,
      });
    }
    let perf: PerfSession | null = null;
    let bpf: BpfStatsSession | null = null;
    try {
      perf = o.trace ? await PerfSession.start(o.runDir, o.journal, problems) : null;
      bpf = await BpfStatsSession.start(o.topo).catch((e: unknown) => {
        problems.push(`BPF program statistics: ${errorMessage(e)}`);
        return null;
      });
    } catch (e) {
      trace?.removeSync();
      throw e;
    }
    return new ProbeSession(o, before, new Timeline().start(), trace, perf, bpf, problems);
  }

  /** Each 100 ms, the CPU split over all cores since the sample before (the live feed). */
  onCpu(cb: (t_s: number, share: CpuShare) => void): void {
    this.timeline.onSample = (prev, s) => {
      const share = cpuShare(prev.stat.all, s.stat.all);
      if (share) cb(s.t_ms / 1000, share);
    };
  }

  /** On the error path: stops sampling and removes the trace instance; nothing is summarized. */
  abort(): void {
    this.timeline.stop();
    this.trace?.removeSync();
    this.perf?.abort();
    this.bpf?.abort();
  }

  async stop(): Promise<ProbeReport> {
    const samples = this.timeline.stop();
    const perf = this.perf ? await this.perf.stop(this.problems) : null;
    const trace = this.trace ? await this.trace.stop() : null;
    const after = await readNsCounters(namespacesOf(this.o.topo), this.problems, conntrackNamespaces(this.o));
    const report = {
      ...summarizeProbes(this.o, samples, this.before, after, trace, this.problems),
      perf,
      timeline_start_ns: this.timeline.startMonoNs,
    };
    const ct = Object.entries(after.conntrack ?? {}).flatMap(([ns, r]) =>
      r ? [[ns, conntrackDelta(this.before.conntrack?.[ns] ?? null, r)] as const] : [],
    );
    if (ct.length) report.conntrack = Object.fromEntries(ct);
    if (this.bpf) {
      report.bpf = await this.bpf.stop(report.packets).catch((e: unknown) => {
        this.problems.push(`BPF program statistics: ${errorMessage(e)}`);
        return null;
      });
    }
    return report;
  }
}

function namespacesOf(t: Topology): string[] {
  // a VM endpoint's namespace is inside its guest: its tap on the host is read with the node's devices
  return t.namespaces.filter((n) => !n.guest).map((n) => n.name);
}

/** Every probe's figures for the window between the first and last sample. Pure, for tests. */
export function summarizeProbes(
  o: Pick<ProbeOptions, 'topo' | 'cpus'>,
  samples: HostSample[],
  before: NsCounters,
  after: NsCounters,
  trace: TraceSummary | null,
  problems: string[],
): ProbeReport {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const ncpu = last.stat.cpus.length;

  const devices: Record<string, DeviceCounters> = {};
  for (const [ns, devs] of Object.entries(after.devices)) {
    const only = o.topo.namespaces.find((n) => n.name === ns)?.adopted?.devices;
    for (const [dev, c] of Object.entries(devs)) {
      if (only && !only.includes(dev)) continue; // a device of the host's, not of the run's
      // Every device of the run's namespaces is the run's (CNI plugins name theirs eth0, veth…);
      // lo only where it carried something.
      const d = deviceDelta(before.devices[ns]?.[dev], c);
      if (dev === 'lo' && d.rx_packets === 0 && d.tx_packets === 0) continue;
      devices[`${ns}/${dev}`] = d;
    }
  }
  // Packets the endpoints received: on their devices, or for a VM endpoint what its tap sent into the guest.
  const received = new Map<string, 'rx_packets' | 'tx_packets'>();
  for (const ep of o.topo.pairs.flatMap((p) => [p.client, p.server])) {
    const g = o.topo.namespaces.find((n) => n.name === ep.netns)?.guest;
    received.set(g ? `${g.hostNetns}/${g.tap}` : `${ep.netns}/${ep.dev}`, g ? 'tx_packets' : 'rx_packets');
  }
  const packets = [...received].reduce((a, [k, field]) => a + (devices[k]?.[field] ?? 0), 0);

  const sumDelta = (a: number[] | undefined, b: number[] | undefined) => (b ?? []).map((v, i) => v - (a?.[i] ?? 0));
  const netRx = sumDelta(first.softirqs.NET_RX, last.softirqs.NET_RX);
  const netTx = sumDelta(first.softirqs.NET_TX, last.softirqs.NET_TX);
  const irqs = sumDelta(first.irqs, last.irqs).reduce((a, b) => a + b, 0);
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const perPacket = (n: number) => (packets > 0 ? Number((n / packets).toFixed(4)) : null);

  const perCpu = Array.from({ length: ncpu }, (_, i) => {
    const a = first.stat.cpus[i];
    const b = last.stat.cpus[i];
    return a && b ? cpuShare(a, b) : null;
  });
  const cpu: ProbeReport['cpu'] = { all: cpuShare(first.stat.all, last.stat.all), per_cpu: perCpu };
  if (o.cpus) {
    cpu.client = { cpu: o.cpus[0], ...(perCpu[o.cpus[0]] ?? {}) };
    cpu.server = { cpu: o.cpus[1], ...(perCpu[o.cpus[1]] ?? {}) };
  }

  let traversals: number | null = null;
  let xmits: number | null = null;
  let softirqMax: number | null = null;
  if (trace) {
    // The trace was filtered to the run's device names already.
    const ours = (byDev: Record<string, number>) => Object.values(byDev).reduce((a, n) => a + n, 0);
    // Per packet delivered: the endpoint devices' own counters when the trace saw the whole window.
    // Not the trace's receives on endpoint devices: a packet handed over by bpf_redirect_peer enters
    // the container's device within the pass it began on the node's device (the tracepoint names
    // the node's), and XDP-redirected frames pass no tracepoint on the node at all. When the buffer
    // filled, the trace covers only the start of the run: count the packets the endpoints sent into
    // the path within it instead (every packet leaves an endpoint device once, whatever path it takes).
    const endpointDevs = new Set(o.topo.pairs.flatMap((p) => [p.client.dev, p.server.dev]));
    const delivered =
      trace.lost_events === 0
        ? packets
        : Object.entries(trace.xmit_by_device).reduce((a, [dev, n]) => a + (endpointDevs.has(dev) ? n : 0), 0);
    if (delivered > 0) {
      traversals = Number((ours(trace.receive_by_device) / delivered).toFixed(3));
      xmits = Number((ours(trace.xmit_by_device) / delivered).toFixed(3));
    }
    const maxes = Object.values(trace.softirq).map((s) => s.max_ns);
    softirqMax = maxes.length ? Math.max(...maxes) : null;
  }

  const snmpErrors: ProbeReport['snmp_errors'] = {};
  for (const [ns, s] of Object.entries(after.snmp)) {
    const d = snmpErrorDeltas(before.snmp[ns] ?? {}, s);
    if (Object.keys(d).length) snmpErrors[ns] = d;
  }

  const timeline = samples.slice(1).map((s, k) => {
    const p = samples[k]!;
    return {
      t_ms: s.t_ms,
      cpu: Array.from({ length: ncpu }, (_, i) =>
        p.stat.cpus[i] && s.stat.cpus[i] ? cpuShare(p.stat.cpus[i]!, s.stat.cpus[i]!) : null,
      ),
      net_rx: sumDelta(p.softirqs.NET_RX, s.softirqs.NET_RX),
      irqs: sumDelta(p.irqs, s.irqs),
    };
  });

  return {
    window_ms: last.t_ms - first.t_ms,
    packets,
    traversals_per_packet: traversals,
    xmits_per_packet: xmits,
    softirq_max_ns: softirqMax,
    net_rx_softirqs_per_packet: perPacket(total(netRx)),
    net_tx_softirqs_per_packet: perPacket(total(netTx)),
    irqs_per_packet: perPacket(irqs),
    cpu,
    softirqs: { net_rx: total(netRx), net_tx: total(netTx), net_rx_per_cpu: netRx, net_tx_per_cpu: netTx },
    interrupts: irqs,
    devices,
    snmp_errors: snmpErrors,
    trace,
    perf: null,
    bpf: null,
    problems,
    timeline,
  };
}
