/**
 * The "why" of a run, for the terminal and for `--json`: what the probes saw (traversals, softirqs,
 * CPU split, drops) and, with --breakdown, where in the round trip the time went and which part
 * grew in the tail. Made from stored records only.
 */
import type { ProbeReport } from '../probes/session.js';
import { COMPONENTS, type BreakdownSummary } from '../stats/breakdown.js';
import type { Namespace, ServicePath } from '../topology/model.js';
import { datapathWhy } from './datapath-sections.js';
import type { RunRecord } from '../store/db.js';
import { renderTable, us } from './table.js';
import { endpointTag } from './vm.js';

type StoredProbes = Partial<ProbeReport> & { breakdown?: BreakdownSummary };

/** The address family a run measured over: 6 with --ip 6 (its plan's addresses in 2001:2::/48), else 4. */
export function familyOf(r: RunRecord): 4 | 6 {
  return (r.params as { datapath?: { ip?: number } } | null)?.datapath?.ip === 6 ? 6 : 4;
}

/** A tunnel's underlay family when --underlay set it, else null (the overlay's). */
export function underlayOf(r: RunRecord): 4 | 6 | null {
  const u = (r.params as { datapath?: { underlay?: number } } | null)?.datapath?.underlay;
  return u === 4 || u === 6 ? u : null;
}

/** The family label of a run's name: ' IPv6', and the underlay's family when a tunnel's differs (--underlay). */
function familyTag(r: RunRecord): string {
  const ip = familyOf(r);
  const underlay = underlayOf(r);
  const over = underlay !== null && underlay !== ip ? ` over IPv${underlay}` : '';
  return `${ip === 6 ? ' IPv6' : over ? ' IPv4' : ''}${over}`;
}

export function probesOf(r: RunRecord): StoredProbes | null {
  return (r.probes as StoredProbes | null | undefined) ?? null;
}

const pct = (x: number | undefined) => (typeof x === 'number' ? `${Math.round(x * 100)}%` : '–');
const num = (x: number | null | undefined, digits = 2) => (typeof x === 'number' ? x.toFixed(digits) : '–');

/**
 * A run's name in tables and why lines: its datapath, how it sent when that is not the default —
 * ' AF_XDP' for a round trip over AF_XDP, the API for a stream or sweep other than send — and the
 * Service it went through (' → nftables×1000': kube-proxy's mode and the number of Services).
 */
export function runName(r: RunRecord): string {
  const api = (r.params as { api?: string } | null)?.api;
  const svc = (r.topology as { service?: ServicePath } | null)?.service;
  const via = `${svc ? ` → ${svc.proxy}×${svc.services}` : ''}${endpointTag(r)}${familyTag(r)}`;
  if (r.workload === 'rtt') return `${api === 'xdp' ? `${r.datapath} AF_XDP` : r.datapath}${via}`;
  return `${
    (r.workload === 'stream' || r.workload === 'sweep') && api && api !== 'send' ? `${r.datapath} ${api}` : r.datapath
  }${via}`;
}

/** One line per run: the figures that explain it. */
export function whyLines(runs: RunRecord[]): string {
  const lines: string[] = [];
  for (const r of runs) {
    const p = probesOf(r);
    if (!p || p.packets === undefined) continue;
    const parts: string[] = [];
    if (p.traversals_per_packet !== null && p.traversals_per_packet !== undefined)
      parts.push(`stack traversals/pkt ${num(p.traversals_per_packet)} (xmits ${num(p.xmits_per_packet)})`);
    parts.push(`NET_RX softirqs/pkt ${num(p.net_rx_softirqs_per_packet)}`, `IRQs/pkt ${num(p.irqs_per_packet)}`);
    if (typeof p.softirq_max_ns === 'number') {
      const worst = Object.entries(p.trace?.softirq ?? {}).sort((a, b) => b[1].max_ns - a[1].max_ns)[0]?.[0];
      parts.push(`softirq max ${us(p.softirq_max_ns)} µs${worst ? ` (${worst})` : ''}`);
    }
    const a = p.cpu?.all;
    if (a)
      parts.push(
        `CPU usr ${pct(a.usr)} sys ` +
          `${pct(a.sys)} softirq ` +
          `${pct(a.softirq)} irq ${pct(a.irq)} idle ${pct(a.idle)}${a.steal ? ` steal ${pct(a.steal)}` : ''}`,
      );
    if (p.cpu?.server)
      parts.push(`server CPU ${p.cpu.server.cpu}: softirq ${pct(p.cpu.server.softirq)} sys ${pct(p.cpu.server.sys)}`);
    // No device read: not measured ("–"), not zero drops.
    const devices = Object.values(p.devices ?? {});
    const drops = devices.length ? String(devices.reduce((s, d) => s + d.rx_dropped + d.tx_dropped, 0)) : '–';
    const errors = Object.values(p.snmp_errors ?? {}).flatMap((e) => Object.entries(e).map(([k, v]) => `${k} ${v}`));
    parts.push(`device drops ${drops}${errors.length ? `, stack: ${errors.join(', ')}` : ''}`);
    if (p.bpf?.programs.length) {
      // each program once (summed over nodes): how often it ran per packet and what a run cost
      const byName = new Map<string, { runs: number; ns: number; perPacket: number | null }>();
      for (const g of p.bpf.programs) {
        const x = byName.get(g.name) ?? { runs: 0, ns: 0, perPacket: null };
        byName.set(g.name, {
          runs: x.runs + g.runs,
          ns: x.ns + g.run_ns,
          perPacket: g.runs_per_packet === null ? x.perPacket : (x.perPacket ?? 0) + g.runs_per_packet,
        });
      }
      const progs = [...byName].map(
        ([name, x]) => `${name} ${num(x.perPacket)} runs/pkt × ${x.runs ? (x.ns / x.runs).toFixed(0) : '–'} ns`,
      );
      const acts = Object.entries(p.bpf.actions)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`);
      parts.push(`BPF: ${progs.join(', ')}${acts.length ? ` (actions: ${acts.join(', ')})` : ''}`);
    }
    const svc = (r.topology as { service?: ServicePath } | null)?.service;
    if (svc) {
      const load = (p.rules_load ?? []).map((x) => `${(x.ms / 1000).toFixed(2)} s`).join(', ');
      const place =
        svc.proxy === 'iptables'
          ? `, Service ${svc.position} of ${svc.services} in KUBE-SERVICES`
          : ` of ${svc.services} in one verdict map`;
      parts.push(
        `Service ${svc.cluster_ip}:${svc.port} via ${svc.proxy}${place}${load ? ` (rules loaded in ${load})` : ''}`,
      );
    }
    const own = datapathWhy(r);
    if (own) parts.push(own);
    for (const [ns, c] of Object.entries(p.conntrack ?? {})) {
      const trouble = Object.entries(c.trouble).map(([k, v]) => `${k} ${v}`);
      parts.push(
        `conntrack ${ns}: ` +
          `${c.entries} entries${trouble.length ? `, ${trouble.join(', ')}` : ', no insert failures or drops'}`,
      );
    }
    if (p.perf?.top.length)
      parts.push(
        `busiest kernel functions: ${p.perf.top
          .slice(0, 5)
          .map((f) => `${f.symbol} ${pct(f.busy_share)}`)
          .join(', ')} (of busy CPU time)`,
      );
    if (p.trace?.lost_events) parts.push(`trace lost ${p.trace.lost_events} events (figures cover the start)`);
    const name = runName(r);
    const hostCount = Object.keys(p.hosts ?? {}).length;
    lines.push(
      `  ${name}${
        hostCount > 1 ? ' (both hosts)' : hostCount ? ` (host ${Object.keys(p.hosts!)[0]})` : ''
      }: ${parts.join(' · ')}`,
    );
    const roots = ((r.topology as { namespaces?: Namespace[] } | null)?.namespaces ?? []).filter((n) => n.root && n.on);
    for (const [host, h] of Object.entries(p.hosts ?? {})) {
      const node = roots.find((n) => n.on === host);
      lines.push(
        `  ${' '.repeat(name.length)}  host ` +
          `${host}: ${hostParts(h, node ? `${node.name}/${node.root!.nic}` : undefined).join(' · ')}`,
      );
    }
    const b = p.breakdown;
    if (b?.tail.dominant) {
      const d = b.tail.dominant;
      lines.push(
        `  ${' '.repeat(name.length)}  tail: ` +
          `${d} grew most in ${b.tail.grew[d]} of the ` +
          `${b.tail.samples} worst RTTs ` +
          `(+${us(b.tail.mean_excess_ns[d])} µs over its median ${us(b.components[d].p50)} µs)`,
      );
    }
    for (const problem of p.problems ?? []) lines.push(`  ${' '.repeat(name.length)}  probe problem: ${problem}`);
  }
  const traced = runs.some((r) => probesOf(r)?.trace || Object.values(probesOf(r)?.hosts ?? {}).some((h) => h.trace));
  const source = traced
    ? 'traversals and softirq durations from tracepoints'
    : 'add --trace for stack traversals and softirq durations';
  return lines.length ? `Why (per packet delivered to an endpoint; ${source})\n${lines.join('\n')}` : '';
}

/** One real host's figures (--hosts): its own softirqs, IRQs and CPU split, its NIC's counters. */
function hostParts(h: ProbeReport, nicKey: string | undefined): string[] {
  const out = [`NET_RX softirqs/pkt ${num(h.net_rx_softirqs_per_packet)}`, `IRQs/pkt ${num(h.irqs_per_packet)}`];
  if (typeof h.traversals_per_packet === 'number')
    out.unshift(`stack traversals/pkt ${num(h.traversals_per_packet)} (xmits ${num(h.xmits_per_packet)})`);
  if (typeof h.softirq_max_ns === 'number') out.push(`softirq max ${us(h.softirq_max_ns)} µs`);
  const a = h.cpu?.all;
  if (a)
    out.push(`CPU usr ${pct(a.usr)} sys ${pct(a.sys)} softirq ${pct(a.softirq)} irq ${pct(a.irq)} idle ${pct(a.idle)}`);
  const nic = nicKey ? h.devices?.[nicKey] : undefined;
  if (nic)
    out.push(
      `NIC ${nicKey!.split('/')[1]}: rx ` +
        `${nic.rx_packets} tx ${nic.tx_packets} packets, drops ${nic.rx_dropped + nic.tx_dropped}`,
    );
  const devices = Object.values(h.devices ?? {});
  out.push(`device drops ${devices.length ? devices.reduce((s, d) => s + d.rx_dropped + d.tx_dropped, 0) : '–'}`);
  const errors = Object.values(h.snmp_errors ?? {}).flatMap((e) => Object.entries(e).map(([k, v]) => `${k} ${v}`));
  if (errors.length) out.push(`stack: ${errors.join(', ')}`);
  return out;
}

/** Where the round trip's time went: each part's p50 / p99 (µs), one row per run with --breakdown. */
export function breakdownTable(runs: RunRecord[]): string {
  const rows = runs
    .map((r) => [r, probesOf(r)?.breakdown] as const)
    .filter((x): x is readonly [RunRecord, BreakdownSummary] => !!x[1])
    .map(([r, b]) => [
      r.datapath,
      ...COMPONENTS.map((c) => `${us(b.components[c].p50)} / ${us(b.components[c].p99)}`),
      String(b.samples),
      b.tail.dominant ?? '–',
      r.id,
    ]);
  if (!rows.length) return '';
  return (
    `Round-trip breakdown, µs (p50 / p99 of each part; the parts of each round trip add up to ` +
    `it)\n${renderTable(['datapath', ...COMPONENTS, 'split', 'tail grew', 'run'], rows, [0, 8, 9])}`
  );
}

/** The `probes` and `breakdown_ns` members of a `--json` result. */
export function probesJson(r: RunRecord): Record<string, unknown> {
  const p = probesOf(r);
  if (!p) return {};
  const { timeline: _t, breakdown, ...probes } = p;
  const out: Record<string, unknown> = {};
  if (probes.packets !== undefined) out.probes = probes;
  if (breakdown) {
    out.breakdown_ns = Object.fromEntries(
      COMPONENTS.map((c) => [
        c,
        { p50: breakdown.components[c].p50, p99: breakdown.components[c].p99, max: breakdown.components[c].max },
      ]),
    );
    out.breakdown = {
      samples: breakdown.samples,
      missing: breakdown.missing,
      max_sum_error_ns: breakdown.max_sum_error_ns,
      over_tolerance: breakdown.over_tolerance,
      tail: breakdown.tail,
    };
  }
  return out;
}
