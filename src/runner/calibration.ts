/**
 * cnperf calibrate: the floor under which this machine hides what cnperf measures — the cost of a
 * clock read, the smallest RTT it allows (loopback, both ends on one core, and spinning on two),
 * how late a 1 ms timer wakes up (as cyclictest measures it: against the planned wake-up), and the
 * noise a quiet CPU shows (gaps in a tight clock loop: interrupts, softirqs, the hypervisor).
 */
import { EngineError, EngineProcess } from '../engine-client/supervisor.js';
import type { CalibrateClockResult, CalibrateNoiseResult, CalibrateTimerResult } from '../engine-client/protocol.js';
import type { Environment } from '../env/environment.js';
import { Histogram } from '../stats/histogram.js';
import { RTT_DEFAULTS } from '../workloads/rtt.js';
import { rttFields } from '../workloads/results.js';
import { measure } from './measure.js';
import type { StopState } from './signals.js';

export interface Calibration {
  clock_read_ns: { monotonic: number; realtime: number };
  /** loopback RTT: one core (blocking: two spinning ends on one core would only take turns by time slice), two cores
   * spinning */
  min_rtt_ns: { one_core: { min: number; p50: number } | null; two_cores_spin: { min: number; p50: number } | null };
  timer_lateness_ns: { interval_ns: number; wakeups: number; p50: number; p99: number; max: number };
  noise: {
    duration_ns: number;
    threshold_ns: number;
    gaps: number;
    stolen_ratio: number;
    p99_gap_ns: number | null;
    max_ns: number;
    cpu: number;
  };
}

async function engineResult<T>(label: string, argv: string[], deadlineMs: number): Promise<T> {
  const p = new EngineProcess(label, argv, deadlineMs);
  const exit = await p.exited;
  const failure = p.failure();
  const r = exit.events.find((e) => e.event === 'result');
  if (!r) throw failure ?? new EngineError(label, 'exited without a result (rebuild the engine with `npm run build`)');
  return r as T;
}

export async function calibrate(ctx: {
  env: Environment;
  stop: StopState;
  progress: (m: string) => void;
  cpus: number;
}): Promise<Calibration> {
  ctx.progress('clock: 10 million reads');
  const clock = await engineResult<CalibrateClockResult>(
    'calibrate-clock',
    ['calibrate-clock', '--count', '10000000', '--cpu', '0'],
    60_000,
  );

  const rtt = async (cpus: [number, number], spin: boolean) => {
    const m = await measure(
      'loopback',
      {
        workload: 'rtt',
        params: {
          ...RTT_DEFAULTS,
          count: 20_000,
          intervalNs: 0,
          cpus,
          wait: spin ? 'spin' : 'block',
          pace: spin ? 'spin' : 'sleep',
        },
      },
      { batchId: 'calibrate', env: ctx.env, stop: ctx.stop, progress: ctx.progress },
    );
    const s = m.record.workload === 'rtt' && m.record.summary ? rttFields(m.record.summary) : null;
    return m.record.status === 'failed' || !s ? null : { min: s.min, p50: s.p50 };
  };
  ctx.progress('minimum RTT on loopback, one core');
  const oneCore = await rtt([0, 0], false);
  ctx.progress('minimum RTT on loopback, two cores spinning');
  const twoCores = ctx.cpus >= 2 ? await rtt([0, 1], true) : null;

  ctx.progress('timer lateness: 5000 wake-ups at 1 ms (5 s)');
  const timer = await engineResult<CalibrateTimerResult>(
    'calibrate-timer',
    ['calibrate-timer', '--interval-ns', '1000000', '--count', '5000', '--cpu', '0'],
    60_000,
  );
  const th = Histogram.fromEngine(timer.hist, { min: 0, max: timer.max_ns });

  const noiseCpu = ctx.cpus - 1;
  ctx.progress(`noise: a clock loop on CPU ${noiseCpu} for 5 s`);
  const noise = await engineResult<CalibrateNoiseResult>(
    'calibrate-noise',
    ['calibrate-noise', '--duration-ns', '5000000000', '--cpu', String(noiseCpu)],
    60_000,
  );
  const nh = Histogram.fromEngine(noise.hist, { min: noise.threshold_ns, max: noise.max_ns });

  return {
    clock_read_ns: { monotonic: Number(clock.monotonic_ns.toFixed(1)), realtime: Number(clock.realtime_ns.toFixed(1)) },
    min_rtt_ns: { one_core: oneCore, two_cores_spin: twoCores },
    timer_lateness_ns: {
      interval_ns: timer.interval_ns,
      wakeups: timer.wakeups,
      p50: th.valueAtQuantile(0.5),
      p99: th.valueAtQuantile(0.99),
      max: timer.max_ns,
    },
    noise: {
      duration_ns: noise.duration_ns,
      threshold_ns: noise.threshold_ns,
      gaps: noise.gaps,
      stolen_ratio: Number((noise.stolen_ns / noise.duration_ns).toFixed(5)),
      p99_gap_ns: noise.gaps ? nh.valueAtQuantile(0.99) : null,
      max_ns: noise.max_ns,
      cpu: noiseCpu,
    },
  };
}

const usText = (ns: number | null | undefined) =>
  typeof ns === 'number' && Number.isFinite(ns) ? `${(ns / 1000).toFixed(1)} µs` : '–';

/** One line for under a results table: the floor the run's figures stand on. */
export function floorLine(c: { created_at: string; result: unknown } | null): string {
  if (!c)
    return (
      'Floor: this machine is not calibrated (run `cnperf calibrate` to see the smallest RTT, timer ' +
      'lateness and noise it allows)'
    );
  const r = c.result as Calibration;
  return (
    `Floor (cnperf calibrate, ` +
    `${c.created_at.slice(0, 16).replace('T', ' ')}): clock read ` +
    `${r.clock_read_ns.monotonic} ns · min RTT loopback one core ` +
    `${usText(r.min_rtt_ns.one_core?.min)}, two cores spinning ` +
    `${usText(r.min_rtt_ns.two_cores_spin?.min)} · 1 ms timer late by p99 ` +
    `${usText(r.timer_lateness_ns.p99)} (max ` +
    `${usText(r.timer_lateness_ns.max)}) · noise: max gap ` +
    `${usText(r.noise.max_ns)}, ${(r.noise.stolen_ratio * 100).toFixed(2)} % of a CPU taken`
  );
}
