import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { loadDurationNs, loadPlacement, phaseLockWarning, worstSamples, type LoadParams } from '../../src/workloads/load.js';
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
    const p: LoadParams = { stream: STREAM_DEFAULTS, probe: { ...RTT_DEFAULTS, count: 999, warmup: 1, intervalNs: 1e6 }, settleNs: 1e9, keepWorst: 10, placement: loadPlacement(undefined, 2) };
    assert.equal(loadDurationNs(p), 1e9 + 1e9 + 2e9);
  });

  it('quick --workload load: --size is the load\'s, the probe stays 64 B, periodic, open loop, spinning to keep its schedule', () => {
    const a = parseQuickArgs(['bridge', '--workload', 'load', '--api', 'sendmmsg', '--burst', '16', '--rate', '1.52M', '--size', '1024', '--count', '20000', '--interval', '250us', '--settle', '2s', '--worst', '5000']);
    assert.ok(a !== 'help');
    const j = a.jobs[0]!;
    assert.equal(j.workload, 'load');
    const l = j.params as LoadParams;
    assert.deepEqual([l.stream.api, l.stream.size, l.stream.burst, l.stream.ratePps, l.stream.warmupNs], ['sendmmsg', 1024, 16, 1_520_000, 2e9]);
    assert.deepEqual([l.probe.size, l.probe.count, l.probe.intervalNs, l.probe.openLoop, l.probe.raw, l.probe.pace], [64, 20000, 250_000, true, true, 'spin']);
    // The load keeps its own pacing default; --pace sets both.
    assert.equal(l.stream.pace, 'sleep');
    const slept = parseQuickArgs(['bridge', '--workload', 'load', '--pace', 'sleep']);
    assert.ok(slept !== 'help');
    assert.equal((slept.jobs[0]!.params as LoadParams).probe.pace, 'sleep');
    assert.deepEqual([l.settleNs, l.keepWorst], [2e9, 5000]);
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'load', '--interval', '0']), /periodic probe/);
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'load', '--duration', '5s']), /does not apply to --workload load/);
  });

  it('gives the load sender a CPU of its own where there is one, and says what shares', () => {
    assert.deepEqual(loadPlacement(undefined, 4), { probe_client: 0, probe_server: 1, load_sender: 2, load_receiver: 1, shared: null });
    assert.deepEqual(loadPlacement([1, 3], 4), { probe_client: 1, probe_server: 3, load_sender: 0, load_receiver: 3, shared: null });
    // Two CPUs: never the probe client's; the server's, said so.
    const two = loadPlacement(undefined, 2);
    assert.equal(two.load_sender, 1);
    assert.match(two.shared!, /load sender shares CPU 1 with the probe server/);
    const one = loadPlacement(undefined, 1);
    assert.equal(one.load_sender, 0);
    assert.match(one.shared!, /shares CPU 0 with the probe client/);
  });

  it('warns when the probe is phase-locked to the load (a whole number of load bursts per probe)', () => {
    const at = (ratePps: number, burst: number, intervalNs: number) => phaseLockWarning({ stream: { ...STREAM_DEFAULTS, ratePps, burst }, probe: { ...RTT_DEFAULTS, intervalNs } });
    assert.match(at(1000, 1, 1e6)!, /whole multiple.*1 burst per probe/);
    assert.match(at(1_536_000, 16, 250_000)!, /24 bursts per probe/);
    assert.equal(at(1_520_000, 16, 250_000), null, '23.75 bursts per probe: the phase drifts');
    assert.equal(at(1000, 1, 997_000), null);
    assert.equal(at(0, 1, 1e6), null, 'an unpaced load has no period');
  });
});
