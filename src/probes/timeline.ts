/**
 * The common timeline of the host-wide probes: /proc/stat, /proc/softirqs and /proc/interrupts read
 * together every 100 ms (three small reads, ~0.1 ms of one core) while a workload runs.
 */
import { readFileSync } from 'node:fs';
import { parseProcStat, type ProcStat } from './cpu.js';
import { parseInterruptTotals, parseSoftirqs } from './softirqs.js';

export const TIMELINE_INTERVAL_MS = 100;

export interface HostSample {
  /** ms since the timeline started */
  t_ms: number;
  stat: ProcStat;
  softirqs: Record<string, number[]>;
  irqs: number[];
}

export function readHostSample(t0: number): HostSample {
  return {
    t_ms: Math.round(performance.now() - t0),
    stat: parseProcStat(readFileSync('/proc/stat', 'utf8')),
    softirqs: parseSoftirqs(readFileSync('/proc/softirqs', 'utf8')),
    irqs: parseInterruptTotals(readFileSync('/proc/interrupts', 'utf8')),
  };
}

export class Timeline {
  readonly samples: HostSample[] = [];
  private readonly t0 = performance.now();
  /** CLOCK_MONOTONIC ns at t_ms 0 (Node's hrtime reads it): the engine's timelines align on it */
  readonly startMonoNs = Number(process.hrtime.bigint());
  private timer: NodeJS.Timeout | null = null;
  /** told of each sample after the first, with the one before it (the live feed) */
  onSample: ((prev: HostSample, s: HostSample) => void) | null = null;

  start(intervalMs = TIMELINE_INTERVAL_MS): this {
    this.samples.push(readHostSample(this.t0));
    this.timer = setInterval(() => {
      const s = readHostSample(this.t0);
      this.samples.push(s);
      this.onSample?.(this.samples[this.samples.length - 2]!, s);
    }, intervalMs);
    this.timer.unref(); // never what keeps cnperf alive
    return this;
  }

  /** Takes a last sample (so the window ends now) and stops. */
  stop(): HostSample[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.samples.push(readHostSample(this.t0));
    return this.samples;
  }
}
