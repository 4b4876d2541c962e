/**
 * UDP ping-pong RTT (seed 000): a server echoes, a client sends periodic (or back-to-back) packets
 * and keeps one RTT per reply. The first `warmup` round trips (ARP resolution, cold caches) are
 * discarded. Returns the engine's result; statistics are made by the caller.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { EngineProcess } from '../engine-client/supervisor.js';
import {
  parseRawSamples,
  parseStamps,
  rawBlob,
  rttClientArgv,
  rttServerArgv,
  type PaceMode,
  type RttClientResult,
  type RttServerResult,
  type WaitMode,
} from '../engine-client/protocol.js';
import { breakdownRoundTrips, type BreakdownSummary } from '../stats/breakdown.js';
import type { OptionValues } from '../options/options.js';
import { Histogram } from '../stats/histogram.js';
import { summarize } from '../stats/summary.js';
import type { Endpoint, ServicePath, Topology } from '../topology/model.js';
import { parseIntIn } from '../util/units.js';
import { UserError } from '../util/errors.js';
import { notOneOf } from '../util/nearest.js';
import { runClientServer } from './client-server.js';
import { commonParams, commonRecord } from './common.js';
import { destinationOf, serverBindOf, serverPortOf } from './destination.js';
import { macOf } from './stream.js';
import { RAW_MAX_PAYLOAD } from './stream-params.js';
import type { LatencySeries, RttEngineRecord, RttRunSummary } from './results.js';
import { latencyTimelineOf, withoutTimeline } from '../stats/latency-timeline.js';
import type { EngineCommand, Outcome, RunContext, Workload } from './types.js';

export interface RttParams {
  count: number;
  warmup: number;
  intervalNs: number;
  size: number;
  wait: WaitMode;
  /** how the client waits for its next send time: sleep (the CPU may idle) or spin on the clock */
  pace: PaceMode;
  /** [client, server] CPUs; undefined: not pinned */
  cpus?: [number, number];
  rtPrio?: number;
  timeoutNs: number;
  /** give up after this many lost packets in a row (0: never) */
  maxConsecutiveLost: number;
  /** keep every RTT, not only the histogram */
  raw: boolean;
  /**
   * open loop (latency under load): the client sends each probe at its planned time and never waits
   * for replies; a receiver thread matches them by sequence (engine/rtt_openloop.c)
   */
  openLoop?: boolean;
  /** split every RTT into its parts from kernel and user timestamps on both ends */
  breakdown?: boolean;
  /** how the endpoints send and receive: UDP sockets (send) or AF_XDP sockets on their devices (xdp) */
  api?: RttApi;
  /** --api xdp: UMEM frames and ring entries */
  xdp?: { frames?: number; ring?: number };
}

export type RttApi = 'send' | 'xdp';
export const RTT_APIS: readonly RttApi[] = ['send', 'xdp'];

export const RTT_DEFAULTS: RttParams = {
  count: 10000,
  warmup: 1,
  intervalNs: 1_000_000,
  size: 64,
  wait: 'block',
  pace: 'sleep',
  timeoutNs: 200_000_000,
  maxConsecutiveLost: 1000,
  raw: false,
};

export interface RttOutcome {
  client: RttClientResult;
  server: RttServerResult | null;
  /** every RTT in sequence order (-1 = lost), when params.raw */
  raw: BigInt64Array | null;
  /** the round-trip breakdown, when params.breakdown */
  breakdown: BreakdownSummary | null;
  /** what went wrong while still producing a result (server died, deadline), else null */
  problem: string | null;
}

/**
 * How long the client may take: its schedule, plus a second per thousand packets for the round trips
 * themselves, plus room for losses up to the give-up threshold. A run past it is stopped and kept.
 */
export function clientDeadlineMs(p: RttParams): number {
  const total = p.count + p.warmup;
  const scheduleMs = (total * p.intervalNs) / 1e6;
  const lossMs = (Math.min(p.maxConsecutiveLost || total, total) * p.timeoutNs) / 1e6;
  return Math.ceil(scheduleMs + total /* 1 ms of slack per round trip */ + lossMs + 10_000);
}

export interface RttHooks {
  /** called with each engine as it starts, so the caller can stop it on a signal */
  onEngine?: (p: EngineProcess) => void;
  /** a directory for the raw sample file */
  workDir: string;
  /** the Service the client reaches the server through, if any */
  service?: ServicePath;
}

/** Where the engines write their per-packet files for these parameters (none unless asked). */
export function sampleFiles(
  p: RttParams,
  workDir: string,
  tag = `${process.pid}-${Date.now()}`,
): { rawOut?: string; stamps?: { client: string; server: string } } {
  const file = (what: string) => path.join(workDir, `${what}-${tag}.bin`);
  // The breakdown joins the stamps to the RTTs, so it needs the raw samples too.
  return {
    ...(p.raw || p.breakdown ? { rawOut: file('raw') } : {}),
    ...(p.breakdown ? { stamps: { client: file('stamps-client'), server: file('stamps-server') } } : {}),
  };
}

/** The server's engine command line. */
export function rttServerCommand(
  server: Endpoint,
  p: RttParams,
  files: ReturnType<typeof sampleFiles>,
  service?: ServicePath,
): string[] {
  return rttServerArgv({
    bind: serverBindOf(service, server),
    port: serverPortOf(service),
    netns: server.netns,
    cpu: p.cpus?.[1],
    rtPrio: p.rtPrio,
    wait: p.wait,
    ...(files.stamps ? { stamps: { out: files.stamps.server, rows: p.count + p.warmup } } : {}),
    ...(p.api === 'xdp' ? { xdpDev: server.dev, ...(p.xdp ? { xdpSizes: p.xdp } : {}) } : {}),
  });
}

/** The client's engine command line; `port` is the one the server reports, `dstMac` (xdp) its MAC. */
export function rttClientCommand(
  client: Endpoint,
  server: Endpoint,
  port: number,
  p: RttParams,
  files: ReturnType<typeof sampleFiles>,
  dstMac: string | null = null,
  service?: ServicePath,
): string[] {
  const to = destinationOf(service, server, port);
  return rttClientArgv({
    server: to.ip,
    port: to.port,
    count: p.count,
    warmup: p.warmup,
    intervalNs: p.intervalNs,
    timeoutNs: p.timeoutNs,
    size: p.size,
    pace: p.pace,
    maxConsecutiveLost: p.maxConsecutiveLost,
    openLoop: p.openLoop,
    netns: client.netns,
    cpu: p.cpus?.[0],
    rtPrio: p.rtPrio,
    wait: p.wait,
    rawOut: files.rawOut,
    stampsOut: files.stamps?.client,
    ...(p.api === 'xdp'
      ? {
          xdp: { dev: client.dev, dstMac: dstMac ?? `MAC-OF-${server.dev}`, src: client.ip },
          ...(p.xdp ? { xdpSizes: p.xdp } : {}),
        }
      : {}),
  });
}

export async function runRtt(client: Endpoint, server: Endpoint, p: RttParams, hooks: RttHooks): Promise<RttOutcome> {
  const files = sampleFiles(p, hooks.workDir);
  const { rawOut, stamps } = files;
  try {
    const run = await runClientServer({
      server: { role: 'rtt-server', argv: rttServerCommand(server, p, files, hooks.service) },
      client: {
        role: 'rtt-client',
        argv: async (port) =>
          rttClientCommand(client, server, port, p, files, p.api === 'xdp' ? await macOf(server) : null, hooks.service),
      },
      deadlineMs: clientDeadlineMs(p),
      isClientResult: (e): e is RttClientResult => e.event === 'result' && e.role === 'rtt-client',
      isServerResult: (e): e is RttServerResult => e.event === 'result' && e.role === 'rtt-server',
      ...(hooks.onEngine ? { onEngine: hooks.onEngine } : {}),
    });
    const result = run.client;
    let raw: BigInt64Array | null = null;
    if (rawOut) raw = parseRawSamples(readFileSync(rawOut));
    let breakdown: BreakdownSummary | null = null;
    if (stamps && raw && run.server) {
      breakdown = breakdownRoundTrips(
        parseStamps(readFileSync(stamps.client)),
        parseStamps(readFileSync(stamps.server)),
        raw,
        p.warmup,
      );
    }
    const problems = [
      ...run.problems,
      result.aborted === 'peer-unresponsive' ? `gave up after ${p.maxConsecutiveLost} lost packets in a row` : null,
      result.aborted === 'signal' && !run.stoppedEarly ? 'interrupted' : null,
    ].filter((x): x is string => x !== null);
    return {
      client: result,
      server: run.server,
      raw: p.raw ? raw : null,
      breakdown,
      problem: problems.length ? problems.join('; ') : null,
    };
  } finally {
    for (const f of [rawOut, stamps?.client, stamps?.server]) if (f) rmSync(f, { force: true });
  }
}

/** --count, --interval, --warmup (round trips), --timeout, ... over the defaults. */
export function rttParams(v: OptionValues, defaults: RttParams = RTT_DEFAULTS): RttParams {
  const p: RttParams = commonParams(v, defaults);
  if (v.count !== undefined) p.count = v.count;
  if (v.warmup !== undefined)
    p.warmup = parseIntIn(v.warmup, '--warmup (a count of round trips for rtt and load)', 0, 1_000_000);
  if (v.interval !== undefined) p.intervalNs = v.interval;
  if (v.timeout !== undefined) p.timeoutNs = v.timeout;
  if (v['max-consecutive-lost'] !== undefined) p.maxConsecutiveLost = v['max-consecutive-lost'];
  p.raw = v.raw ?? false;
  p.breakdown = v.breakdown ?? false;
  return p;
}

/** One RttParams per API named in --api (send, xdp): the same round trips over each, one run each. */
export function rttPerApi(v: OptionValues, p: RttParams): RttParams[] {
  if (p.xdp && !(v.api ?? '').split(',').includes('xdp'))
    throw new UserError('--xdp-frames and --xdp-ring size the AF_XDP socket: they apply to --api xdp');
  if (v.api === undefined) return [p];
  const apis = v.api.split(',');
  return apis.map((a, i) => {
    if (!RTT_APIS.includes(a as RttApi))
      throw notOneOf(
        '--api (rtt)',
        a,
        RTT_APIS,
        `${RTT_APIS.join(' or ')} (comma-separated; the other APIs are stream workloads')`,
      );
    if (apis.indexOf(a) !== i) throw new UserError(`--api '${a}' named twice`);
    if (a === 'xdp' && p.breakdown)
      throw new UserError("--breakdown needs the sockets' kernel timestamps: not with --api xdp");
    if (a === 'xdp' && p.size > RAW_MAX_PAYLOAD)
      throw new UserError(
        `--size ${p.size}: an AF_XDP frame carries at most ${RAW_MAX_PAYLOAD} bytes of UDP payload (MTU 1500)`,
      );
    return { ...p, api: a as RttApi };
  });
}

export type RttResultOutcome = Outcome<RttRunSummary, RttEngineRecord | { pairs: RttEngineRecord[] }, LatencySeries>;

/** One pair's engine result as a run's parts. */
export function rttOutcomeOf(out: RttOutcome): Outcome<RttRunSummary, RttEngineRecord, LatencySeries> {
  const c = out.client;
  const hist = Histogram.fromEngine(c.hist, { min: c.min_ns, max: c.max_ns });
  const summary = summarize(hist, c.mean_ns === null ? undefined : { mean: c.mean_ns, stddev: c.stddev_ns });
  const { hist: _h, lateness_hist: lh, event: _e, role: _r, ...engine } = withoutTimeline(c);
  const late = lh ? Histogram.fromEngine(lh, { min: 0, max: c.lateness_max_ns ?? 0 }) : null;
  const lateness_ns =
    late && late.total ? { p50: late.valueAtQuantile(0.5), p99: late.valueAtQuantile(0.99), max: late.max } : undefined;
  return {
    problem: out.problem,
    samples: c.received,
    lost: c.lost,
    summary: summary ? { ...summary, cdf: hist.cdf(), ...(lateness_ns ? { lateness_ns } : {}) } : null,
    engine: { ...engine, server_echoed: out.server?.echoed ?? null },
    histogram: hist.encode(),
    raw: out.raw ? rawBlob(out.raw) : null,
    series: { latency: latencyTimelineOf(c) },
    breakdown: out.breakdown,
  };
}

/** RTT through every pair in turn (one pair when there is one); percentiles pooled over all pairs. */
async function runPairs(topo: Topology, p: RttParams, ctx: RunContext): Promise<RttResultOutcome> {
  if (topo.pairs.length === 1)
    return rttOutcomeOf(
      await runRtt(topo.endpoints.client, topo.endpoints.server, p, {
        workDir: ctx.workDir,
        ...(topo.service ? { service: topo.service } : {}),
      }),
    );
  const parts: Array<Outcome<RttRunSummary, RttEngineRecord, LatencySeries>> = [];
  for (const pair of topo.pairs) {
    if (ctx.stop.requested) break;
    parts.push(rttOutcomeOf(await runRtt(pair.client, pair.server, p, { workDir: ctx.workDir })));
  }
  const merged = new Histogram();
  for (const part of parts) if (part.histogram) merged.merge(Histogram.decode(part.histogram));
  const engines = parts.map((part) => part.engine!);
  const received = engines.reduce((a, e) => a + e.received, 0);
  // The pooled mean is exact (weighted by samples); the pooled stddev comes from the merged histogram.
  const mean = received ? engines.reduce((a, e) => a + (e.mean_ns ?? 0) * e.received, 0) / received : NaN;
  const summary = summarize(merged, received ? { mean, stddev: merged.approxStddev() } : undefined);
  const problems = parts.map((part, i) => (part.problem ? `pair ${i}: ${part.problem}` : null)).filter(Boolean);
  if (parts.length < topo.pairs.length)
    problems.push(`interrupted after ${parts.length} of ${topo.pairs.length} pairs`);
  return {
    problem: problems.length ? problems.join('; ') : null,
    samples: parts.reduce((a, part) => a + part.samples, 0),
    lost: parts.reduce((a, part) => a + part.lost, 0),
    summary: summary
      ? {
          ...summary,
          cdf: merged.cdf(),
          pairs: parts.length,
          per_pair_p50_ns: parts.map((part) => part.summary?.p50 ?? null),
        }
      : null,
    engine: { pairs: engines },
    histogram: merged.encode(),
    raw: null,
    // the pairs ran one after another, each on its own clock: one timeline each, the first as the run's
    series: { latency: parts[0]?.series?.latency ?? null, per_pair: parts.map((part) => part.series?.latency ?? null) },
  };
}

/** The parameters of an RTT run as stored and printed in --json. */
export function rttRecord(p: RttParams): Record<string, unknown> {
  return {
    count: p.count,
    warmup: p.warmup,
    interval_ns: p.intervalNs,
    ...commonRecord(p),
    timeout_ns: p.timeoutNs,
    max_consecutive_lost: p.maxConsecutiveLost,
    raw: p.raw,
    breakdown: p.breakdown ?? false,
    api: p.api ?? 'send',
  };
}

/** The probe's command lines (server, then client), as a run of `p` through `topo`'s first pair runs them. */
export function rttCommands(topo: Topology, p: RttParams, workDir: string): EngineCommand[] {
  const { client, server } = topo.endpoints;
  const files = sampleFiles(p, workDir, 'PID-TIME');
  return [
    { argv: rttServerCommand(server, p, files, topo.service) },
    {
      argv: rttClientCommand(client, server, 0, p, files, null, topo.service),
      ...(topo.service ? {} : { note: 'port: the one the server reports' }),
    },
  ];
}

export const rttWorkload: Workload<RttParams, RttResultOutcome> = {
  name: 'rtt',
  description: 'UDP ping-pong round-trip time (seed 000)',
  parse: (v) => rttPerApi(v, rttParams(v)),
  pairsNeeded: () => 1,
  serviceUnsupported: (p, s) =>
    p.api === 'xdp'
      ? "--api xdp sends frames addressed to the server itself, past the Service's ClusterIP"
      : s.endpoints.length > 1
        ? '--endpoints-per-service > 1 with rtt: the UDP server answers from its first address, not the ' +
          'endpoint the rules chose, so conntrack cannot un-NAT the reply; use rr or crr (TCP), or one endpoint'
        : null,
  // AF_XDP frames are addressed to the server's MAC, as raw ones are
  rawApi: (p) => (p.api === 'xdp' ? 'xdp' : null),
  cpus: (p) => p.cpus,
  expectedPackets: (p) => 2 * (p.count + p.warmup),
  describe: (p) => `measuring ${p.count} round trips${p.api === 'xdp' ? ' over AF_XDP' : ''}`,
  footer: (p) =>
    `${p.count} round ` +
    `trip${p.count === 1 ? '' : 's'} each, ` +
    `${
      p.intervalNs ? `every ${p.intervalNs / 1e6} ms` : 'back to back'
    }, ${p.size} B UDP payload, wait ${p.wait}, pace ${p.pace}, first ${p.warmup} discarded`,
  record: rttRecord,
  commands: rttCommands,
  run: runPairs,
};
