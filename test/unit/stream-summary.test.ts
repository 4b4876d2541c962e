/** The stream summary says "not measured" (null, printed –) rather than inventing a number. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StreamRxResult, StreamTxResult } from '../../src/engine-client/protocol.js';
import { measuredAndLost } from '../../src/cli/results.js';
import { caseStats } from '../../src/report/cases.js';
import { charts } from '../../src/report/charts.js';
import { streamTable } from '../../src/report/run-tables.js';
import { experimentTables } from '../../src/report/experiment-tables.js';
import type { RunRecord } from '../../src/store/db.js';
import { STREAM_DEFAULTS, type StreamOutcome } from '../../src/workloads/stream-params.js';
import { streamOutcomeOf } from '../../src/workloads/stream-outcome.js';
import { streamSummary } from '../helpers/records.js';

const second = (t: number, packets: number) => ({
  event: 'interval' as const,
  role: 'stream-rx' as const,
  t,
  start: t * 1e9,
  ns: 1e9,
  packets,
  bytes: packets * 64,
  errors: 0,
  drops: 0,
});

function outcome(seconds: number): StreamOutcome {
  const tx = {
    event: 'result',
    role: 'stream-tx',
    api: 'send',
    size: 64,
    frame_bytes: 0,
    burst: 1,
    rate_pps: 0,
    pace: 'sleep',
    qdisc_bypass: 0,
    packets: 1000 * seconds,
    bytes: 64000 * seconds,
    errors: 0,
    short_sends: 0,
    missed_slots: 0,
    duration_ns: seconds * 1e9,
    stopped: null,
  } satisfies StreamTxResult;
  const rx = {
    event: 'result',
    role: 'stream-rx',
    call: 'recvmsg',
    packets: 1000 * seconds,
    bytes: 64000 * seconds,
    duration_ns: seconds * 1e9,
    socket_drops: 0,
    snmp_rcvbuf_errors: 0,
    snmp_in_errors: 0,
    rcvbuf: 212992,
  } satisfies StreamRxResult;
  const series = Array.from({ length: seconds }, (_, t) => second(t, 1000 + t));
  return {
    tx,
    rx,
    txSeries: series.map((s) => ({ ...s, role: 'stream-tx' as const })),
    rxSeries: series,
    problem: null,
  };
}

describe('stream summary', () => {
  it('the spread of a single steady second is not measured: null, not ± 0', () => {
    const one = streamOutcomeOf(
      { ...STREAM_DEFAULTS, warmupNs: 0 },
      [outcome(1)],
      { devices: 0, backlog: 0 },
      { devices: 0, backlog: 0 },
    );
    assert.equal(one.summary!.seconds, 1);
    assert.equal(one.summary!.rx_pps_stddev, null);
    const three = streamOutcomeOf(
      { ...STREAM_DEFAULTS, warmupNs: 0 },
      [outcome(3)],
      { devices: 0, backlog: 0 },
      { devices: 0, backlog: 0 },
    );
    assert.ok(three.summary!.rx_pps_stddev! > 0);
  });

  it("the senders' pacing cost and TCP retransmits, summed over flows; unreported: null, never 0", () => {
    const paced = (spin: number | undefined, retrans?: number): StreamOutcome => {
      const o = outcome(2);
      return {
        ...o,
        tx: {
          ...o.tx,
          pace: 'auto',
          ...(spin === undefined ? {} : { spin_ns: spin }),
          ...(retrans === undefined ? {} : { api: 'tcp' as const, retransmits: retrans }),
        },
      };
    };
    const none = { devices: 0, backlog: 0 };
    const two = streamOutcomeOf({ ...STREAM_DEFAULTS, warmupNs: 0 }, [paced(5e8), paced(1e9)], none, none);
    assert.equal(two.summary!.pace, 'auto');
    assert.equal(two.summary!.spin_share, 0.375); // 1.5 s spun of 4 s sent
    assert.equal(two.summary!.tcp_retransmits, undefined, 'a UDP stream has none to report');
    const old = streamOutcomeOf({ ...STREAM_DEFAULTS, warmupNs: 0 }, [paced(5e8), paced(undefined)], none, none);
    assert.equal(old.summary!.spin_share, null);
    const tcp = streamOutcomeOf({ ...STREAM_DEFAULTS, warmupNs: 0 }, [paced(0, 3), paced(0, 4)], none, none);
    assert.equal(tcp.summary!.tcp_retransmits, 7);
  });

  it('a drop counter that could not be read is null (–), not 0 drops', () => {
    const o = streamOutcomeOf(
      { ...STREAM_DEFAULTS, warmupNs: 0 },
      [outcome(3)],
      { devices: null, backlog: 5 },
      { devices: 7, backlog: 9 },
    );
    assert.equal(o.summary!.path_drops, null);
    assert.equal(o.summary!.backlog_drops, 4);
  });

  it('a repeat whose send rate was not measured is left out of the mean send rate, not averaged in as 0', () => {
    const run = (id: string, tx: number | null): RunRecord => ({
      id,
      batch_id: 'b',
      created_at: '2026-11-29T00:00:00Z',
      datapath: 'veth',
      workload: 'stream',
      params: {},
      topology: {},
      env: {},
      status: 'ok',
      problem: null,
      samples: 3,
      lost: 0,
      summary: streamSummary({ rx_pps: 1000, tx_pps: tx }),
      engine: null,
      histogram: null,
      raw: null,
      series: null,
    });
    const c = caseStats('k', [run('a', 1000), run('b', null), run('c', 1000)]);
    assert.equal(c.tx_pps!.mean, 1000);
    assert.equal(c.tx_pps!.n, 2);
  });

  it('results list says what its columns count: round trips, steady seconds, rates; packets or bytes lost', () => {
    const base = {
      id: 'x',
      batch_id: 'b',
      created_at: '2026-11-29T00:00:00Z',
      datapath: 'veth',
      params: {},
      topology: {},
      env: {},
      status: 'ok' as const,
      problem: null,
      histogram: null,
      raw: null,
      engine: null,
      series: null,
    };
    assert.deepEqual(
      measuredAndLost({ ...base, workload: 'stream', samples: 2, lost: 5, summary: streamSummary({}) }),
      ['2 s', '5 pkts'],
    );
    assert.deepEqual(
      measuredAndLost({ ...base, workload: 'stream', samples: 2, lost: 0, summary: streamSummary({ api: 'tcp' }) }),
      ['2 s', '0 bytes'],
    );
    assert.deepEqual(measuredAndLost({ ...base, workload: 'rtt', samples: 300, lost: 1, summary: null }), [
      '300 RTTs',
      '1 probes',
    ]);
  });

  it('TCP is reported in Gbit/s (its table, its chart), UDP in packets per second', () => {
    const base = {
      batch_id: 'b',
      created_at: '2026-11-29T00:00:00Z',
      datapath: 'veth',
      params: {},
      topology: {},
      env: {},
      status: 'ok' as const,
      problem: null,
      histogram: null,
      raw: null,
      engine: null,
      series: null,
      samples: 3,
      lost: 0,
      workload: 'stream' as const,
    };
    const tcp: RunRecord = {
      ...base,
      id: 'tcp001',
      case_key: 'tcp',
      case_label: 'tcp',
      summary: streamSummary({
        api: 'tcp',
        size: 32768,
        rx_pps: 30_000,
        tx_pps: 30_000,
        rx_gbps: 7.8642,
        tx_gbps: 7.8701,
        rx_gbps_stddev: 0.12,
      }),
    };
    const udp: RunRecord = {
      ...base,
      id: 'udp001',
      case_key: 'udp',
      case_label: 'udp',
      summary: streamSummary({ api: 'send', rx_pps: 250_000, tx_pps: 250_000, rx_gbps: 0.128 }),
    };
    const text = streamTable([udp, tcp]);
    assert.match(text, /TCP throughput, Gbit\/s/);
    assert.match(text, /veth\s+32768\s+1\s+7\.870\s+7\.864 ± 0\.120/);
    assert.match(text, /send\s+64\s+1\s+max\s+250\.0\s+250\.0 ± –/);
    const ids = charts([caseStats('tcp', [tcp]), caseStats('udp', [udp])]).map((c) => c.id);
    assert.ok(ids.includes('throughput-tcp') && ids.includes('throughput'), ids.join(','));
    const tcpChart = charts([caseStats('tcp', [tcp])]).find((c) => c.id === 'throughput-tcp')!;
    assert.match(tcpChart.svg, /Gbit\/s/);
  });

  it('sweep repeats that sustained no rate are counted beside the mean, never silently dropped from it', () => {
    const base = {
      batch_id: 'b',
      created_at: '2026-11-29T00:00:00Z',
      datapath: 'veth',
      params: {},
      topology: {},
      env: {},
      status: 'ok' as const,
      problem: null,
      histogram: null,
      raw: null,
      engine: null,
      series: null,
      samples: 2,
      lost: 0,
      workload: 'sweep' as const,
      case_key: 'k',
      case_label: 'veth',
    };
    const sweep = (id: string, max: number | null): RunRecord => ({
      ...base,
      id,
      summary: { api: 'send', size: 64, burst: 1, flows: 1, loss_threshold: 0.001, points: [], max_sustained_pps: max },
    });
    const c = caseStats('k', [sweep('a', 100_000), sweep('b', null), sweep('c', 120_000)]);
    assert.equal(c.max_sustained_pps!.n, 2);
    assert.equal(c.sustained_none, 1);
    const text = experimentTables(
      {
        id: 'e',
        name: 'x',
        scale: 'quick',
        file: 'f',
        text: '',
        plan_hash: 'h',
        cases: 1,
        repeats: 3,
        created_at: '',
        finished_at: null,
        status: 'done',
      },
      [c],
    );
    assert.match(text, /sustained none/);
    assert.match(text, /veth\s+3\/3\s+110\.0 ± 10\.0\s+n\/a \(needs ≥ 3 repeats\)\s+1 of 3/);
  });

  it('a TCP case without a steady second stays in the TCP table, its figure "–" (it went to the kpps table)', () => {
    const tcpRun = (id: string, gbps: number | null): RunRecord => ({
      id,
      batch_id: 'b',
      created_at: '2026-12-06T00:00:00Z',
      datapath: 'bridge',
      params: {},
      topology: {},
      env: {},
      status: gbps === null ? 'partial' : 'ok',
      problem: gbps === null ? 'no steady-state second' : null,
      histogram: null,
      raw: null,
      engine: null,
      series: null,
      samples: 0,
      lost: 0,
      workload: 'stream',
      case_key: 'k',
      case_label: 'bridge flows=64',
      summary: streamSummary({ api: 'tcp', rx_pps: gbps === null ? null : 1000, rx_gbps: gbps }),
    });
    const c = caseStats('k', [tcpRun('a', null), tcpRun('b', null)]);
    assert.equal(c.api, 'tcp');
    const e = { id: 'e', name: 'x', scale: 'quick', file: 'f', text: '', plan_hash: 'h', cases: 1, repeats: 2 };
    const text = experimentTables({ ...e, created_at: '', finished_at: null, status: 'done' }, [c]);
    assert.match(text, /TCP throughput[^\n]*\n[^\n]*\n[^\n]*\nbridge flows=64\s+2\/2\s+–/);
    assert.doesNotMatch(text, /kpps received/);
  });
});
