import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs } from '../../src/cli/quick.js';
import {
  loadDurationNs,
  loadLevels,
  loadPlacement,
  phaseLockWarning,
  worstSamples,
  type LoadParams,
} from '../../src/workloads/load.js';
import { parseRawSamples, rawBlob } from '../../src/engine-client/protocol.js';
import { RTT_DEFAULTS } from '../../src/workloads/rtt.js';
import { STREAM_DEFAULTS } from '../../src/workloads/stream-params.js';

describe('latency under load', () => {
  it('keeps the n worst samples, largest first, skipping losses', () => {
    const s = BigInt64Array.from([50n, -1n, 900n, 10n, 900n, 300n]);
    assert.deepEqual(worstSamples(s, 3), [
      [900, 2],
      [900, 4],
      [300, 5],
    ]);
    assert.deepEqual(worstSamples(s, 100).length, 5);
    assert.deepEqual(worstSamples(new BigInt64Array(0), 5), []);
  });

  it('the n worst of random samples with ties and losses are those a full sort finds', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const s = BigInt64Array.from({ length: 20_000 }, () =>
      rand() < 0.05 ? -1n : BigInt(Math.floor(rand() * 3000) + (rand() < 0.001 ? 2 ** 40 : 0)),
    );
    const reference = (n: number) =>
      [...s]
        .flatMap((v, i): Array<[number, number]> => (v >= 0n ? [[Number(v), i]] : []))
        .sort((a, b) => b[0] - a[0] || a[1] - b[1])
        .slice(0, n);
    for (const n of [0, 1, 7, 5000, 30_000]) assert.deepEqual(worstSamples(s, n), reference(n), `n = ${n}`);
  });

  it('10^7 samples: the worst 5000 without a value per sample (the heap grows by far less than the samples)', () => {
    const s = new BigInt64Array(10_000_000);
    for (let i = 0; i < s.length; i++) s[i] = BigInt(i % 100_003);
    s[123] = 10n ** 12n; // beyond 2^32: both halves read
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const w = worstSamples(s, 5000);
    const grew = process.memoryUsage().heapUsed - before;
    assert.deepEqual(w[0], [1e12, 123]);
    assert.deepEqual(w[1], [100_002, 100_002]);
    assert.equal(w.length, 5000);
    // a tuple per sample was ~10^7 × 40 bytes; the heap of 5000 and its answer are under 1 MB
    assert.ok(grew < 32 << 20, `heap grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  });

  it('raw sample files are read as they lie (no copy), and stored without their header', () => {
    const n = 5;
    const file = Buffer.alloc(16 + n * 8);
    file.write('CNPRAW01', 0, 'latin1');
    file.writeBigUInt64LE(BigInt(n), 8);
    [10n, -1n, 2n ** 40n, 0n, 7n].forEach((v, i) => file.writeBigInt64LE(v, 16 + i * 8));
    const s = parseRawSamples(file);
    assert.deepEqual([...s], [10n, -1n, 2n ** 40n, 0n, 7n]);
    assert.equal(s.buffer, file.buffer, 'a view of the file, not a copy');
    assert.deepEqual(rawBlob(s), file.subarray(16));
    // unaligned (a slice one byte in): copied, same values
    const shifted = Buffer.concat([Buffer.alloc(1), file]).subarray(1);
    assert.deepEqual([...parseRawSamples(shifted)], [...s]);
  });

  it('--rate idle,20k,max: one job per level, idle first, the same probe and CPUs; levels named once', () => {
    const a = parseQuickArgs(['veth', '--workload', 'load', '--rate', '20k,idle,max', '--count', '3000']);
    assert.ok(a !== 'help');
    const ps = a.jobs.map((j) => j.params as LoadParams);
    assert.deepEqual(
      ps.map((p) => `${p.level} at ${p.stream.ratePps} pps`),
      ['idle at 0 pps', '20k at 20000 pps', 'max at 0 pps'],
    );
    assert.deepEqual(new Set(ps.map((p) => JSON.stringify([p.probe, p.placement]))).size, 1);
    const noRate = parseQuickArgs(['veth', '--workload', 'load']);
    assert.ok(noRate !== 'help');
    assert.equal((noRate.jobs[0]!.params as LoadParams).level, 'max');
    assert.deepEqual(loadLevels('0'), [{ name: 'max', ratePps: 0 }]);
    assert.throws(() => loadLevels('idle,10k,idle'), /load level 'idle' named twice/);
    assert.throws(() => loadLevels('idle,fast'), /--rate/);
  });

  it('runs the load for the settle time, the probe schedule, and a tail', () => {
    const p: LoadParams = {
      level: 'max',
      stream: STREAM_DEFAULTS,
      probe: { ...RTT_DEFAULTS, count: 999, warmup: 1, intervalNs: 1e6 },
      settleNs: 1e9,
      keepWorst: 10,
      placement: loadPlacement(undefined, 2),
    };
    assert.equal(loadDurationNs(p), 1e9 + 1e9 + 2e9);
  });

  it(
    "quick --workload load: --size is the load's, the probe stays 64 B, periodic, open loop, spinning to " +
      'keep its schedule',
    () => {
      const a = parseQuickArgs([
        'bridge',
        '--workload',
        'load',
        '--api',
        'sendmmsg',
        '--burst',
        '16',
        '--rate',
        '1.52M',
        '--size',
        '1024',
        '--count',
        '20000',
        '--interval',
        '250us',
        '--settle',
        '2s',
        '--worst',
        '5000',
      ]);
      assert.ok(a !== 'help');
      const j = a.jobs[0]!;
      assert.equal(j.workload, 'load');
      const l = j.params as LoadParams;
      assert.deepEqual(
        [l.stream.api, l.stream.size, l.stream.burst, l.stream.ratePps, l.stream.warmupNs],
        ['sendmmsg', 1024, 16, 1_520_000, 2e9],
      );
      assert.deepEqual(
        [l.probe.size, l.probe.count, l.probe.intervalNs, l.probe.openLoop, l.probe.raw, l.probe.pace],
        [64, 20000, 250_000, true, true, 'spin'],
      );
      // The load keeps its own pacing default; --pace sets both.
      assert.equal(l.stream.pace, 'sleep');
      const slept = parseQuickArgs(['bridge', '--workload', 'load', '--pace', 'sleep']);
      assert.ok(slept !== 'help');
      assert.equal((slept.jobs[0]!.params as LoadParams).probe.pace, 'sleep');
      assert.deepEqual([l.settleNs, l.keepWorst], [2e9, 5000]);
      assert.throws(() => parseQuickArgs(['veth', '--workload', 'load', '--interval', '0']), /periodic probe/);
      assert.throws(
        () => parseQuickArgs(['veth', '--workload', 'load', '--duration', '5s']),
        /does not apply to --workload load/,
      );
    },
  );

  it('gives the load sender a CPU of its own where there is one, and says what shares', () => {
    assert.deepEqual(loadPlacement(undefined, 4), {
      probe_client: 0,
      probe_server: 1,
      load_sender: 2,
      load_receiver: 1,
      shared: null,
    });
    assert.deepEqual(loadPlacement([1, 3], 4), {
      probe_client: 1,
      probe_server: 3,
      load_sender: 0,
      load_receiver: 3,
      shared: null,
    });
    // Two CPUs: never the probe client's; the server's, said so.
    const two = loadPlacement(undefined, 2);
    assert.equal(two.load_sender, 1);
    assert.match(two.shared!, /load sender shares CPU 1 with the probe server/);
    const one = loadPlacement(undefined, 1);
    assert.equal(one.load_sender, 0);
    assert.match(one.shared!, /shares CPU 0 with the probe client/);
  });

  it('warns when the probe is phase-locked to the load (a whole number of load bursts per probe)', () => {
    const at = (ratePps: number, burst: number, intervalNs: number) =>
      phaseLockWarning({ stream: { ...STREAM_DEFAULTS, ratePps, burst }, probe: { ...RTT_DEFAULTS, intervalNs } });
    assert.match(at(1000, 1, 1e6)!, /whole multiple.*1 burst per probe/);
    assert.match(at(1_536_000, 16, 250_000)!, /24 bursts per probe/);
    assert.equal(at(1_520_000, 16, 250_000), null, '23.75 bursts per probe: the phase drifts');
    assert.equal(at(1000, 1, 997_000), null);
    assert.equal(at(0, 1, 1e6), null, 'an unpaced load has no period');
  });
});
