import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parseEngineLine } from '../../src/engine-client/protocol.js';
import { floorLine, type Calibration } from '../../src/runner/calibration.js';
import { Histogram } from '../../src/stats/histogram.js';
import { FIXTURES } from '../helpers/paths.js';

const events = (f: string) => readFileSync(path.join(FIXTURES, f), 'utf8').trim().split('\n').map(parseEngineLine);

it("parses the engine's real calibration results", () => {
  const clock = events('engine-calibrate-clock.ndjson').at(-1)!;
  assert.ok(
    clock.event === 'result' &&
      clock.role === 'calibrate-clock' &&
      clock.monotonic_ns > 0 &&
      clock.monotonic_ns < 10_000,
  );
  const timer = events('engine-calibrate-timer.ndjson').at(-1)!;
  assert.ok(timer.event === 'result' && timer.role === 'calibrate-timer');
  assert.equal(timer.wakeups, 50);
  const h = Histogram.fromEngine(timer.hist, { min: 0, max: timer.max_ns });
  assert.equal(h.total, 50, 'one lateness per wake-up');
  const noise = events('engine-calibrate-noise.ndjson').at(-1)!;
  assert.ok(noise.event === 'result' && noise.role === 'calibrate-noise');
  assert.equal(Histogram.fromEngine(noise.hist).total, noise.gaps, 'one histogram entry per gap');
  assert.ok(noise.stolen_ns >= noise.gaps * noise.threshold_ns);
});

it('the floor line: what to do without a calibration, the figures with one', () => {
  assert.match(floorLine(null), /not calibrated \(run `cnperf calibrate`/);
  const c: Calibration = {
    clock_read_ns: { monotonic: 28.8, realtime: 29.1 },
    min_rtt_ns: { one_core: { min: 12_934, p50: 13_484 }, two_cores_spin: { min: 6572, p50: 9148 } },
    timer_lateness_ns: { interval_ns: 1e6, wakeups: 5000, p50: 60_000, p99: 232_900, max: 2_658_300 },
    noise: {
      duration_ns: 5e9,
      threshold_ns: 1000,
      gaps: 900,
      stolen_ratio: 0.0253,
      p99_gap_ns: 400_000,
      max_ns: 5_782_100,
      cpu: 1,
    },
  };
  assert.equal(
    floorLine({ created_at: '2026-11-25T22:47:10.000Z', result: c }),
    'Floor (cnperf calibrate, 2026-11-25 22:47): clock read 28.8 ns · min RTT loopback one core 12.9 µs, ' +
      'two cores spinning 6.6 µs · 1 ms timer late by p99 232.9 µs (max 2658.3 µs) · noise: max gap 5782.1 µs, ' +
      '2.53 % of a CPU taken',
  );
});
