import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latencyTimelineOf, withoutTimeline } from '../../src/stats/latency-timeline.js';

// The columns as engine/rtt_timeline.c wrote them for a ping-pong run whose second window lost every probe.
const engine = {
  received: 190,
  timeline_window_ns: 100_000_000,
  timeline_warmup_ns: 1_064_364,
  timeline_start_ns: 21_351_464_769_786,
  timeline_t_ns: [1_064_364, 101_064_364, 201_064_364],
  timeline_n: [101, 10, 100],
  timeline_lost: [1, 10, 0],
  timeline_p50_ns: [41_988, 0, 35_827],
  timeline_p90_ns: [48_680, 0, 43_281],
  timeline_p99_ns: [52_097, 0, 50_664],
  timeline_max_ns: [53_930, 0, 52_367],
};

describe('latency timeline', () => {
  it('turns the columns into points, a window without replies having no percentiles (not 0)', () => {
    const t = latencyTimelineOf(engine)!;
    assert.equal(t.window_ns, 100_000_000);
    assert.equal(t.warmup_ns, 1_064_364);
    assert.equal(t.start_ns, 21_351_464_769_786);
    assert.equal(t.points.length, 3);
    assert.deepEqual(t.points[0], {
      t_ns: 1_064_364,
      n: 101,
      lost: 1,
      p50_ns: 41_988,
      p90_ns: 48_680,
      p99_ns: 52_097,
      max_ns: 53_930,
    });
    assert.deepEqual(t.points[1], {
      t_ns: 101_064_364,
      n: 10,
      lost: 10,
      p50_ns: null,
      p90_ns: null,
      p99_ns: null,
      max_ns: null,
    });
  });

  it('is null for a result without one (an older engine)', () => {
    assert.equal(latencyTimelineOf({}), null);
  });

  it('strips the columns from the engine record, and only them', () => {
    assert.deepEqual(withoutTimeline(engine), { received: 190 });
  });
});
