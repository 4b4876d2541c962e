/**
 * Latency under load (seed 003): a stream loads the datapath at a given rate while a periodic RTT
 * probe crosses the same path. The probe is open loop, as MoonGen's is: it sends each probe at its
 * planned time (spinning on the clock unless --pace sleep), never waits for replies, and a receiver
 * thread matches them by sequence (engine/rtt_openloop.c). RTT runs from each probe's actual send stamp; the
 * sender's lateness against its schedule is reported beside it, so a late wake-up is never charged to
 * the path; a lost probe is one loss. The load's sender gets a CPU of its own where the machine has one
 * (the output says what shares). The worst samples are kept.
 */
import os from 'node:os';
import { readDropCounters } from '../local/counters.js';
import type { Endpoint } from '../topology/model.js';
import { UserError } from '../util/errors.js';
import { within } from '../util/timeout.js';
import { parseRate } from '../util/units.js';
import type { LoadEngineRecord, LoadPlacement, LoadSummary, StreamSeries } from './results.js';
import {
  RTT_DEFAULTS,
  rttCommands,
  rttOutcomeOf,
  rttParams,
  rttRecord,
  runRtt,
  type RttOutcome,
  type RttParams,
} from './rtt.js';
import {
  checkRaw,
  isRawApi,
  perApi,
  runStream,
  streamBase,
  streamCommands,
  streamPackets,
  streamRecord,
} from './stream.js';
import { type StreamOutcome, type StreamParams } from './stream-params.js';
import { streamOutcomeOf } from './stream-outcome.js';
import type { Outcome, Workload } from './types.js';

/**
 * The probe where --cpus puts it (default: client 0, server 1); the load's sender on a CPU that neither
 * probe end uses if the machine has one, else on the server's (never the probe client's, whose spinning
 * sender and reply wake-ups are what is measured), and its receiver with the probe's server (the same
 * container). Pure.
 */
export function loadPlacement(probeCpus: [number, number] | undefined, cpuCount: number): LoadPlacement {
  const [c, s] = probeCpus ?? [0, Math.min(1, cpuCount - 1)];
  const free = Array.from({ length: cpuCount }, (_, i) => i).find((i) => i !== c && i !== s);
  const sender = free ?? (s !== c ? s : c);
  const sharing = [
    sender === c ? `the load sender shares CPU ${c} with the probe client` : null,
    sender === s && free === undefined ? `the load sender shares CPU ${s} with the probe server` : null,
    c === s ? `the probe client and server share CPU ${c}` : null,
  ].filter(Boolean);
  return {
    probe_client: c,
    probe_server: s,
    load_sender: sender,
    load_receiver: s,
    shared: sharing.length ? sharing.join('; ') : null,
  };
}

/**
 * A probe whose period is a whole multiple of the load's packet period (1 ms against 1 kpps) meets the
 * load at one phase for the whole run, so its latency depends on that phase — measured on this VM: p50
 * 28 or 62 µs from one run to the next. Returns a warning, or null.
 */
export function phaseLockWarning(p: {
  stream: Pick<StreamParams, 'ratePps' | 'burst'>;
  probe: Pick<RttParams, 'intervalNs'>;
}): string | null {
  const rate = p.stream.ratePps;
  if (!rate) return null;
  const perProbe = (rate * p.probe.intervalNs) / 1e9 / p.stream.burst;
  if (Math.abs(perProbe - Math.round(perProbe)) > 1e-9) return null;
  return (
    `the probe's period ` +
    `(${p.probe.intervalNs / 1e6} ms) is a whole multiple of the load's ` +
    `(${Math.round(perProbe)} ` +
    `burst${Math.round(perProbe) === 1 ? '' : 's'} per probe): they stay at one phase for the whole run and the ` +
    `probe's latency depends on it; give an interval that is not (e.g. ` +
    `${((p.probe.intervalNs * 0.997) / 1e3).toFixed(0)}us)`
  );
}

export interface LoadParams {
  /**
   * the load level as asked (--rate idle,10k,max): 'idle' runs the probe with no load sender, 'max' a
   * load as fast as possible, a rate that rate; the levels of one --rate are one probe's curve
   */
  level: string;
  /** the load; its duration is derived from the probe's (unused at level idle) */
  stream: Omit<StreamParams, 'durationNs'>;
  /** the probe; must be periodic */
  probe: RttParams;
  /** how long the load runs before the probe starts */
  settleNs: number;
  /** how many of the worst RTTs to keep */
  keepWorst: number;
  placement: LoadPlacement;
}

export interface LoadOutcome {
  /** null at level idle: no load ran */
  stream: StreamOutcome | null;
  probe: RttOutcome;
  /** the worst RTTs (ns), largest first, with their sequence numbers */
  worst: Array<[number, number]>;
  problem: string | null;
}

/** Slack after the probe's schedule, so the load outlasts a probe slowed by losses or stalls. */
const LOAD_TAIL_NS = 2e9;

export function loadDurationNs(p: LoadParams): number {
  return p.settleNs + (p.probe.count + p.probe.warmup) * p.probe.intervalNs + LOAD_TAIL_NS;
}

/**
 * The n largest values of samples (>= 0; -1 marks a loss) with their indices, largest first (ties:
 * the earlier first). One pass with a heap of n: no value per sample is made, so 10^8 samples take
 * no memory beyond their own array (a tuple per sample, sorted, took gigabytes and held the event
 * loop for seconds).
 */
export function worstSamples(samples: BigInt64Array, n: number): Array<[number, number]> {
  const k = Math.max(0, Math.min(n, samples.length));
  const values = new Float64Array(k);
  const index = new Float64Array(k);
  let size = 0;
  // a min-heap of the kept: its root is the least bad of them (smallest value; of equal ones, the later)
  const below = (a: number, b: number) => values[a]! < values[b]! || (values[a] === values[b] && index[a]! > index[b]!);
  const swap = (a: number, b: number) => {
    [values[a], values[b]] = [values[b]!, values[a]!];
    [index[a], index[b]] = [index[b]!, index[a]!];
  };
  const down = (from: number) => {
    for (let i = from; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && below(l, m)) m = l;
      if (r < size && below(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  // little-endian halves of each int64, read without a BigInt per sample
  const le = os.endianness() === 'LE';
  const lo = new Uint32Array(samples.buffer, samples.byteOffset, samples.length * 2);
  const hi = new Int32Array(samples.buffer, samples.byteOffset, samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = le ? (hi[2 * i + 1]! < 0 ? -1 : hi[2 * i + 1]! * 4294967296 + lo[2 * i]!) : Number(samples[i]);
    if (v < 0 || k === 0) continue;
    if (size === k) {
      // a later sample equal to the root ranks below it: only a larger value gets in
      if (v <= values[0]!) continue;
      values[0] = v;
      index[0] = i;
      down(0);
      continue;
    }
    values[size] = v;
    index[size] = i;
    for (let c = size++; c > 0 && below(c, (c - 1) >> 1); c = (c - 1) >> 1) swap(c, (c - 1) >> 1);
  }
  const out: Array<[number, number]> = [];
  for (let i = 0; i < size; i++) out.push([values[i]!, index[i]!]);
  return out.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
}

export async function runLoadLatency(
  client: Endpoint,
  server: Endpoint,
  p: LoadParams,
  workDir: string,
): Promise<LoadOutcome> {
  if (p.level === 'idle') {
    // the same probe, with nothing beside it: the curve's baseline, measured the same way
    const probe = await runRtt(client, server, { ...p.probe, openLoop: true, raw: true }, { workDir });
    return {
      stream: null,
      probe,
      worst: worstSamples(probe.raw ?? new BigInt64Array(0), p.keepWorst),
      problem: probe.problem ? `probe: ${probe.problem}` : null,
    };
  }
  const loadStarted = Date.now();
  const stream = runStream(client, server, { ...p.stream, durationNs: loadDurationNs(p) });
  // If the load fails before the probe starts, say so instead of measuring an unloaded path.
  const early = await within(
    stream.then(
      () => 'ended' as const,
      () => 'failed' as const,
    ),
    p.settleNs / 1e6,
    'settled' as const,
  );
  if (early !== 'settled') {
    await stream; // rethrows the load's failure
    throw new Error('the load ended before the probe started');
  }
  let probe: RttOutcome | null = null;
  let probeError: unknown = null;
  try {
    probe = await runRtt(client, server, { ...p.probe, openLoop: true, raw: true }, { workDir });
  } catch (e) {
    probeError = e;
  }
  const probeEndedMs = Date.now() - loadStarted;
  // The load stops by itself at its duration; wait for it in every case.
  const load = await stream;
  if (!probe) throw probeError;
  const problems = [
    load.problem ? `load: ${load.problem}` : null,
    probe.problem ? `probe: ${probe.problem}` : null,
    probeEndedMs > loadDurationNs(p) / 1e6 ? 'the probe outlasted the load: its last samples ran unloaded' : null,
  ].filter((x): x is string => x !== null);
  return {
    stream: load,
    probe,
    worst: worstSamples(probe.raw ?? new BigInt64Array(0), p.keepWorst),
    problem: problems.length ? problems.join('; ') : null,
  };
}

export type LoadResultOutcome = Outcome<LoadSummary, LoadEngineRecord, StreamSeries>;

export const DEFAULT_SETTLE_NS = 1e9;
export const DEFAULT_KEEP_WORST = 5000;

/** An RTT probe (64 B, periodic, counted from planned send times) under one load per API. */
function parseLoad(v: Parameters<Workload<LoadParams, LoadResultOutcome>['parse']>[0]): LoadParams[] {
  // --size is the load's: the probe keeps the RTT default. The probe spins to keep its schedule
  // unless told to sleep; its lateness is reported either way.
  const placement = loadPlacement(v.cpus, os.cpus().length);
  const probe: RttParams = {
    ...rttParams(v, { ...RTT_DEFAULTS, pace: 'spin' }),
    size: RTT_DEFAULTS.size,
    raw: true,
    openLoop: true,
    breakdown: false,
    cpus: [placement.probe_client, placement.probe_server],
  };
  if (probe.intervalNs === 0)
    throw new UserError('--workload load needs a periodic probe: give --interval > 0 (e.g. 1ms)');
  const settleNs = v.settle ?? DEFAULT_SETTLE_NS;
  const keepWorst = v.worst ?? DEFAULT_KEEP_WORST;
  // The load's steady state starts when the probe does.
  const base = {
    ...streamBase({ ...v, rate: undefined }, 'one'),
    // the load sleeps between its slots unless --pace says otherwise: auto's spinning would take CPU
    // time from the probe it shares a CPU with on two cores (the measured thing, not the load's rate)
    pace: v.pace ?? ('sleep' as const),
    warmupNs: settleNs,
    cpus: [placement.load_sender, placement.load_receiver] as [number, number],
  };
  const levels = loadLevels(v.rate);
  const apis = perApi(v, base);
  // idle once, first (it has no load API); then each API at each level, in the order given
  return levels.flatMap((level) =>
    (level.name === 'idle' ? apis.slice(0, 1) : apis).map((stream) => ({
      level: level.name,
      stream: { ...stream, ratePps: level.ratePps },
      probe,
      settleNs,
      keepWorst,
      placement,
    })),
  );
}

/** --rate for a load: one level or a list (idle, max, rates), idle first; no --rate: one level, max. */
export function loadLevels(rate: string | undefined): Array<{ name: string; ratePps: number }> {
  const given = (rate ?? 'max').split(',').map((x) => x.trim());
  const levels = given.map((name) => {
    if (name === 'idle' || name === 'max') return { name, ratePps: 0 };
    const pps = parseRate(name, '--rate');
    return { name: pps === 0 ? 'max' : name, ratePps: pps };
  });
  const seen = new Set<string>();
  for (const l of levels) {
    if (seen.has(l.name)) throw new UserError(`--rate: load level '${l.name}' named twice`);
    seen.add(l.name);
  }
  return [...levels.filter((l) => l.name === 'idle'), ...levels.filter((l) => l.name !== 'idle')];
}

export const loadWorkload: Workload<LoadParams, LoadResultOutcome> = {
  // The probe and the load would both bind the Service's target port in one server namespace.
  serviceUnsupported: () =>
    'the load workload runs a probe and a load to one server; through a Service (one target port) it is not ' +
    'built — measure rtt or stream through it',
  name: 'load',
  description: 'an RTT probe under a stream load: latency under load (seed 003)',
  parse: parseLoad,
  pairsNeeded: () => 1,
  rawApi: (p) => (isRawApi(p.stream.api) ? p.stream.api : null),
  cpus: (p) => p.probe.cpus,
  expectedPackets: (p) =>
    2 * (p.probe.count + p.probe.warmup) +
    (p.level === 'idle'
      ? 0
      : streamPackets({
          ...p.stream,
          durationNs: p.settleNs + (p.probe.count + p.probe.warmup) * p.probe.intervalNs,
        })),
  describe: (p) =>
    `probing RTT (${p.probe.count} packets every ` +
    `${p.probe.intervalNs / 1e6} ms) under a ` +
    (p.level === 'idle'
      ? 'no load (idle)'
      : `${p.stream.api} load at ${p.stream.ratePps ? `${p.stream.ratePps} pps` : 'full speed'}`),
  // (a phase-locked probe is warned about under the table, per load level: see report/run-tables.ts)
  footer: (p) =>
    `open-loop probe: ` +
    `${p.probe.count} probes every ` +
    `${p.probe.intervalNs / 1e6} ms (pace ` +
    `${p.probe.pace}), RTT from each probe's actual send, replies matched by sequence, after ` +
    `${p.settleNs / 1e9} s of load (none at level idle); the ` +
    `${p.keepWorst} worst kept; CPUs: probe ` +
    `${p.placement.probe_client}→` +
    `${p.placement.probe_server}, load ` +
    `${p.placement.load_sender}→` +
    `${p.placement.load_receiver}` +
    `${p.placement.shared ? ` (${p.placement.shared})` : ' (separate)'}`,
  record: (p) => ({
    level: p.level,
    probe: rttRecord(p.probe),
    load: streamRecord({ ...p.stream, durationNs: loadDurationNs(p) }),
    settle_ns: p.settleNs,
    keep_worst: p.keepWorst,
    placement: p.placement,
  }),
  commands: (topo, p, workDir) => [
    ...(p.level === 'idle' ? [] : streamCommands(topo, { ...p.stream, durationNs: loadDurationNs(p) })),
    ...rttCommands(topo, { ...p.probe, openLoop: true, raw: true }, workDir),
  ],
  async run(topo, p, ctx) {
    checkRaw(topo, p.stream.api);
    const before = await readDropCounters(topo);
    const out = await runLoadLatency(topo.endpoints.client, topo.endpoints.server, p, ctx.workDir);
    const after = await readDropCounters(topo);
    const probe = rttOutcomeOf(out.probe);
    const load = out.stream ? streamOutcomeOf(p.stream, [out.stream], before, after) : null;
    return {
      problem: [out.problem, load?.problem].filter(Boolean).join('; ') || null,
      samples: probe.samples,
      lost: probe.lost,
      summary: {
        ...(probe.summary ?? {}),
        stream: load?.summary ?? null,
        level: p.level,
        worst: out.worst,
        timing: 'open-loop',
        placement: p.placement,
      },
      engine: { probe: probe.engine, load: load?.engine ?? null },
      histogram: probe.histogram,
      raw: probe.raw,
      series: load?.series ?? null,
    };
  },
};
