/**
 * A latency run's timeline: the engine cuts the measured slots into 100 ms windows by the time each
 * began and reports, per window, the count, the losses and exact percentiles of that window's own
 * samples (engine/rtt_timeline.c). Here the engine's column arrays become points, with null where a
 * window had no reply (never a 0 standing for "none").
 */
export interface LatencyPoint {
  /** the window's start, ns after the engine's loop began (warm-up included) */
  t_ns: number;
  n: number;
  lost: number;
  p50_ns: number | null;
  p90_ns: number | null;
  p99_ns: number | null;
  max_ns: number | null;
}

export interface LatencyTimeline {
  window_ns: number;
  /** when the first measured slot began: the warm-up before it is not in the points */
  warmup_ns: number;
  /** CLOCK_MONOTONIC ns when the engine's loop began (the origin of t_ns; the probes' timeline has its own) */
  start_ns?: number;
  points: LatencyPoint[];
}

/** The engine's timeline_* fields, as they arrive in an rtt-client or rr-client result. */
export interface EngineTimelineFields {
  timeline_window_ns?: number;
  timeline_warmup_ns?: number;
  timeline_start_ns?: number;
  timeline_t_ns?: number[];
  timeline_n?: number[];
  timeline_lost?: number[];
  timeline_p50_ns?: number[];
  timeline_p90_ns?: number[];
  timeline_p99_ns?: number[];
  timeline_max_ns?: number[];
}

export function latencyTimelineOf(r: EngineTimelineFields): LatencyTimeline | null {
  const t = r.timeline_t_ns;
  if (!t || r.timeline_window_ns === undefined || r.timeline_warmup_ns === undefined) return null;
  const col = (xs: number[] | undefined, i: number) => xs?.[i] ?? 0;
  const points = t.map((t_ns, i) => {
    const n = col(r.timeline_n, i);
    const lost = col(r.timeline_lost, i);
    const answered = n > lost;
    const q = (xs: number[] | undefined) => (answered ? col(xs, i) : null);
    return {
      t_ns,
      n,
      lost,
      p50_ns: q(r.timeline_p50_ns),
      p90_ns: q(r.timeline_p90_ns),
      p99_ns: q(r.timeline_p99_ns),
      max_ns: q(r.timeline_max_ns),
    };
  });
  return {
    window_ns: r.timeline_window_ns,
    warmup_ns: r.timeline_warmup_ns,
    ...(r.timeline_start_ns !== undefined ? { start_ns: r.timeline_start_ns } : {}),
    points,
  };
}

/** The result without its timeline columns (they are stored as the run's series, not in its engine record). */
export function withoutTimeline<T extends EngineTimelineFields>(r: T): Omit<T, keyof EngineTimelineFields> {
  const {
    timeline_window_ns: _w,
    timeline_warmup_ns: _u,
    timeline_start_ns: _s,
    timeline_t_ns: _t,
    timeline_n: _n,
    timeline_lost: _l,
    timeline_p50_ns: _p50,
    timeline_p90_ns: _p90,
    timeline_p99_ns: _p99,
    timeline_max_ns: _max,
    ...rest
  } = r;
  return rest;
}
