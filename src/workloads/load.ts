/**
 * Latency under load (seed 003): a stream loads the datapath at a given rate while a periodic RTT
 * probe crosses the same path; the probe's RTT counts from each packet's planned send time, so a
 * stall delays — and is charged to — every packet planned during it. The worst samples are kept.
 */
import type { Endpoint } from '../topology/model.js';
import { runRtt, type RttOutcome, type RttParams } from './rtt.js';
import { runStream, type StreamOutcome, type StreamParams } from './stream.js';
import { within } from '../util/timeout.js';

export interface LoadParams {
  /** the load; its duration is derived from the probe's */
  stream: Omit<StreamParams, 'durationNs'>;
  /** the probe; must be periodic */
  probe: RttParams;
  /** how long the load runs before the probe starts */
  settleNs: number;
  /** how many of the worst RTTs to keep */
  keepWorst: number;
}

export interface LoadOutcome {
  stream: StreamOutcome;
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

/** The n largest values of samples (>= 0; -1 marks a loss) with their indices, largest first. */
export function worstSamples(samples: BigInt64Array, n: number): Array<[number, number]> {
  const all: Array<[number, number]> = [];
  samples.forEach((v, i) => {
    if (v >= 0n) all.push([Number(v), i]);
  });
  return all.sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, n);
}

export async function runLoadLatency(client: Endpoint, server: Endpoint, p: LoadParams, workDir: string): Promise<LoadOutcome> {
  const loadStarted = Date.now();
  const stream = runStream(client, server, { ...p.stream, durationNs: loadDurationNs(p) });
  // If the load fails before the probe starts, say so instead of measuring an unloaded path.
  const early = await within(
    stream.then(() => 'ended' as const, () => 'failed' as const),
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
    probe = await runRtt(client, server, { ...p.probe, fromPlanned: true, raw: true }, { workDir });
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
  return { stream: load, probe, worst: worstSamples(probe.raw ?? new BigInt64Array(0), p.keepWorst), problem: problems.length ? problems.join('; ') : null };
}
