/**
 * Latency under load is measured open loop (seed 003, as MoonGen does): the probe's sender never
 * waits for replies, so a loss is one loss, a stall shows in the probes sent during it, and the
 * sender's own lateness is not charged to the path. Each test here fails with a closed-loop probe.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import type { EngineProcess } from '../../src/engine-client/supervisor.js';
import { runCommand } from '../../src/local/command.js';
import { stateDir } from '../../src/paths.js';
import { Histogram } from '../../src/stats/histogram.js';
import { loadPlacement, runLoadLatency } from '../../src/workloads/load.js';
import { RTT_DEFAULTS, runRtt, type RttOutcome, type RttParams } from '../../src/workloads/rtt.js';
import { runStream } from '../../src/workloads/stream.js';
import { STREAM_DEFAULTS } from '../../src/workloads/stream-params.js';
import { topologyForSuite } from '../helpers/topology.js';

const placement = loadPlacement(undefined, os.cpus().length);
const probe: RttParams = {
  ...RTT_DEFAULTS,
  count: 2000,
  warmup: 1,
  intervalNs: 1e6,
  raw: true,
  openLoop: true,
  pace: 'spin',
  cpus: [placement.probe_client, placement.probe_server],
};
/** An onEngine hook that freezes the engine labelled `label` (SIGSTOP) `afterMs` after it starts, for `forMs`. */
function stallOnce(label: string, afterMs: number, forMs: number): (e: EngineProcess) => void {
  let done = false;
  return (e) => {
    if (e.label !== label || done) return;
    done = true;
    setTimeout(() => {
      process.kill(e.pid!, 'SIGSTOP');
      setTimeout(() => process.kill(e.pid!, 'SIGCONT'), forMs);
    }, afterMs);
  };
}

const quantile = (o: RttOutcome, q: number) =>
  Histogram.fromEngine(o.client.hist, { min: o.client.min_ns, max: o.client.max_ns }).valueAtQuantile(q);

describe('schedules that do not lie: the open-loop probe, the paced sender', () => {
  const topology = topologyForSuite('veth');

  it('a lost probe is one loss: the p99 stays in the loss-free band', async () => {
    const { client, server } = topology().endpoints;
    const free = await runRtt(client, server, probe, { workDir: stateDir() });
    assert.equal(free.client.lost, 0, 'the loss-free run lost probes');
    // Drop probe 1000 on its way into the server's namespace, by the sequence number in its payload
    // (bytes 8..15 of the UDP payload, little-endian): 1000 = e8 03 00 .. 00.
    const nft = (script: string) => runCommand(['ip', 'netns', 'exec', server.netns, 'nft', '-f', '-'], script);
    await nft(
      'table inet cnptestdrop {\n chain in {\n  type filter hook input priority 0;\n  udp dport != 0 ' +
        '@th,128,64 0xe803000000000000 counter drop\n }\n}\n',
    );
    let lossy: RttOutcome;
    try {
      lossy = await runRtt(client, server, probe, { workDir: stateDir() });
    } finally {
      await nft('delete table inet cnptestdrop\n');
    }
    assert.equal(lossy.client.lost, 1);
    assert.equal(lossy.raw![999], -1n, 'the dropped probe (sequence 1000, after 1 warm-up) is the lost one');
    const p99Free = quantile(free, 0.99);
    const p99Lossy = quantile(lossy, 0.99);
    // What this guards against costs the 200 ms timeout; scheduling noise on this 2-CPU VM moved a p99
    // by 1.09 ms between two runs once, and by 2.05 ms another time, so the band is 20 ms wide: a tenth
    // of the defect it is there to catch
    assert.ok(
      p99Lossy <= Math.max(3 * p99Free, p99Free + 20e6),
      `p99 ${p99Lossy} ns with one loss vs ${p99Free} ns without`,
    );
    // A closed loop waits out the 200 ms timeout and charges it to the probes after it.
    assert.ok(lossy.client.max_ns < 100e6, `max ${lossy.client.max_ns} ns`);
  });

  it('a server stalled for 50 ms: the probes sent during the stall come back late by what is left of it', async () => {
    const { client, server } = topology().endpoints;
    const out = await runRtt(
      client,
      server,
      { ...probe, count: 1000 },
      { workDir: stateDir(), onEngine: stallOnce('rtt-server', 500, 50) },
    );
    assert.equal(out.client.lost, 0, 'a 50 ms stall under a 200 ms timeout loses nothing');
    const samples = [...out.raw!].map(Number);
    const during = samples.filter((v) => v > 5e6);
    // About 50 probes were sent during the stall (1 per ms); each waits for the rest of it.
    assert.ok(during.length >= 30 && during.length <= 80, `${during.length} samples over 5 ms`);
    const worst = Math.max(...samples);
    assert.ok(worst >= 40e6 && worst <= 150e6, `worst ${worst} ns`);
  });

  it('a 1 kpps load on CPUs of its own: the probe p50 within 1.5× of the idle p50, measured the same way', async () => {
    const { client, server } = topology().endpoints;
    // Every 997 µs, not every 1 ms: a probe at the load's own period locks to one phase of it for the
    // whole run (measured: p50 28 or 62 µs from run to run, depending on that phase alone).
    const p = { ...probe, intervalNs: 997_000 };
    const idle = await runRtt(client, server, p, { workDir: stateDir() });
    const loaded = await runLoadLatency(
      client,
      server,
      {
        level: '1k',
        stream: {
          ...STREAM_DEFAULTS,
          ratePps: 1000,
          warmupNs: 0.5e9,
          cpus: [placement.load_sender, placement.load_receiver],
        },
        probe: p,
        settleNs: 0.5e9,
        keepWorst: 10,
        placement,
      },
      stateDir(),
    );
    const idleP50 = quantile(idle, 0.5);
    const loadP50 = quantile(loaded.probe, 0.5);
    assert.ok(
      loadP50 <= 1.5 * idleP50,
      `p50 ${loadP50} ns under load vs ${idleP50} ns idle (${placement.shared ?? 'separate CPUs'})`,
    );
    assert.ok(
      Math.abs(loaded.stream!.rx.packets / ((loaded.stream!.rx.duration_ns || 1) / 1e9) - 1000) < 100,
      'the load ran at 1 kpps',
    );
  });

  it('a paced sender stalled for 300 ms skips the slots it missed instead of bursting to catch up', async () => {
    const { client, server } = topology().endpoints;
    const out = await runStream(
      client,
      server,
      { ...STREAM_DEFAULTS, ratePps: 10_000, durationNs: 3e9, warmupNs: 0, pace: 'spin', rcvbuf: 8 << 20 },
      { onEngine: stallOnce('stream-tx', 1200, 300) },
    );
    // About 3000 slots fell in the stall: skipped and counted, so about 27 000 of 30 000 were sent.
    assert.ok(out.tx.missed_slots >= 2000 && out.tx.missed_slots <= 4500, `missed ${out.tx.missed_slots}`);
    assert.ok(
      Math.abs(out.tx.packets + out.tx.missed_slots - 30_000) < 600,
      `sent ${out.tx.packets} + missed ${out.tx.missed_slots}`,
    );
    // No second ran faster than the offered rate (a catch-up burst would show as ~13 000 in one second).
    for (const sec of out.txSeries.filter((x) => x.ns > 0.9e9))
      assert.ok(sec.packets / (sec.ns / 1e9) < 10_500, `a second at ${sec.packets} packets`);
  });
});
