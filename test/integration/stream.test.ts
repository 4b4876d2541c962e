/**
 * Throughput through real datapaths: every API moves packets end to end, every packet the sender
 * counted is either received or reported as dropped somewhere, a paced rate is the rate asked for,
 * and TCP delivers every byte it claims.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectEnvironment } from '../../src/env/environment.js';
import type { StreamApi } from '../../src/engine-client/protocol.js';
import { measure } from '../../src/runner/measure.js';
import type { LoadEngineRecord, LoadSummary, StreamSummary, SweepSummary } from '../../src/workloads/results.js';
import { loadPlacement } from '../../src/workloads/load.js';
import { installStopHandlers, resetStopState } from '../../src/runner/signals.js';
import { STREAM_DEFAULTS, type StreamParams } from '../../src/workloads/stream-params.js';
import { RTT_DEFAULTS } from '../../src/workloads/rtt.js';
import { hostSnapshot } from '../helpers/host.js';

async function stream(datapath: string, p: Partial<StreamParams>) {
  resetStopState();
  const m = await measure(
    datapath,
    { workload: 'stream', params: { ...STREAM_DEFAULTS, ...p } },
    { batchId: 'itest1', env: collectEnvironment(null), stop: installStopHandlers(), progress: () => {} },
  );
  assert.equal(m.record.status, 'ok', m.record.problem ?? '');
  const engine = m.record.engine as {
    tx: { packets: number; bytes: number; missed_slots: number; duration_ns: number };
    rx: { packets: number; bytes: number; socket_drops: number; rcvbuf: number };
  };
  return { s: m.record.summary as unknown as StreamSummary, tx: engine.tx, rx: engine.rx, record: m.record };
}

describe('stream through real datapaths', () => {
  for (const datapath of ['veth', 'bridge']) {
    for (const api of ['send', 'sendmmsg', 'raw', 'raw-mmsg'] as StreamApi[]) {
      it(`${datapath} / ${api}: packets arrive, and received + reported drops = sent`, async () => {
        const before = hostSnapshot();
        const { s, tx, rx } = await stream(datapath, { api, burst: 32, durationNs: 2e9, warmupNs: 0 });
        assert.ok(rx.packets > 1000, `only ${rx.packets} packets arrived`);
        assert.equal(rx.bytes, rx.packets * 64, 'every datagram carries the 64 B payload');
        assert.equal(rx.packets + s.rx_socket_drops + s.path_drops! + s.backlog_drops!, tx.packets, JSON.stringify(s));
        assert.equal(s.rx_call, api.endsWith('mmsg') ? 'recvmmsg' : 'recvmsg');
        assert.ok(s.rx_pps! > 0 && s.seconds >= 1);
        assert.deepEqual(hostSnapshot(), before);
      });
    }
    it(`${datapath} / tcp: the receiver reads exactly the bytes the sender wrote`, async () => {
      const { s, tx, rx } = await stream(datapath, {
        api: 'tcp',
        size: 1000,
        durationNs: 2e9,
        warmupNs: 0,
        sndbuf: 1 << 20,
        rcvbuf: 1 << 20,
      });
      assert.ok(tx.bytes > 1e6);
      assert.equal(rx.bytes, tx.bytes);
      assert.equal(s.loss_ratio, 0);
      // the buffers asked for, as the kernel sized them (it doubles what it is given, for its bookkeeping)
      assert.equal(s.sndbuf, 2 << 20);
      assert.equal(rx.rcvbuf, 2 << 20);
      // iperf3's per-second columns: one row per second the sender ran, its window and RTT
      const seconds = s.tcp_per_second!;
      assert.ok(seconds.length >= 2, JSON.stringify(seconds));
      assert.ok(seconds.every((x) => x.flow === 0 && x.cwnd > 0 && x.srtt_us > 0 && x.retransmits >= 0));
      // the run's total also counts the half-close after the last second
      assert.ok(seconds.reduce((a, x) => a + x.retransmits, 0) <= s.tcp_retransmits!, 'the seconds are within the run');
    });
  }

  it('veth / gso: datagrams arrive coalesced (UDP_GRO) and are counted one by one', async () => {
    const before = hostSnapshot();
    const { s, tx, rx } = await stream('veth', { api: 'gso', burst: 64, durationNs: 2e9, warmupNs: 0 });
    assert.ok(rx.packets > 1000, `only ${rx.packets} datagrams arrived`);
    assert.equal(tx.packets % 64, 0, 'a GSO send carries the whole burst or nothing');
    assert.equal(rx.bytes, rx.packets * 64, 'every datagram carries the 64 B payload');
    assert.equal(s.rx_call, 'recvmsg+UDP_GRO');
    // a drop the kernel counts is one packet as it travelled: up to a whole burst of datagrams
    const drops = s.rx_socket_drops + s.path_drops! + s.backlog_drops!;
    assert.ok(rx.packets <= tx.packets && rx.packets + 64 * drops >= tx.packets, JSON.stringify(s));
    assert.deepEqual(hostSnapshot(), before);
  });

  for (const [api, burst, rate] of [
    ['send', 1, 20_000],
    ['sendmmsg', 10, 50_000],
    ['raw-mmsg', 16, 40_000],
  ] as Array<[StreamApi, number, number]>) {
    it(
      `veth / ${api}: paced at ` +
        `${rate} pps (burst ${burst}): every slot of the schedule sent or counted missed, what was sent ` +
        `received`,
      async () => {
        // A 16 MiB receive buffer: this test is about the sender's pacing, and on this VM the receiver
        // can stall for milliseconds (measured: up to 3 % lost with the default 208 KiB at 50 kpps).
        const { s, tx, rx } = await stream('veth', {
          api,
          burst,
          ratePps: rate,
          durationNs: 4e9,
          warmupNs: 1e9,
          rcvbuf: 16 << 20,
        });
        assert.ok(rx.rcvbuf >= 16 << 20, `rcvbuf ${rx.rcvbuf}`);
        // The schedule is kept: slots sent plus slots skipped after a stall (a noisy VM stalls the sender:
        // measured 3-13 % of 50 µs slots missed on a busy day) add up to the offered rate.
        const slotsPerSecond = (tx.packets + tx.missed_slots * burst) / (tx.duration_ns / 1e9);
        assert.ok(
          Math.abs(slotsPerSecond - rate) / rate < 0.02,
          `${tx.packets} sent + ${tx.missed_slots} slots missed in ${tx.duration_ns} ns`,
        );
        // most slots sent: how many a sleeping sender catches on a VM is the bench's business (with the
        // kernel's default 50 µs timer slack, 33 565 of 80 000 were missed on an idle run; on a host with 31 %
        // steal, a fifth) — this says only that the pacer sends throughout
        assert.ok(tx.missed_slots * burst < tx.packets, `${tx.missed_slots} slots missed, ${tx.packets} sent`);
        assert.ok(s.tx_pps! <= rate * 1.02, `tx ${s.tx_pps} pps: never faster than offered`);
        assert.ok(Math.abs(s.rx_pps! - s.tx_pps!) / s.tx_pps! < 0.02, `rx ${s.rx_pps} of tx ${s.tx_pps} pps`);
        assert.ok(s.loss_ratio < 0.01, `loss ${s.loss_ratio}`);
        assert.equal(s.offered_pps, rate);
      },
    );
  }

  it(
    'sweep: one point per offered rate through one datapath, and the maximum sustained rate (never a rate ' +
      'the sender could not offer)',
    async () => {
      resetStopState();
      const before = hostSnapshot();
      const m = await measure(
        'veth',
        {
          workload: 'sweep',
          params: {
            ...STREAM_DEFAULTS,
            api: 'sendmmsg',
            burst: 8,
            durationNs: 2e9,
            warmupNs: 1e9,
            rates: [5_000, 10_000, 50_000_000],
            lossThreshold: 0.01,
            senderLimit: 0.02,
          },
        },
        { batchId: 'itest2', env: collectEnvironment(null), stop: installStopHandlers(), progress: () => {} },
      );
      assert.equal(m.record.status, 'ok', m.record.problem ?? '');
      assert.equal(m.record.workload, 'sweep');
      const s = m.record.summary as SweepSummary;
      assert.deepEqual(
        s.points.map((p) => p.offered_pps),
        [5_000, 10_000, 50_000_000],
      );
      // Whether this VM's sender reaches 5k and 10k pps is the bench's business (a stall once left the 10k point
      // at 8 992 pps, sender-limited): the sweep is checked for what it makes of what the sender achieved.
      for (const p of s.points) {
        assert.equal(p.sender_limited, p.tx_pps! < p.offered_pps * 0.98, JSON.stringify(p));
        assert.ok(p.tx_pps! <= p.offered_pps * 1.02, `never faster than offered: ${JSON.stringify(p)}`);
        assert.ok(p.rx_pps! <= p.tx_pps! * 1.02, JSON.stringify(p));
      }
      // 50 Mpps is beyond any sender here: it loses nothing it sent, yet it is not sustained.
      const top = s.points[2]!;
      assert.equal(top.sender_limited, true, JSON.stringify(top));
      // the maximum sustained rate: the highest point the sender offered in full, without loss over 1 %
      const sustained = s.points.filter((p) => !p.sender_limited && p.loss_ratio < 0.01);
      const best = sustained.length ? sustained[sustained.length - 1]! : null;
      assert.equal(s.max_sustained_offered_pps, best?.offered_pps ?? null, JSON.stringify(s.points));
      assert.equal(s.max_sustained_pps, best?.rx_pps ?? null);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('load: an open-loop RTT probe under a paced load, with its worst samples and its own lateness', async () => {
    resetStopState();
    const before = hostSnapshot();
    const m = await measure(
      'veth',
      {
        workload: 'load',
        params: {
          level: '5k',
          stream: { ...STREAM_DEFAULTS, api: 'sendmmsg', burst: 8, ratePps: 5_000, warmupNs: 1e9 },
          probe: { ...RTT_DEFAULTS, count: 500, intervalNs: 1e6, raw: true, openLoop: true, pace: 'spin' },
          settleNs: 1e9,
          keepWorst: 100,
          placement: loadPlacement(undefined, 2),
        },
      },
      { batchId: 'itest3', env: collectEnvironment(null), stop: installStopHandlers(), progress: () => {} },
    );
    assert.equal(m.record.status, 'ok', m.record.problem ?? '');
    assert.equal(m.record.samples + m.record.lost, 500);
    assert.equal(m.record.workload, 'load');
    const summary = m.record.summary as LoadSummary & { max: number };
    assert.equal(summary.timing, 'open-loop');
    assert.equal((m.record.engine as LoadEngineRecord).probe!.timing, 'open-loop');
    assert.ok(
      summary.lateness_ns &&
        summary.lateness_ns.max >= summary.lateness_ns.p99 &&
        summary.lateness_ns.p99 >= summary.lateness_ns.p50,
      JSON.stringify(summary.lateness_ns),
    );
    assert.equal(summary.worst.length, 100);
    assert.equal(summary.worst[0]![0], summary.max);
    for (let i = 1; i < summary.worst.length; i++) assert.ok(summary.worst[i]![0] <= summary.worst[i - 1]![0]);
    assert.ok(Math.abs(summary.stream!.rx_pps! - 5_000) / 5_000 < 0.02, `load ran at ${summary.stream!.rx_pps} pps`);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('bridge / 3 flows: three pairs at once, each in its own namespaces; every packet accounted for', async () => {
    const before = hostSnapshot();
    const { s, record } = await stream('bridge', {
      api: 'sendmmsg',
      burst: 16,
      flows: 3,
      durationNs: 2e9,
      warmupNs: 0,
    });
    const engine = record.engine as {
      flows: Array<{ tx: { packets: number }; rx: { packets: number; socket_drops: number } }>;
    };
    assert.equal(s.flows, 3);
    assert.equal(engine.flows.length, 3);
    assert.equal(s.per_flow!.length, 3);
    const topo = record.topology as { pairs: Array<{ client: { netns: string } }> };
    assert.equal(new Set(topo.pairs.map((p) => p.client.netns)).size, 3);
    for (const f of engine.flows) assert.ok(f.rx.packets > 1000);
    const tx = engine.flows.reduce((a, f) => a + f.tx.packets, 0);
    const rx = engine.flows.reduce((a, f) => a + f.rx.packets, 0);
    assert.equal(rx + s.rx_socket_drops + s.path_drops! + s.backlog_drops!, tx);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('keeps the per-second series of both ends', async () => {
    const { record } = await stream('loopback', {
      api: 'sendmmsg',
      burst: 8,
      ratePps: 10_000,
      durationNs: 3e9,
      warmupNs: 1e9,
    });
    const series = record.series as {
      tx: Array<{ t: number; packets: number }>;
      rx: Array<{ t: number; packets: number }>;
    };
    assert.ok(series.tx.length >= 3 && series.rx.length >= 2);
    assert.deepEqual(
      series.tx.slice(0, 3).map((x) => x.t),
      [0, 1, 2],
    );
    assert.ok(series.tx[1]!.packets > 9_000 && series.tx[1]!.packets < 11_000);
  });
});
