/**
 * The always-on probes on every real host of a run: /proc/stat, /proc/softirqs, /proc/interrupts and
 * the counters of every device and stack of the host's namespaces, read on the host in one ssh call
 * at the start and at the end of the workload, and summarized per host as a run on one machine is
 * (src/probes/session.ts). The run's figures are the hosts' sums; why lines name each host's.
 */
import { parseProcStat } from '../probes/cpu.js';
import { parseLinkStats } from '../probes/devices.js';
import { summarizeProbes, type NsCounters, type ProbeReport } from '../probes/session.js';
import { parseSnmp } from '../probes/snmp.js';
import { parseInterruptTotals, parseSoftirqs } from '../probes/softirqs.js';
import type { HostSample } from '../probes/timeline.js';
import { errorMessage } from '../util/errors.js';
import type { TraceSummary } from '../probes/tracepoints.js';
import { RemoteTrace } from './remote-trace.js';
import type { HostPart } from './remote-build.js';
import { sections, sh } from '../util/shell.js';

export const SNAPSHOT = `sec() { printf '\\n@@%s\\n' "$1"; }
sec stat; cat /proc/stat; sec softirqs; cat /proc/softirqs; sec interrupts; cat /proc/interrupts
for n; do sec "link $n"; ip -n "$n" -s -j link show; sec "snmp $n"; ip netns exec "$n" cat /proc/net/snmp; done`;

interface Snapshot {
  sample: HostSample;
  counters: NsCounters;
}

/** One snapshot's output → the host's sample and its namespaces' counters. Pure. */
export function parseSnapshot(out: string, tMs: number): Snapshot {
  const sec = sections(out);
  const counters: NsCounters = { devices: {}, snmp: {} };
  for (const [k, v] of sec) {
    const [kind, ns] = k.split(' ');
    if (kind === 'link' && ns) counters.devices[ns] = parseLinkStats(v.trim() || '[]');
    if (kind === 'snmp' && ns) counters.snmp[ns] = parseSnmp(v);
  }
  return {
    sample: {
      t_ms: tMs,
      stat: parseProcStat(sec.get('stat') ?? ''),
      softirqs: parseSoftirqs(sec.get('softirqs') ?? ''),
      irqs: parseInterruptTotals(sec.get('interrupts') ?? ''),
    },
    counters,
  };
}

export class HostProbes {
  private readonly t0 = performance.now();
  private readonly traces = new Map<string, RemoteTrace>();
  private constructor(
    private readonly parts: readonly HostPart[],
    private readonly before: Map<string, Snapshot>,
  ) {}

  /** With `trace`, each host records the run's tracepoints too (its devices: the run's and its NIC). */
  static async start(parts: readonly HostPart[], trace?: { runId: string; bufferKb: number }): Promise<HostProbes> {
    const p = new HostProbes(parts, new Map());
    try {
      for (const { host, part, exec } of trace ? parts : []) {
        const nic = part.namespaces.find((n) => n.root)?.root?.nic;
        p.traces.set(
          host.name,
          await RemoteTrace.start(host, exec.journal, {
            runId: trace!.runId,
            devices: [`cnp${trace!.runId}-*`, ...(nic ? [nic] : [])],
            bufferKb: trace!.bufferKb,
          }),
        );
      }
      for (const [k, v] of await p.snapshots()) p.before.set(k, v);
    } catch (e) {
      p.abort();
      throw e;
    }
    return p;
  }

  private async snapshots(): Promise<Map<string, Snapshot>> {
    const out = new Map<string, Snapshot>();
    await Promise.all(
      this.parts.map(async ({ host, part }) => {
        const text = (await host.ssh.run(sh(SNAPSHOT, ...part.namespaces.map((n) => n.name)))).stdout;
        out.set(host.name, parseSnapshot(text, Math.round(performance.now() - this.t0)));
      }),
    );
    return out;
  }

  /** On the error path: the hosts' trace instances go (the runs' journals there retry). */
  abort(): void {
    for (const t of this.traces.values()) void t.abort();
  }

  async stop(): Promise<ProbeReport> {
    const problems: string[] = [];
    const hosts: Record<string, ProbeReport> = {};
    let after = new Map<string, Snapshot>();
    try {
      after = await this.snapshots();
    } catch (e) {
      problems.push(`counters at the end: ${errorMessage(e)}`);
    }
    const traces = new Map<string, TraceSummary>();
    for (const [name, t] of this.traces) {
      try {
        traces.set(name, await t.stop());
      } catch (e) {
        problems.push(`--trace on host ${name}: ${errorMessage(e)}`);
      }
    }
    for (const { host, part } of this.parts) {
      const a = this.before.get(host.name);
      const b = after.get(host.name);
      if (!a || !b) continue;
      hosts[host.name] = summarizeProbes(
        { topo: part },
        [a.sample, b.sample],
        a.counters,
        b.counters,
        traces.get(host.name) ?? null,
        [],
      );
    }
    return combine(hosts, problems);
  }
}

/** The run's figures from its hosts': counts summed, devices named by host, CPU split per host only. Pure. */
export function combine(hosts: Record<string, ProbeReport>, problems: string[]): ProbeReport {
  const rs = Object.values(hosts);
  const sum = (f: (r: ProbeReport) => number) => rs.reduce((a, r) => a + f(r), 0);
  const packets = sum((r) => r.packets);
  const perPacket = (n: number) => (packets > 0 && rs.length ? Number((n / packets).toFixed(4)) : null);
  const netRx = sum((r) => r.softirqs.net_rx);
  const netTx = sum((r) => r.softirqs.net_tx);
  const irqs = sum((r) => r.interrupts);
  // each host's softirqs and IRQs per packet the run delivered (a sender's host delivers next to none itself)
  const byRun = Object.fromEntries(
    Object.entries(hosts).map(([name, r]) => {
      const passes = (f: 'receive_by_device' | 'xmit_by_device') =>
        r.trace
          ? Number((Object.values(r.trace[f]).reduce((a, n) => a + n, 0) / Math.max(packets, 1)).toFixed(3))
          : null;
      return [
        name,
        {
          ...r,
          net_rx_softirqs_per_packet: perPacket(r.softirqs.net_rx),
          net_tx_softirqs_per_packet: perPacket(r.softirqs.net_tx),
          irqs_per_packet: perPacket(r.interrupts),
          traversals_per_packet: packets > 0 ? passes('receive_by_device') : null,
          xmits_per_packet: packets > 0 ? passes('xmit_by_device') : null,
        },
      ];
    }),
  );
  const devices: ProbeReport['devices'] = {};
  const snmp: ProbeReport['snmp_errors'] = {};
  for (const [name, r] of Object.entries(hosts)) {
    for (const [k, d] of Object.entries(r.devices)) devices[`${name}:${k}`] = d;
    for (const [k, d] of Object.entries(r.snmp_errors)) snmp[`${name}:${k}`] = d;
  }
  // --trace: every host's stack passes over the packets the run delivered, the longest softirq of any host
  const traced = rs.filter((r) => r.trace);
  const passes = (f: 'receive_by_device' | 'xmit_by_device') =>
    traced.reduce((a, r) => a + Object.values(r.trace![f]).reduce((x, n) => x + n, 0), 0);
  const perRun = (n: number) => (traced.length && packets > 0 ? Number((n / packets).toFixed(3)) : null);
  const maxes = traced.flatMap((r) => (r.softirq_max_ns === null ? [] : [r.softirq_max_ns]));
  return {
    window_ms: Math.max(0, ...rs.map((r) => r.window_ms)),
    packets,
    traversals_per_packet: perRun(passes('receive_by_device')),
    xmits_per_packet: perRun(passes('xmit_by_device')),
    softirq_max_ns: maxes.length ? Math.max(...maxes) : null,
    net_rx_softirqs_per_packet: perPacket(netRx),
    net_tx_softirqs_per_packet: perPacket(netTx),
    irqs_per_packet: perPacket(irqs),
    cpu: { all: null, per_cpu: [] },
    softirqs: { net_rx: netRx, net_tx: netTx, net_rx_per_cpu: [], net_tx_per_cpu: [] },
    interrupts: irqs,
    devices,
    snmp_errors: snmp,
    trace: null,
    perf: null,
    bpf: null,
    problems: rs.length ? problems : [...problems, 'no host answered the probes'],
    timeline: [],
    hosts: byRun,
  };
}
