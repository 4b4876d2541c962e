/**
 * Tables and the `--json` shape of runs, made from stored records only (so `results show` prints
 * exactly what `quick` printed).
 */
import type { RttSummary } from '../stats/summary.js';
import type { RunRecord } from '../store/db.js';
import { rttFields, type RrSummary, type StreamSummary, type SweepSummary } from '../workloads/results.js';
import { phaseLockWarning } from '../workloads/load.js';
import { renderTable, us } from './table.js';
import { endpointTag, vmJson, vmNotes } from './vm.js';
import { datapathJson, datapathNotes } from './datapath-sections.js';
import { breakdownTable, familyOf, probesJson, runName, underlayOf, whyLines } from './why.js';

/** The RTT summary of an rtt run, or of a load run's probe. */
export function rttSummaryOf(r: RunRecord): RttSummary | null {
  if ((r.workload === 'rtt' || r.workload === 'load' || r.workload === 'rr' || r.workload === 'crr') && r.summary)
    return rttFields(r.summary);
  return null;
}

/** The summary of a TCP transaction run (rr, crr). */
export function rrSummaryOf(r: RunRecord): RrSummary | null {
  return r.workload === 'rr' || r.workload === 'crr' ? r.summary : null;
}

/** The throughput summary of a stream run, or of a load run's load. */
export function streamSummaryOf(r: RunRecord): StreamSummary | null {
  if (r.workload === 'stream') return r.summary;
  if (r.workload === 'load') return r.summary?.stream ?? null;
  return null;
}

/** A load run's worst RTTs, [ns, sequence number], largest first. */
export function worstOf(r: RunRecord): Array<[number, number]> {
  return r.workload === 'load' ? (r.summary?.worst ?? []) : [];
}

/** Latency under load: the open-loop probe's RTT next to the load it ran under and the probe's own lateness. */
export function loadTable(runs: RunRecord[]): string {
  const notes: string[] = [];
  const rows = runs.map((r) => {
    const s = rttSummaryOf(r);
    const l = streamSummaryOf(r);
    const worst = worstOf(r);
    const load = r.workload === 'load' ? r.summary : null;
    if (load?.timing === 'planned')
      notes.push(`${r.id}: stored by an older cnperf — closed-loop probe, RTT from planned send times`);
    // (an idle level has no load sender to share anything)
    if (load?.placement?.shared && load.level !== 'idle') notes.push(`${r.id}: ${load.placement.shared}`);
    // each load level's own: a probe at a whole multiple of that load's period
    const lp = (r.workload === 'load' ? r.params : null) as {
      probe?: { interval_ns?: number };
      load?: { rate_pps?: number; burst?: number };
    } | null;
    const locked =
      lp?.probe?.interval_ns && lp.load?.rate_pps && lp.load.burst
        ? phaseLockWarning({
            stream: { ratePps: lp.load.rate_pps, burst: lp.load.burst },
            probe: { intervalNs: lp.probe.interval_ns },
          })
        : null;
    if (locked) notes.push(`${r.id}: warning: ${locked}`);
    return [
      label(r),
      load?.level === 'idle' ? 'idle' : l ? `${l.api} ${l.offered_pps ? kpps(l.offered_pps) : 'max'}` : '–',
      kpps(l?.rx_pps),
      String(r.samples),
      String(r.lost),
      us(s?.p50),
      us(s?.p99),
      us(s?.p999),
      us(s?.max),
      worst.length ? us(worst[worst.length - 1]![0]) : '–',
      us(load?.lateness_ns?.p99),
      us(load?.lateness_ns?.max),
      r.id,
    ];
  });
  const header = [
    'datapath',
    'load kpps',
    'load rx kpps',
    'probes',
    'lost',
    'p50',
    'p99',
    'p99.9',
    'max',
    'worst-N from',
    'late p99',
    'late max',
    'run',
  ];
  const table = renderTable(header, rows, [0, 1, 12]);
  return (
    `Latency under load: open-loop probe, RTT from each probe's actual send, µs; "late": how far the ` +
    `probe's sender was behind its schedule (not in any RTT)\n${table}${notes.length ? `\n${notes.join('\n')}` : ''}`
  );
}

function label(r: RunRecord): string {
  const name = `${r.datapath}${endpointTag(r)}`;
  return r.status === 'ok' ? name : `${name} (${r.status})`;
}

/** The RTT comparison table: one row per run, µs. */
export function rttTable(runs: RunRecord[]): string {
  const rows = runs.map((r) => {
    const s = rttSummaryOf(r);
    return [
      r.status === 'ok' ? runName(r) : `${runName(r)} (${r.status})`,
      String(r.samples),
      String(r.lost),
      us(s?.min),
      us(s?.mean),
      us(s?.p50),
      us(s?.p90),
      us(s?.p99),
      us(s?.p999),
      us(s?.max),
      us(s?.stddev),
      r.id,
    ];
  });
  const header = ['datapath', 'samples', 'lost', 'min', 'mean', 'p50', 'p90', 'p99', 'p99.9', 'max', 'stddev', 'run'];
  return `UDP round-trip time, µs\n${renderTable(header, rows, [0, 11])}`;
}

/** TCP transactions: latency per transaction (µs) and transactions per second. */
export function rrTable(runs: RunRecord[]): string {
  const rows = runs.map((r) => {
    const s = rttSummaryOf(r);
    const t = rrSummaryOf(r);
    const e = r.engine && 'response_size' in r.engine ? r.engine : null;
    return [
      r.status === 'ok' ? runName(r) : `${runName(r)} (${r.status})`,
      r.workload,
      t ? String(t.flows) : '–',
      e ? `${e.size}/${e.response_size}` : '–',
      String(r.samples),
      String(r.lost),
      typeof t?.transactions_per_s === 'number' ? Math.round(t.transactions_per_s).toString() : '–',
      us(s?.p50),
      us(s?.p90),
      us(s?.p99),
      us(s?.p999),
      us(s?.max),
      r.id,
    ];
  });
  const header = [
    'datapath',
    'mode',
    'flows',
    'req/resp B',
    'transactions',
    'failed',
    'per s',
    'p50',
    'p90',
    'p99',
    'p99.9',
    'max',
    'run',
  ];
  return (
    `TCP transactions: latency per transaction, µs (crr: connect to close), and transactions per ` +
    `second\n${renderTable(header, rows, [0, 1, 12])}`
  );
}

const kpps = (x: number | null | undefined) => (typeof x === 'number' ? (x / 1000).toFixed(1) : '–');

const gbps = (x: number | null | undefined) => (typeof x === 'number' ? x.toFixed(3) : '–');

/**
 * The throughput tables: steady-state means of the receiver (and the sender's offered rate). UDP in
 * packets per second; TCP, a byte stream, in Gbit/s of bytes read (its "messages" are only writes).
 */
export function streamTable(runs: RunRecord[]): string {
  const isTcp = (r: RunRecord) => streamSummaryOf(r)?.api === 'tcp';
  const udp = runs.filter((r) => !isTcp(r));
  const tcp = runs.filter(isTcp);
  const parts: string[] = [];
  if (udp.length) {
    const rows = udp.map((r) => {
      const s = streamSummaryOf(r);
      return [
        label(r),
        s?.api ?? '–',
        s ? String(s.size) : '–',
        s ? String(s.burst) : '–',
        s ? (s.offered_pps ? kpps(s.offered_pps) : 'max') : '–',
        kpps(s?.tx_pps),
        s && s.rx_pps !== null ? `${kpps(s.rx_pps)} ± ${kpps(s.rx_pps_stddev)}` : '–',
        gbps(s?.rx_gbps),
        s ? `${(s.loss_ratio * 100).toFixed(2)}` : '–',
        s ? String(s.seconds) : '–',
        r.id,
      ];
    });
    const header = [
      'datapath',
      'api',
      'size',
      'burst',
      'offered kpps',
      'tx kpps',
      'rx kpps',
      'rx Gbit/s',
      'loss %',
      'seconds',
      'run',
    ];
    parts.push(
      `Throughput, steady-state means per second (rx ± stddev); Gbit/s of UDP ` +
        `payload\n${renderTable(header, rows, [0, 1, 10])}`,
    );
  }
  if (tcp.length) {
    const rows = tcp.map((r) => {
      const s = streamSummaryOf(r)!;
      return [
        label(r),
        String(s.size),
        String(s.flows),
        gbps(s.tx_gbps),
        s.rx_gbps !== null ? `${gbps(s.rx_gbps)} ± ${gbps(s.rx_gbps_stddev)}` : '–',
        String(s.seconds),
        r.id,
      ];
    });
    parts.push(
      `TCP throughput, Gbit/s of bytes written and read, steady-state means per second (rx ± ` +
        `stddev)\n${renderTable(
          ['datapath', 'write B', 'flows', 'tx Gbit/s', 'rx Gbit/s', 'seconds', 'run'],
          rows,
          [0, 6],
        )}`,
    );
  }
  return parts.join('\n\n');
}

export function sweepSummaryOf(r: RunRecord): SweepSummary | null {
  return r.workload === 'sweep' ? r.summary : null;
}

/** Received vs offered rate, one row per point, and each sweep's maximum sustained rate. */
export function sweepTable(runs: RunRecord[]): string {
  const rows: string[][] = [];
  const maxima: string[] = [];
  for (const r of runs) {
    const s = sweepSummaryOf(r);
    if (!s) {
      rows.push([label(r), '–', '–', '–', '–', '–', '–', r.id]);
      continue;
    }
    // Stored before sender-limited points were judged: unknown, not "no".
    const limited = (pt: (typeof s.points)[number]) =>
      pt.sender_limited === undefined || pt.sender_limited === null ? '–' : pt.sender_limited ? 'yes' : 'no';
    for (const pt of s.points)
      rows.push([
        label(r),
        s.api,
        kpps(pt.offered_pps),
        kpps(pt.tx_pps),
        limited(pt),
        kpps(pt.rx_pps),
        (pt.loss_ratio * 100).toFixed(2),
        r.id,
      ]);
    const at = s.max_sustained_offered_pps ? ` received at ${kpps(s.max_sustained_offered_pps)} kpps offered` : '';
    maxima.push(
      `${r.datapath} ` +
        `${s.api}: max sustained ` +
        `${
          s.max_sustained_pps === null
            ? 'none (no rate the sender reached lost less)'
            : `${kpps(s.max_sustained_pps)} kpps${at}`
        } (loss < ` +
        `${s.loss_threshold * 100} ` +
        `%${s.sender_limit !== undefined ? `, sender within ${s.sender_limit * 100} % of the offered rate` : ''})`,
    );
  }
  return (
    `Rate sweep: received vs offered (kpps); a sender-limited point never sent the rate offered and is ` +
    `never "sustained"\n` +
    `${renderTable(
      ['datapath', 'api', 'offered', 'sent', 'sender-limited', 'received', 'loss %', 'run'],
      rows,
      [0, 1, 4, 7],
    )}\n${maxima.join('\n')}`
  );
}

/** Tables for a mixed list of runs: one per workload, in the order the runs came. */
export function resultsTables(runs: RunRecord[]): string {
  const of = (w: string) => runs.filter((r) => r.workload === w);
  const parts = [
    of('rtt').length ? rttTable(of('rtt')) : null,
    of('stream').length ? streamTable(of('stream')) : null,
    of('sweep').length ? sweepTable(of('sweep')) : null,
    of('load').length ? loadTable(of('load')) : null,
    runs.some((r) => r.workload === 'rr' || r.workload === 'crr')
      ? rrTable(runs.filter((r) => r.workload === 'rr' || r.workload === 'crr'))
      : null,
  ];
  return [...parts, vmNotes(runs), datapathNotes(runs), breakdownTable(runs), whyLines(runs)]
    .filter(Boolean)
    .join('\n\n');
}

/**
 * One result of the `--json` contract: {datapath, params, samples, lost, rtt_ns, run_id, ...}; a stream
 * result carries `stream` (its `rtt_ns` is null). Fields are added over time, never renamed.
 */
export function resultJson(r: RunRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {
    datapath: r.datapath,
    workload: r.workload,
    ip: familyOf(r),
    ...(underlayOf(r) !== null ? { underlay: underlayOf(r) } : {}),
    params: r.params,
    samples: r.samples,
    lost: r.lost,
    rtt_ns: rttSummaryOf(r),
    run_id: r.id,
    status: r.status,
    problem: r.problem,
  };
  if (r.workload === 'stream' || r.workload === 'load') out.stream = streamSummaryOf(r);
  if (r.workload === 'load') {
    const s = r.summary;
    out.load = {
      level: s?.level ?? null,
      timing: s?.timing ?? null,
      worst_kept: worstOf(r).length,
      worst_ns: worstOf(r)
        .slice(0, 10)
        .map(([v]) => v),
      sender_lateness_ns: s?.lateness_ns ?? null,
      placement: s?.placement ?? null,
    };
  }
  if (r.workload === 'sweep') out.sweep = sweepSummaryOf(r);
  const rr = rrSummaryOf(r);
  if (rr) out.transactions_per_s = rr.transactions_per_s;
  // the Service path it went through (stored with the topology): ClusterIP, proxy, N, position
  const service = (r.topology as { service?: unknown } | null)?.service;
  if (service) out.service = service;
  // the datapath's own member (podman: what it ran with, and what netavark put into the host's firewall;
  // the DPDK datapaths: where each poller ran)
  const own = datapathJson(r);
  if (own) out[own[0]] = own[1];
  const vm = vmJson(r);
  if (vm) out.vm = vm;
  // across real hosts: which hosts, and each one's environment (kernel, CPU, NIC)
  const hosts = (r.env as { hosts?: unknown[] } | null)?.hosts;
  if (hosts?.length) out.hosts = hosts;
  return { ...out, ...probesJson(r) };
}
