/**
 * One run's timeline on one time axis: what the engine measured per window (latency percentiles per
 * 100 ms, or a stream's rates per second) and what the host probes saw per 100 ms (CPU split, NET_RX
 * softirqs), with the warm-up marked. The engine's and the probes' series each carry a CLOCK_MONOTONIC
 * origin, so they line up; time 0 is the engine's start. Pure: the HTML report draws it as SVG,
 * `cnperf serve` sends it to the browser as JSON.
 */
import type { LatencyTimeline } from '../stats/latency-timeline.js';
import type { Interval } from '../stats/series.js';
import type { RunRecord } from '../store/db.js';
import type { StreamSeries } from '../workloads/results.js';
import { probesOf } from './why.js';

export interface TimelineColumn {
  name: string;
  unit: string;
  /** one value per time of its panel; null: not measured there */
  values: Array<number | null>;
}

/** Columns sharing their times (s since the engine started) and a y axis. */
export interface TimelinePanel {
  id: 'latency' | 'rate' | 'cpu';
  title: string;
  unit: string;
  t_s: number[];
  columns: TimelineColumn[];
}

export interface RunTimeline {
  run_id: string;
  /** the warm-up, s: nothing in it counted toward the results */
  warmup_s: [number, number] | null;
  panels: TimelinePanel[];
}

const us = (ns: number | null) => (ns === null ? null : ns / 1000);

function latencyPanel(l: LatencyTimeline): TimelinePanel {
  // a window's percentiles stand at its middle: they describe the whole window
  const mid = l.window_ns / 2;
  return {
    id: 'latency',
    title: `latency per ${l.window_ns / 1e6} ms window`,
    unit: 'µs',
    t_s: l.points.map((p) => (p.t_ns + mid) / 1e9),
    columns: [
      { name: 'p50', unit: 'µs', values: l.points.map((p) => us(p.p50_ns)) },
      { name: 'p99', unit: 'µs', values: l.points.map((p) => us(p.p99_ns)) },
      { name: 'max', unit: 'µs', values: l.points.map((p) => us(p.max_ns)) },
    ],
  };
}

/** Per-second rates at each second's middle, from its exact length; time 0 is the first interval's start. */
function ratePanel(s: StreamSeries, tcp: boolean): { panel: TimelinePanel; origin_ns: number | null } {
  const origin = s.tx[0]?.start ?? s.rx[0]?.start ?? null;
  const at = (iv: Interval, k: number) =>
    origin !== null && iv.start !== undefined ? (iv.start - origin + iv.ns / 2) / 1e9 : k + 0.5;
  const rate = (iv: Interval) => (tcp ? (iv.bytes * 8) / iv.ns : (iv.packets * 1e6) / iv.ns);
  // tx and rx seconds start at different moments: one time column per side would not share a panel,
  // so each side's points are placed at the sender's times by index (the same second of the run)
  const t_s = s.tx.map(at);
  return {
    origin_ns: origin,
    panel: {
      id: 'rate',
      title: tcp ? 'throughput per second' : 'packet rate per second',
      unit: tcp ? 'Gbit/s' : 'kpps',
      t_s,
      columns: [
        { name: 'sent', unit: tcp ? 'Gbit/s' : 'kpps', values: s.tx.map(rate) },
        {
          name: 'received',
          unit: tcp ? 'Gbit/s' : 'kpps',
          values: s.tx.map((_, k) => (s.rx[k] ? rate(s.rx[k]!) : null)),
        },
      ],
    },
  };
}

/** The host's CPU split over all cores per 100 ms, % of CPU time. */
function cpuPanel(r: RunRecord, offset_s: number): TimelinePanel | null {
  const p = probesOf(r);
  const tl = p?.timeline;
  if (!tl?.length) return null;
  const share = (k: 'usr' | 'sys' | 'softirq') =>
    tl.map((s) => {
      const cpus = s.cpu.filter((c) => c !== null);
      return cpus.length ? (100 * cpus.reduce((a, c) => a + c[k], 0)) / cpus.length : null;
    });
  const step = tl.length > 1 ? tl[1]!.t_ms - tl[0]!.t_ms : 100;
  return {
    id: 'cpu',
    title: 'CPU time, all cores',
    unit: '%',
    t_s: tl.map((s) => offset_s + (s.t_ms - step / 2) / 1000),
    columns: [
      { name: 'usr', unit: '%', values: share('usr') },
      { name: 'sys', unit: '%', values: share('sys') },
      { name: 'softirq', unit: '%', values: share('softirq') },
    ],
  };
}

function latencyOf(r: RunRecord): LatencyTimeline | null {
  if (r.workload !== 'rtt' && r.workload !== 'rr' && r.workload !== 'crr') return null;
  return r.series?.latency ?? null;
}

function streamOf(r: RunRecord): StreamSeries | null {
  return r.workload === 'stream' || r.workload === 'load' ? r.series : null;
}

/** The run's timeline, or null when it stored none (an older cnperf, a failed run, a sweep). */
export function runTimeline(r: RunRecord): RunTimeline | null {
  const panels: TimelinePanel[] = [];
  let origin_ns: number | null = null;
  let warmup_s: [number, number] | null = null;
  const latency = latencyOf(r);
  const stream = streamOf(r);
  if (latency?.points.length) {
    panels.push(latencyPanel(latency));
    origin_ns = latency.start_ns ?? null;
    warmup_s = latency.warmup_ns > 0 ? [0, latency.warmup_ns / 1e9] : null;
  } else if (stream?.tx.length) {
    const tcp = (r.params as { api?: string }).api === 'tcp';
    const rate = ratePanel(stream, tcp);
    panels.push(rate.panel);
    origin_ns = rate.origin_ns;
    const w = (r.params as { warmup_ns?: number }).warmup_ns;
    warmup_s = typeof w === 'number' && w > 0 ? [0, w / 1e9] : null;
  }
  const probes = probesOf(r);
  // the probes' start on the engine's clock; without both origins (an older run, real hosts whose
  // clocks differ) the CPU panel keeps its own 0, which the page says
  const aligned = origin_ns !== null && typeof probes?.timeline_start_ns === 'number' && !probes.hosts;
  const cpu = cpuPanel(r, aligned ? (probes.timeline_start_ns! - origin_ns!) / 1e9 : 0);
  if (cpu) panels.push(cpu);
  return panels.length ? { run_id: r.id, warmup_s, panels } : null;
}
