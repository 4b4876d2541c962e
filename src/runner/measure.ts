/**
 * Measures one case — a datapath and a workload — : plan → build (journaled) → run the engines →
 * tear down, always, also on error and on a signal → a run record. The caller stores and reports it.
 */
import path from 'node:path';
import { checkDatapathOptions, getDatapath } from '../datapaths/registry.js';
import type { PlanContext } from '../datapaths/types.js';
import { readDropCounters } from '../host/counters.js';
import { HostExecutor, type TeardownReport } from '../host/executor.js';
import { Journal } from '../host/journal.js';
import { waitReady } from '../host/ready.js';
import { attachCni } from '../cni/attach.js';
import { stepsFor } from '../host/steps.js';
import { stateDir } from '../paths.js';
import { Histogram } from '../stats/histogram.js';
import { aggregateSeries, steadyState } from '../stats/series.js';
import { summarize } from '../stats/summary.js';
import type { RunRecord } from '../store/db.js';
import { assertValidTopology, type Topology } from '../topology/model.js';
import { UserError, errorMessage } from '../util/errors.js';
import { newRunId } from '../util/ids.js';
import { runRtt, type RttParams } from '../workloads/rtt.js';
import { runStream, type StreamOutcome, type StreamParams } from '../workloads/stream.js';
import { runLoadLatency, type LoadParams } from '../workloads/load.js';
import type { RttOutcome } from '../workloads/rtt.js';
import type { DropCounters } from '../host/counters.js';
import type { Environment } from '../env/environment.js';
import type { StopState } from './signals.js';
import { ProbeSession, type ProbeReport } from '../probes/session.js';
import type { BreakdownSummary } from '../stats/breakdown.js';

/** A rate sweep: one stream per offered rate through the same datapath (seed 001, Figure 2). */
export interface SweepParams extends StreamParams {
  rates: number[];
  /** the highest offered rate whose loss stays under this is the maximum sustained rate */
  lossThreshold: number;
}

export type Job =
  | { workload: 'rtt'; params: RttParams }
  | { workload: 'stream'; params: StreamParams }
  | { workload: 'sweep'; params: SweepParams }
  | { workload: 'load'; params: LoadParams };

export interface MeasureContext {
  batchId: string;
  /** run the tracepoint probes (tracefs) alongside the always-on counters */
  trace?: boolean;
  datapathOptions?: DatapathOptions;
  env: Environment;
  stop: StopState;
  progress: (msg: string) => void;
}

export interface Measured {
  record: RunRecord;
  teardown: TeardownReport;
}

/** What a workload contributes to a run record. */
type Outcome = Pick<RunRecord, 'samples' | 'lost' | 'summary' | 'engine' | 'histogram' | 'raw' | 'series'> & { problem: string | null; breakdown?: BreakdownSummary | null };

/** Builds the topology, returning the executor whose teardown undoes it (also after a failure). */
export async function buildTopology(topo: Topology, kind: 'run' | 'topo'): Promise<HostExecutor> {
  const journal = Journal.create(stateDir(), { runId: topo.runId, kind, datapath: topo.datapath });
  const host = new HostExecutor(journal);
  try {
    await host.apply(stepsFor(topo));
    if (topo.cni) await attachCni(topo, path.join(stateDir(), `cnp${topo.runId}`), journal);
    await waitReady(topo);
  } catch (e) {
    await host.teardown();
    throw e;
  }
  return host;
}

/** Datapath options from the command line (everything a plan takes but the run id). */
export type DatapathOptions = Omit<PlanContext, 'runId'>;

/** Kernel answers that mean "this kernel lacks a feature", turned into what the user needs to know. */
const MISSING_FEATURES: Array<[RegExp, string]> = [
  [/type ipvlan.*Unknown device type/s, 'this kernel has no ipvlan (CONFIG_IPVLAN is not built or its module cannot be loaded)'],
  [/plugin 'ipvlan' failed.*failed to create ipvlan: operation not supported/s, 'this kernel has no ipvlan (CONFIG_IPVLAN), which the CNI ipvlan plugin needs'],
  [/type macvlan.*Unknown device type/s, 'this kernel has no macvlan (CONFIG_MACVLAN)'],
  [/type vxlan.*Unknown device type/s, 'this kernel has no VXLAN (CONFIG_VXLAN)'],
  [/type macvlan mode passthru.*Invalid argument/s, 'macvlan passthru needs a lower device that supports it (a physical NIC); the simulated node\'s veth NIC does not'],
];

/** Tools a datapath may need, and the Debian package that provides each. */
const PACKAGES: Record<string, string> = {
  'ovsdb-tool': 'openvswitch-switch',
  'ovsdb-server': 'openvswitch-switch',
  'ovs-vswitchd': 'openvswitch-switch',
  'ovs-vsctl': 'openvswitch-switch',
  nft: 'nftables',
  'iptables-restore': 'iptables',
  ethtool: 'ethtool',
  sysctl: 'procps',
};

export function explainBuildFailure(message: string): string {
  for (const [re, meaning] of MISSING_FEATURES) if (re.test(message)) return `${meaning} — ${message}`;
  const missing = /: (\S+) not found on PATH/.exec(message)?.[1] ?? /exec of "([^"]+)" failed: No such file/.exec(message)?.[1];
  if (missing && PACKAGES[missing]) return `${missing} is not installed (Debian package ${PACKAGES[missing]}; scripts/setup.sh installs it) — ${message}`;
  return message;
}

export function planDatapath(name: string, runId = newRunId(), pairs = 1, options: DatapathOptions = {}): Topology {
  const d = getDatapath(name);
  // Without --placement, a datapath that only crosses nodes (vxlan) crosses nodes: `quick veth vxlan` works.
  const placement = options.placement ?? (d.placements.includes('same-node') ? 'same-node' : d.placements[0]);
  const ctx: PlanContext = { ...options, placement, runId, pairs: Math.max(pairs, options.pairs ?? 1), runDir: path.join(stateDir(), `cnp${runId}`) };
  checkDatapathOptions(d, ctx);
  const t = d.plan(ctx);
  // --mtu: every link the datapath creates, unless its plan applies it itself (vxlan: the underlay).
  if (options.mtu && !d.plansMtu) for (const l of t.links) l.mtu = options.mtu;
  if (options.fabric && !t.fabric) {
    throw new UserError(`--fabric applies to datapaths with simulated nodes (routed, macvlan, ipvlan, vxlan, bridge --placement cross-node), not ${name}${ctx.placement === 'cross-node' ? '' : ' on one node'}`);
  }
  if (options.offload) t.offload = { ...t.offload, ...options.offload };
  if (options.rps) t.rps = options.rps;
  if (options.xps) t.xps = options.xps;
  return assertValidTopology(t);
}

export async function measure(datapath: string, job: Job, ctx: MeasureContext): Promise<Measured> {
  const topo = planDatapath(datapath, undefined, job.workload === 'stream' ? job.params.flows : 1, ctx.datapathOptions);
  const base = {
    id: topo.runId,
    batch_id: ctx.batchId,
    created_at: new Date().toISOString(),
    datapath,
    workload: job.workload,
    params: { ...paramsRecord(job), ...(ctx.datapathOptions && Object.keys(ctx.datapathOptions).length ? { datapath: ctx.datapathOptions } : {}) },
    topology: topo,
    env: ctx.env as unknown as Record<string, unknown>,
  };
  const failed = (problem: string, teardown: TeardownReport): Measured => ({
    record: { ...base, status: 'failed', problem, samples: 0, lost: 0, summary: null, engine: null, histogram: null, raw: null, series: null },
    teardown,
  });
  ctx.progress(`${datapath}: building ${topo.summary}`);
  let host: HostExecutor;
  try {
    host = await buildTopology(topo, 'run');
  } catch (e) {
    // The kernel refused something (a missing feature, a fault): this case fails, others may run.
    return failed(`building the datapath failed: ${explainBuildFailure(errorMessage(e))}`, { removed: [], alreadyGone: [], failed: [] });
  }
  let outcome: Outcome | null = null;
  let probes: ProbeReport | null = null;
  let error: unknown = null;
  let session: ProbeSession | null = null;
  try {
    if (!ctx.stop.requested) {
      session = await ProbeSession.start({ topo, cpus: cpusOf(job), trace: ctx.trace ?? false, expectedPackets: expectedPackets(job), journal: host.journal, runDir: path.join(stateDir(), `cnp${topo.runId}`) });
      ctx.progress(`${datapath}: ${describeJob(job)} (run ${topo.runId})`);
      outcome =
        job.workload === 'rtt'
          ? await rttOutcome(topo, job.params, ctx.stop)
          : job.workload === 'stream'
            ? await streamOutcome(topo, job.params)
            : job.workload === 'sweep'
              ? await sweepOutcome(topo, job.params, (msg) => ctx.progress(`${datapath}: ${msg}`), ctx.stop)
              : await loadOutcome(topo, job.params);
      probes = await session.stop();
      session = null;
    }
  } catch (e) {
    error = e;
  } finally {
    session?.abort();
  }
  // Teardown before anything else can fail.
  const teardown = await host.teardown();
  if (teardown.failed.length) {
    const what = teardown.failed.map((f) => `${f.what}: ${f.error}`).join('; ');
    ctx.progress(`${datapath}: teardown could not remove: ${what} — 'cnperf clean' retries`);
  }
  if (!outcome) return failed(error ? errorMessage(error) : 'interrupted before measuring', teardown);
  const { problem, breakdown, ...rest } = outcome;
  const why = probes || breakdown ? { ...(probes ?? {}), ...(breakdown ? { breakdown } : {}) } : null;
  return { record: { ...base, status: problem ? 'partial' : 'ok', problem, ...rest, probes: why }, teardown };
}

/** The CPUs the engines are pinned to, for the probes' per-endpoint CPU split. */
function cpusOf(job: Job): [number, number] | undefined {
  return job.workload === 'load' ? job.params.probe.cpus : job.params.cpus;
}

/** Roughly how many packets a job carries (sizes the trace buffers; never a limit). */
export function expectedPackets(job: Job): number {
  if (job.workload === 'rtt') return 2 * (job.params.count + job.params.warmup);
  const streamPackets = (p: StreamParams) => ((p.ratePps || 1_000_000) * p.durationNs * p.flows) / 1e9;
  if (job.workload === 'load') {
    const { probe, settleNs, stream } = job.params;
    return 2 * (probe.count + probe.warmup) + streamPackets({ ...stream, durationNs: settleNs + (probe.count + probe.warmup) * probe.intervalNs });
  }
  if (job.workload === 'sweep') return job.params.rates.reduce((a, r) => a + streamPackets({ ...job.params, ratePps: r }), 0);
  return streamPackets(job.params);
}

function describeJob(job: Job): string {
  if (job.workload === 'rtt') return `measuring ${job.params.count} round trips`;
  if (job.workload === 'load') {
    const l = job.params;
    return `probing RTT (${l.probe.count} packets every ${l.probe.intervalNs / 1e6} ms) under a ${l.stream.api} load at ${l.stream.ratePps ? `${l.stream.ratePps} pps` : 'full speed'}`;
  }
  if (job.workload === 'sweep') return `sweeping ${job.params.api} over ${job.params.rates.length} offered rates, ${job.params.durationNs / 1e9} s each`;
  const p = job.params;
  return `streaming ${p.api}, ${p.size} B, burst ${p.burst}, ${p.ratePps ? `${p.ratePps} pps` : 'as fast as possible'}, for ${p.durationNs / 1e9} s`;
}

/** RTT through every pair in turn (one pair when there is one); percentiles pooled over all pairs. */
async function rttOutcome(topo: Topology, params: RttParams, stop?: StopState): Promise<Outcome> {
  if (topo.pairs.length === 1) return rttParts(await runRtt(topo.endpoints.client, topo.endpoints.server, params, { workDir: stateDir() }));
  const parts: Outcome[] = [];
  for (const pair of topo.pairs) {
    if (stop?.requested) break;
    parts.push(rttParts(await runRtt(pair.client, pair.server, params, { workDir: stateDir() })));
  }
  const merged = new Histogram();
  for (const p of parts) if (p.histogram) merged.merge(Histogram.decode(p.histogram));
  const engines = parts.map((p) => p.engine as { mean_ns: number | null; received: number });
  const received = engines.reduce((a, e) => a + e.received, 0);
  // The pooled mean is exact (weighted by samples); the pooled stddev comes from the merged histogram.
  const mean = received ? engines.reduce((a, e) => a + (e.mean_ns ?? 0) * e.received, 0) / received : NaN;
  const summary = summarize(merged, received ? { mean, stddev: merged.approxStddev() } : undefined);
  const problems = parts.map((p, i) => (p.problem ? `pair ${i}: ${p.problem}` : null)).filter(Boolean);
  if (parts.length < topo.pairs.length) problems.push(`interrupted after ${parts.length} of ${topo.pairs.length} pairs`);
  return {
    problem: problems.length ? problems.join('; ') : null,
    samples: parts.reduce((a, p) => a + p.samples, 0),
    lost: parts.reduce((a, p) => a + p.lost, 0),
    summary: summary ? { ...summary, cdf: merged.cdf(), pairs: parts.length, per_pair_p50_ns: parts.map((p) => (p.summary as { p50?: number } | null)?.p50 ?? null) } : null,
    engine: { pairs: engines },
    histogram: merged.encode(),
    raw: null,
    series: null,
  };
}

function rttParts(out: RttOutcome): Outcome {
  const c = out.client;
  const hist = Histogram.fromEngine(c.hist, { min: c.min_ns, max: c.max_ns });
  const summary = summarize(hist, c.mean_ns === null ? undefined : { mean: c.mean_ns, stddev: c.stddev_ns });
  const { hist: _h, event: _e, role: _r, ...engine } = c;
  return {
    problem: out.problem,
    samples: c.received,
    lost: c.lost,
    summary: summary ? { ...summary, cdf: hist.cdf() } : null,
    engine: { ...engine, server_echoed: out.server?.echoed ?? null },
    histogram: hist.encode(),
    raw: out.raw ? Buffer.from(out.raw.buffer) : null,
    series: null,
    breakdown: out.breakdown,
  };
}

/** The `stream` object of the JSON contract: steady-state means, plus what explains them. */
export interface StreamSummary {
  api: string;
  size: number;
  burst: number;
  flows: number;
  offered_pps: number;
  tx_pps: number | null;
  rx_pps: number | null;
  rx_pps_stddev: number | null;
  rx_gbps: number | null;
  loss_ratio: number;
  seconds: number;
  /** drops the receiving socket reported (receive buffer full: SO_RXQ_OVFL) */
  rx_socket_drops: number;
  /** drops counted by the datapath's devices during the run (e.g. a veth's full backlog) */
  path_drops: number;
  /** drops in the per-CPU input backlog during the run (host-wide counter) */
  backlog_drops: number;
  rx_call: string;
  /** with several flows: each flow's steady-state rates */
  per_flow?: Array<{ tx_pps: number | null; rx_pps: number | null; loss_ratio: number }>;
}

function checkRaw(topo: Topology, p: Pick<StreamParams, 'api'>): void {
  if ((p.api === 'raw' || p.api === 'raw-mmsg') && topo.rawUnsupported) throw new Error(`--api ${p.api}: ${topo.rawUnsupported}`);
}

async function streamOutcome(topo: Topology, p: StreamParams): Promise<Outcome> {
  checkRaw(topo, p);
  const before = await readDropCounters(topo);
  // One sender/receiver pair per flow, all at once.
  const flows = await Promise.all(topo.pairs.slice(0, p.flows).map((pair) => runStream(pair.client, pair.server, p)));
  return streamParts(p, flows, before, await readDropCounters(topo));
}

const stripEvent = <T extends { event: unknown; role: unknown }>({ event: _e, role: _r, ...rest }: T) => rest;

/** What a flow sent and what arrived: bytes for TCP (a stream has no datagrams), datagrams for UDP. */
function sentAndReceived(api: StreamParams['api'], o: StreamOutcome): [number, number] {
  return api === 'tcp' ? [o.tx.bytes, o.rx.bytes] : [o.tx.packets, o.rx.packets];
}

const lossRatio = ([sent, got]: [number, number]) => (sent > 0 ? Math.max(0, (sent - got) / sent) : 0);

function streamParts(p: Omit<StreamParams, 'durationNs'>, outs: StreamOutcome[], before: DropCounters, after: DropCounters): Outcome {
  // One aggregate series per direction serves both the means and the stored series.
  const txSeries = aggregateSeries(outs.map((o) => o.txSeries.map(stripEvent)));
  const rxSeries = aggregateSeries(outs.map((o) => o.rxSeries.map(stripEvent)));
  const tx = steadyState(txSeries, p.warmupNs);
  const rx = steadyState(rxSeries, p.warmupNs);
  const totals = outs.map((o) => sentAndReceived(p.api, o)).reduce(([s, g], [s2, g2]) => [s + s2, g + g2] as [number, number], [0, 0] as [number, number]);
  const out = outs[0]!;
  const round = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));
  const summary: StreamSummary = {
    api: p.api,
    size: p.size,
    burst: p.burst,
    flows: outs.length,
    offered_pps: p.ratePps,
    tx_pps: round(tx?.pps),
    rx_pps: round(rx?.pps),
    rx_pps_stddev: round(rx?.pps_stddev),
    rx_gbps: round(rx?.gbps, 4),
    loss_ratio: lossRatio(totals),
    seconds: rx?.seconds ?? 0,
    rx_socket_drops: outs.reduce((a, o) => a + o.rx.socket_drops, 0),
    path_drops: after.devices - before.devices,
    backlog_drops: after.backlog - before.backlog,
    rx_call: out.rx.call,
  };
  if (outs.length > 1) {
    summary.per_flow = outs.map((o) => ({
      tx_pps: round(steadyState(o.txSeries, p.warmupNs)?.pps),
      rx_pps: round(steadyState(o.rxSeries, p.warmupNs)?.pps),
      loss_ratio: lossRatio(sentAndReceived(p.api, o)),
    }));
  }
  const noSteady = !rx ? `no steady-state second: make --duration longer than --warmup + 1s` : null;
  const problems = outs.map((o, i) => (o.problem ? (outs.length > 1 ? `flow ${i}: ${o.problem}` : o.problem) : null));
  return {
    problem: [...problems, noSteady].filter(Boolean).join('; ') || null,
    samples: rx?.seconds ?? 0,
    lost: Math.max(0, totals[0] - totals[1]),
    summary: summary as unknown as Record<string, unknown>,
    engine: { tx: stripEvent(out.tx), rx: stripEvent(out.rx), flows: outs.map((o) => ({ tx: stripEvent(o.tx), rx: stripEvent(o.rx) })) },
    histogram: null,
    raw: null,
    series: {
      tx: txSeries,
      rx: rxSeries,
      ...(outs.length > 1 ? { per_flow: outs.map((o) => ({ tx: o.txSeries.map(stripEvent), rx: o.rxSeries.map(stripEvent) })) } : {}),
    },
  };
}

/** The probe's RTT (from planned send times) and the load's throughput, in one record. */
async function loadOutcome(topo: Topology, p: LoadParams): Promise<Outcome> {
  checkRaw(topo, p.stream);
  const before = await readDropCounters(topo);
  const out = await runLoadLatency(topo.endpoints.client, topo.endpoints.server, p, stateDir());
  const after = await readDropCounters(topo);
  const probe = rttParts(out.probe);
  const load = streamParts(p.stream, [out.stream], before, after);
  return {
    problem: [out.problem, load.problem].filter(Boolean).join('; ') || null,
    samples: probe.samples,
    lost: probe.lost,
    summary: { ...probe.summary, stream: load.summary, worst: out.worst, timing: 'planned' },
    engine: { probe: probe.engine, load: load.engine },
    histogram: probe.histogram,
    raw: probe.raw,
    series: load.series,
  };
}

export interface SweepPoint {
  offered_pps: number;
  tx_pps: number | null;
  rx_pps: number | null;
  loss_ratio: number;
}

/** The `sweep` object of the JSON contract. */
export interface SweepSummary {
  api: string;
  size: number;
  burst: number;
  flows: number;
  loss_threshold: number;
  points: SweepPoint[];
  /** the highest offered rate whose loss stayed under the threshold; null if none did */
  max_sustained_pps: number | null;
}

export function maxSustained(points: readonly SweepPoint[], threshold: number): number | null {
  const ok = points.filter((p) => p.rx_pps !== null && p.loss_ratio < threshold).map((p) => p.offered_pps);
  return ok.length ? Math.max(...ok) : null;
}

async function sweepOutcome(topo: Topology, p: SweepParams, progress: (m: string) => void, stop: StopState): Promise<Outcome> {
  const points: SweepPoint[] = [];
  const series: unknown[] = [];
  let lost = 0;
  const problems: string[] = [];
  for (const rate of p.rates) {
    if (stop.requested) {
      problems.push('interrupted');
      break;
    }
    const point = await streamOutcome(topo, { ...p, ratePps: rate });
    const s = point.summary as unknown as StreamSummary;
    points.push({ offered_pps: rate, tx_pps: s.tx_pps, rx_pps: s.rx_pps, loss_ratio: s.loss_ratio });
    series.push({ offered_pps: rate, ...(point.series as object) });
    lost += point.lost;
    if (point.problem) problems.push(`at ${rate} pps: ${point.problem}`);
    progress(`offered ${(rate / 1000).toFixed(1)} kpps → received ${s.rx_pps === null ? '–' : (s.rx_pps / 1000).toFixed(1)} kpps, loss ${(s.loss_ratio * 100).toFixed(2)} %`);
  }
  const summary: SweepSummary = { api: p.api, size: p.size, burst: p.burst, flows: 1, loss_threshold: p.lossThreshold, points, max_sustained_pps: maxSustained(points, p.lossThreshold) };
  return {
    problem: problems.length ? problems.join('; ') : null,
    samples: points.length,
    lost,
    summary: summary as unknown as Record<string, unknown>,
    engine: null,
    histogram: null,
    raw: null,
    series,
  };
}

/** The parameters of a run as stored and as printed in `--json` (snake_case, units in names). */
export function paramsRecord(job: Job): Record<string, unknown> {
  if (job.workload === 'rtt') {
    const p = job.params;
    return {
      count: p.count,
      warmup: p.warmup,
      interval_ns: p.intervalNs,
      size: p.size,
      wait: p.wait,
      pace: p.pace,
      cpus: p.cpus ?? null,
      rt_prio: p.rtPrio ?? 0,
      timeout_ns: p.timeoutNs,
      max_consecutive_lost: p.maxConsecutiveLost,
      raw: p.raw,
      breakdown: p.breakdown ?? false,
    };
  }
  if (job.workload === 'load') {
    const l = job.params;
    return {
      probe: paramsRecord({ workload: 'rtt', params: l.probe }),
      load: paramsRecord({ workload: 'stream', params: { ...l.stream, durationNs: 0 } }),
      settle_ns: l.settleNs,
      keep_worst: l.keepWorst,
    };
  }
  const p = job.params;
  const sweep = job.workload === 'sweep' ? { rates_pps: job.params.rates, loss_threshold: job.params.lossThreshold } : {};
  return {
    ...sweep,
    api: p.api,
    size: p.size,
    burst: p.burst,
    rate_pps: p.ratePps,
    duration_ns: p.durationNs,
    warmup_ns: p.warmupNs,
    pace: p.pace,
    wait: p.wait,
    cpus: p.cpus ?? null,
    rt_prio: p.rtPrio ?? 0,
    qdisc_bypass: p.qdiscBypass,
    flows: p.flows,
    rcvbuf: p.rcvbuf ?? null,
  };
}
