import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { loadDurationNs, worstSamples, type LoadParams } from '../../src/workloads/load.js';
import { RTT_DEFAULTS } from '../../src/workloads/rtt.js';
import { STREAM_DEFAULTS } from '../../src/workloads/stream.js';

describe('latency under load', () => {
  it('keeps the n worst samples, largest first, skipping losses', () => {
    const s = BigInt64Array.from([50n, -1n, 900n, 10n, 900n, 300n]);
    assert.deepEqual(worstSamples(s, 3), [[900, 2], [900, 4], [300, 5]]);
    assert.deepEqual(worstSamples(s, 100).length, 5);
    assert.deepEqual(worstSamples(new BigInt64Array(0), 5), []);
  });

  it('runs the load for the settle time, the probe schedule, and a tail', () => {
    const p: LoadParams = { stream: STREAM_DEFAULTS, probe: { ...RTT_DEFAULTS, count: 999, warmup: 1, intervalNs: 1e6 }, settleNs: 1e9, keepWorst: 10 };
    assert.equal(loadDurationNs(p), 1e9 + 1e9 + 2e9);
  });

  it('quick --workload load: --size is the load\'s, the probe stays 64 B, periodic, from planned send times', () => {
    const a = parseQuickArgs(['bridge', '--workload', 'load', '--api', 'sendmmsg', '--burst', '16', '--rate', '1.52M', '--size', '1024', '--count', '20000', '--interval', '250us', '--settle', '2s', '--worst', '5000']);
    assert.ok(a !== 'help');
    const j = a.jobs[0]!;
    assert.equal(j.workload, 'load');
    const l = j.params as LoadParams;
    assert.deepEqual([l.stream.api, l.stream.size, l.stream.burst, l.stream.ratePps, l.stream.warmupNs], ['sendmmsg', 1024, 16, 1_520_000, 2e9]);
    assert.deepEqual([l.probe.size, l.probe.count, l.probe.intervalNs, l.probe.fromPlanned, l.probe.raw], [64, 20000, 250_000, true, true]);
    assert.deepEqual([l.settleNs, l.keepWorst], [2e9, 5000]);
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'load', '--interval', '0']), /periodic probe/);
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'load', '--duration', '5s']), /does not apply to --workload load/);
  });
});
