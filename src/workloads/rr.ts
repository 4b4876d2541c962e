/**
 * TCP transactions, what Kubernetes users measure with netperf and k8s-netperf: `rr` (TCP_RR) sends
 * a request of --size bytes over a persistent connection and waits for --response-size bytes back;
 * `crr` (TCP_CRR) connects, sends, receives and closes for every transaction, so the handshake, NAT
 * and conntrack's new-connection work are in every latency. --flows connections run at once, each with
 * one transaction in flight (engine/tcp_rr.c). Latency per transaction in the `rtt_ns` shape, and
 * transactions per second.
 */
import {
  rrClientArgv,
  rrServerArgv,
  type RrClientResult,
  type RrServerResult,
  type WaitMode,
} from '../engine-client/protocol.js';
import type { OptionValues } from '../options/options.js';
import { Histogram } from '../stats/histogram.js';
import { summarize } from '../stats/summary.js';
import type { Endpoint, Topology } from '../topology/model.js';
import { parseIntIn } from '../util/units.js';
import { runClientServer } from './client-server.js';
import { commonParams } from './common.js';
import { destinationOf, serverBindOf, serverPortOf } from './destination.js';
import type { LatencySeries, RrEngineRecord, RrSummary } from './results.js';
import { latencyTimelineOf, withoutTimeline } from '../stats/latency-timeline.js';
import type { EngineCommand, Outcome, RunContext, Workload } from './types.js';

export type RrMode = 'rr' | 'crr';

export interface RrParams {
  mode: RrMode;
  count: number;
  warmup: number;
  /** per flow; 0: back to back */
  intervalNs: number;
  size: number;
  responseSize: number;
  flows: number;
  wait: WaitMode;
  cpus?: [number, number];
  rtPrio?: number;
  timeoutNs: number;
  maxConsecutiveLost: number;
}

const DEFAULTS: Omit<RrParams, 'mode'> = {
  count: 10000,
  warmup: 1,
  intervalNs: 0,
  size: 1,
  responseSize: 1,
  flows: 1,
  wait: 'block',
  timeoutNs: 1_000_000_000,
  maxConsecutiveLost: 1000,
};

export function rrParams(mode: RrMode, v: OptionValues): RrParams {
  // netperf's TCP_RR and TCP_CRR defaults: 1-byte request and response, back to back
  // the shared options (size, wait, cpus, rt-prio); a transaction has no send pacing of its own
  const { pace: _pace, ...common } = commonParams(v, { ...DEFAULTS, pace: 'sleep' as const }, 1);
  const p: RrParams = { ...common, mode };
  if (v.count !== undefined) p.count = v.count;
  if (v.warmup !== undefined)
    p.warmup = parseIntIn(v.warmup, `--warmup (a count of transactions for ${mode})`, 0, 1_000_000);
  if (v.interval !== undefined) p.intervalNs = v.interval;
  if (v.timeout !== undefined) p.timeoutNs = v.timeout;
  if (v['max-consecutive-lost'] !== undefined) p.maxConsecutiveLost = v['max-consecutive-lost'];
  if (v.flows !== undefined) p.flows = v.flows;
  p.responseSize = v['response-size'] ?? (v.size !== undefined ? p.size : DEFAULTS.responseSize);
  return p;
}

/** How long the client may take: its schedule, a generous 10 ms per transaction and flow, and the losses it may wait
 * out. */
export function rrDeadlineMs(p: RrParams): number {
  const total = p.count + p.warmup;
  const perFlow = Math.ceil(total / p.flows);
  const lossMs = (Math.min(p.maxConsecutiveLost || total, total) * p.timeoutNs) / 1e6;
  return Math.ceil((perFlow * p.intervalNs) / 1e6 + total * 10 + lossMs + 10_000);
}

export function rrServerCommand(topo: Topology, server: Endpoint, p: RrParams): string[] {
  return rrServerArgv({
    bind: serverBindOf(topo.service, server),
    port: serverPortOf(topo.service),
    size: p.size,
    responseSize: p.responseSize,
    netns: server.netns,
    cpu: p.cpus?.[1],
    rtPrio: p.rtPrio,
    wait: p.wait,
  });
}

export function rrClientCommand(
  topo: Topology,
  client: Endpoint,
  server: Endpoint,
  port: number,
  p: RrParams,
): string[] {
  const to = destinationOf(topo.service, server, port);
  return rrClientArgv({
    server: to.ip,
    port: to.port,
    crr: p.mode === 'crr',
    flows: p.flows,
    count: p.count,
    warmup: p.warmup,
    intervalNs: p.intervalNs,
    timeoutNs: p.timeoutNs,
    size: p.size,
    responseSize: p.responseSize,
    maxConsecutiveLost: p.maxConsecutiveLost,
    netns: client.netns,
    cpu: p.cpus?.[0],
    rtPrio: p.rtPrio,
    wait: p.wait,
  });
}

export type RrResultOutcome = Outcome<RrSummary, RrEngineRecord, LatencySeries>;

/** The client's result as a run's parts: latency percentiles from its histogram, and the rate. */
export function rrOutcomeOf(c: RrClientResult, server: RrServerResult | null, problem: string | null): RrResultOutcome {
  const hist = Histogram.fromEngine(c.hist, { min: c.min_ns, max: c.max_ns });
  const s = summarize(hist, c.mean_ns === null ? undefined : { mean: c.mean_ns, stddev: c.stddev_ns });
  const { hist: _h, event: _e, role: _r, ...engine } = withoutTimeline(c);
  // every completed transaction, warm-up included, over the whole run's duration
  const tps = c.duration_ns > 0 ? (c.completed * 1e9) / c.duration_ns : null;
  return {
    problem,
    samples: c.received,
    lost: c.failed,
    summary: s ? { ...s, cdf: hist.cdf(), transactions_per_s: tps, mode: c.mode, flows: c.flows } : null,
    engine: {
      ...engine,
      transactions_per_s: tps,
      server: server
        ? { accepted: server.accepted, served: server.served, resets: server.resets, errors: server.errors }
        : null,
    },
    histogram: hist.encode(),
    raw: null,
    series: { latency: latencyTimelineOf(c) },
  };
}

async function runRr(topo: Topology, p: RrParams, ctx: RunContext): Promise<RrResultOutcome> {
  const { client, server } = topo.endpoints;
  ctx.progress(
    `${p.mode}: ${p.count} transactions, ` +
      `${p.flows} ${p.mode === 'crr' ? 'at a time, a new connection each' : `connection${p.flows === 1 ? '' : 's'}`}`,
  );
  const run = await runClientServer({
    server: { role: 'rr-server', argv: rrServerCommand(topo, server, p) },
    client: { role: 'rr-client', argv: (port) => rrClientCommand(topo, client, server, port, p) },
    deadlineMs: rrDeadlineMs(p),
    isClientResult: (e): e is RrClientResult => e.event === 'result' && e.role === 'rr-client',
    isServerResult: (e): e is RrServerResult => e.event === 'result' && e.role === 'rr-server',
  });
  const aborted = run.client.aborted;
  const problems = [
    ...run.problems,
    aborted === 'peer-unresponsive' ? `gave up after ${p.maxConsecutiveLost} failed transactions in a row` : null,
    aborted === 'io-error' ? "the client's event loop failed (epoll)" : null,
    aborted === 'signal' && !run.stoppedEarly ? 'interrupted' : null,
  ].filter((x): x is string => x !== null);
  return rrOutcomeOf(run.client, run.server, problems.length ? problems.join('; ') : null);
}

export function rrRecord(p: RrParams): Record<string, unknown> {
  return {
    mode: p.mode,
    count: p.count,
    warmup: p.warmup,
    interval_ns: p.intervalNs,
    size: p.size,
    response_size: p.responseSize,
    flows: p.flows,
    wait: p.wait,
    cpus: p.cpus ?? null,
    rt_prio: p.rtPrio ?? 0,
    timeout_ns: p.timeoutNs,
    max_consecutive_lost: p.maxConsecutiveLost,
    nodelay: true,
    close: p.mode === 'crr' ? 'rst' : 'fin',
  };
}

function rrWorkload(mode: RrMode): Workload<RrParams, RrResultOutcome> {
  const what =
    mode === 'rr'
      ? 'TCP request/response over persistent connections (netperf TCP_RR)'
      : 'TCP connect, request, response, close per transaction (netperf TCP_CRR)';
  return {
    name: mode,
    description: what,
    parse: (v) => [rrParams(mode, v)],
    pairsNeeded: () => 1,
    transport: () => 'tcp',
    rawApi: () => null,
    cpus: (p) => p.cpus,
    // request, response and their ACKs; crr adds the handshake and the RST
    expectedPackets: (p) => (p.count + p.warmup) * (mode === 'crr' ? 6 : 3),
    describe: (p) => `measuring ${p.count} ${mode.toUpperCase()} transactions`,
    footer: (p) =>
      `${p.count} transaction` +
      `${p.count === 1 ? '' : 's'} of ` +
      `${p.size} B request / ` +
      `${p.responseSize} B response over ` +
      `${p.flows} ${mode === 'crr' ? 'flow' : 'connection'}${p.flows === 1 ? '' : 's'}, ` +
      `${p.intervalNs ? `every ${p.intervalNs / 1e6} ms per flow` : 'back to back'}, ` +
      `TCP_NODELAY${mode === 'crr' ? ', closed by RST (no TIME_WAIT)' : ''}, first ${p.warmup} discarded`,
    record: rrRecord,
    commands: (topo, p): EngineCommand[] => [
      { argv: rrServerCommand(topo, topo.endpoints.server, p) },
      {
        argv: rrClientCommand(topo, topo.endpoints.client, topo.endpoints.server, 0, p),
        ...(topo.service ? {} : { note: 'port: the one the server reports' }),
      },
    ],
    run: runRr,
  };
}

export const rrWorkloadDef = rrWorkload('rr');
export const crrWorkloadDef = rrWorkload('crr');
