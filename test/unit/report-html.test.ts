/** The report's specification: which charts the data supports, and that each carries its data. */
import { rttRunSummary, streamSummary } from '../helpers/records.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caseStats, groupByCase } from '../../src/report/cases.js';
import { runTimeline } from '../../src/report/timeline.js';
import { timelineChart } from '../../src/report/timeline-chart.js';
import { csvReport, htmlReport } from '../../src/report/html.js';
import { charts } from '../../src/report/charts.js';
import { loadCurves } from '../../src/report/load-curves.js';
import { compareCases } from '../../src/report/compare.js';
import { barChart, cdfChart, esc, niceTicks } from '../../src/report/svg.js';
import { Histogram } from '../../src/stats/histogram.js';
import type { RunRecord } from '../../src/store/db.js';

function rttRun(id: string, label: string, center: number, repeat: number): RunRecord {
  const h = new Histogram();
  for (let i = 0; i < 1000; i++) h.record(center + (i % 100) * 10);
  return {
    id,
    batch_id: 'e1',
    created_at: '2026-11-25T00:00:00Z',
    datapath: label,
    workload: 'rtt',
    params: { count: 1000 },
    topology: {},
    env: { kernel: '6.18', cpu_count: 2 },
    status: 'ok',
    problem: null,
    samples: 1000,
    lost: 0,
    summary: rttRunSummary({ p50: center, p99: center + 990 }),
    engine: null,
    histogram: h.encode(),
    raw: null,
    series: null,
    probes: {
      packets: 2000,
      net_rx_softirqs_per_packet: 1,
      irqs_per_packet: 0.5,
      traversals_per_packet: label === 'bridge' ? 2 : 1,
      cpu: { all: { usr: 0.1, sys: 0.2, softirq: 0.05, irq: 0, idle: 0.65, steal: 0 } },
    },
    experiment_id: 'e1',
    case_key: `${label}|`,
    case_label: label,
    repeat,
  };
}

function streamRun(id: string, label: string, rx: number, repeat: number, flows: number): RunRecord {
  return {
    id,
    batch_id: 'e2',
    created_at: '2026-11-25T00:00:00Z',
    datapath: 'veth',
    workload: 'stream',
    params: { flows },
    topology: {},
    env: {},
    status: 'ok',
    problem: null,
    samples: 3,
    lost: 0,
    summary: streamSummary({ api: 'send', rx_pps: rx, tx_pps: rx, loss_ratio: 0 }),
    engine: null,
    histogram: null,
    raw: null,
    series: null,
    experiment_id: 'e2',
    case_key: `${label}|flows=${flows}`,
    case_label: `${label} flows=${flows}`,
    repeat,
  };
}

/** A crr case through `services` Services in `proxy` mode (or pod to pod), centred on `center` ns. */
function crrRun(id: string, proxy: string, services: number | null, center: number): RunRecord {
  const r = rttRun(id, proxy, center, 1);
  const label = services === null ? 'pod-ip' : `${proxy} services=${services}`;
  return {
    ...r,
    workload: 'crr',
    datapath: 'bridge',
    params: { mode: 'crr', ...(services === null ? {} : { datapath: { service: { proxy, services } } }) },
    case_key: `crr|${label}`,
    case_label: label,
    probes: null,
  } as unknown as RunRecord;
}

describe('HTML report', () => {
  it(
    'TCP transactions: their own CDF (never mixed into the RTT one) and the median over the number of ' + 'Services',
    () => {
      const cs = charts([
        caseStats('crr|pod-ip', [crrRun('p', 'pod', null, 25_000)]),
        ...[1, 100, 10_000].map((n) => caseStats(`crr|ipt${n}`, [crrRun(`i${n}`, 'iptables', n, 30_000 + n * 10)])),
        ...[1, 100, 10_000].map((n) => caseStats(`crr|nft${n}`, [crrRun(`n${n}`, 'nftables', n, 30_000)])),
      ]);
      assert.deepEqual(
        cs.map((c) => c.id),
        ['txn-cdf', 'scaling-services'],
      );
      const svg = cs.find((c) => c.id === 'scaling-services')!.svg;
      assert.equal(
        (svg.match(/class="mark"/g) ?? []).length,
        6,
        'two lines of three points; pod-ip has no Service count',
      );
      assert.ok(svg.includes('iptables (crr)') && svg.includes('nftables (crr)'));
    },
  );

  const rtt = [
    caseStats('veth|', [rttRun('a1', 'veth', 20_000, 1), rttRun('a2', 'veth', 21_000, 2)]),
    caseStats('bridge|', [rttRun('b1', 'bridge', 30_000, 1), rttRun('b2', 'bridge', 31_000, 2)]),
  ];
  it('RTT cases: CDF, p99 bars, CPU split, per-packet figures and traversals — each with one mark per datum', () => {
    const cs = charts(rtt);
    assert.deepEqual(
      cs.map((c) => c.id),
      ['rtt-cdf', 'rtt-p99', 'cpu', 'softirqs-per-packet', 'irqs-per-packet', 'traversals'],
    );
    const marks = (svg: string) => (svg.match(/class="mark"/g) ?? []).length;
    assert.equal(marks(cs.find((c) => c.id === 'rtt-p99')!.svg), 2);
    assert.equal(marks(cs.find((c) => c.id === 'cpu')!.svg), 2 * 5, 'two bars of five parts');
    assert.ok(marks(cs.find((c) => c.id === 'rtt-cdf')!.svg) > 20);
  });
  it("load levels: the probe's p50/p99/p99.9 over the load each level achieved, idle at 0, one curve per entry", () => {
    // an experiment's rate axis: veth at idle, 20k and 50k (received 19.5k and 41k), 2 repeats each
    const level = (rate: string, rx: number | null, center: number) =>
      [1, 2].map((k) => {
        const r = rttRun(`${rate}${k}`, 'veth', center, k);
        return {
          ...r,
          workload: 'load',
          case_key: `veth|rate=${rate}`,
          case_label: `veth rate=${rate}`,
          summary: {
            ...r.summary,
            level: rate,
            stream: rx === null ? null : streamSummary({ rx_pps: rx }),
          },
        } as RunRecord;
      });
    const cases = [
      caseStats('veth|rate=50k', level('50k', 41_000, 90_000)),
      caseStats('veth|rate=idle', level('idle', null, 30_000)),
      caseStats('veth|rate=20k', level('20k', 19_500, 45_000)),
    ];
    const chart = charts(cases).find((c) => c.id === 'latency-over-load');
    assert.ok(chart, 'a latency-over-load chart');
    for (const name of ['veth p50', 'veth p99', 'veth p99.9']) assert.ok(chart.svg.includes(name), name);
    const series = loadCurves(cases);
    assert.deepEqual(
      series.find((x) => x.name === 'veth p50')!.points.map(([x]) => x),
      [0, 19.5, 41],
      'ordered by the achieved load, idle at 0',
    );
    // one level alone is no curve
    assert.deepEqual(loadCurves(cases.slice(0, 1)), []);
  });
  it('stream cases over flows: throughput bars with intervals and a scaling line', () => {
    const cases = [1, 2, 4].map((f) =>
      caseStats(`veth|flows=${f}`, [
        streamRun(`s${f}a`, 'veth', 100_000 * f, 1, f),
        streamRun(`s${f}b`, 'veth', 100_000 * f + 2000, 2, f),
      ]),
    );
    const cs = charts(cases);
    assert.deepEqual(
      cs.map((c) => c.id),
      ['throughput', 'scaling-flows'],
    );
    assert.match(cs[1]!.svg, /polyline class="series"/);
    assert.equal((cs[1]!.svg.match(/class="mark"/g) ?? []).length, 3);
  });
  it('one self-contained file: no external reference; user text escaped', () => {
    const html = htmlReport({ title: 'a <b>', experiment: null, cases: rtt, runs: rtt.flatMap((c) => c.runs) });
    assert.doesNotMatch(html, /<script|src=|href=|@import|url\(/);
    assert.match(html, /<title>a &lt;b&gt;<\/title>/);
    assert.equal(esc('"<&>'), '&quot;&lt;&amp;&gt;');
  });
  it('CSV: one row per run, quoted where needed', () => {
    const csv = csvReport(rtt.flatMap((c) => c.runs))
      .trim()
      .split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0]!, /^experiment,case,repeat,run,datapath,workload,status,samples,lost,rtt_p50_ns/);
    assert.match(csv[1]!, /^e1,veth,1,a1,veth,rtt,ok,1000,0,/);
  });
  it('compare: matched by label; Welch over 3+ repeats decides, 2 repeats decide nothing', () => {
    const two = [caseStats('veth|', [rttRun('c1', 'veth', 40_000, 1), rttRun('c2', 'veth', 41_000, 2)])];
    assert.ok(
      compareCases(rtt, two, 'A', 'B').rows.every((x) => x.significant === null),
      'two repeats: n/a',
    );
    const a3 = [
      caseStats('veth|', [
        rttRun('a1', 'veth', 20_000, 1),
        rttRun('a2', 'veth', 21_000, 2),
        rttRun('a3', 'veth', 20_500, 3),
      ]),
    ];
    const b3 = [
      caseStats('veth|', [
        rttRun('c1', 'veth', 40_000, 1),
        rttRun('c2', 'veth', 41_000, 2),
        rttRun('c3', 'veth', 40_500, 3),
      ]),
    ];
    const r = compareCases(a3, b3, 'A', 'B');
    const p50 = r.rows.find((x) => x.figure === 'RTT p50, µs')!;
    assert.equal(p50.case, 'veth');
    assert.equal(p50.significant, true);
    assert.match(p50.how, /Welch p = .* over 3\+3 repeats/);
    assert.ok(p50.change > 0.9);
    assert.equal(
      compareCases(a3, a3, 'A', 'A').rows.every((x) => x.significant === false),
      true,
    );
  });
  it('ticks and the tail axis', () => {
    assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
    const svg = cdfChart({
      kind: 'x',
      title: 't',
      xLabel: 'µs',
      series: [
        {
          name: 's',
          points: [
            [10, 0.5],
            [20, 0.99],
            [30, 1],
          ],
        },
      ],
    });
    assert.match(svg, />99.99 %</);
    assert.equal((svg.match(/class="mark"/g) ?? []).length, 3);
  });

  it('an experiment of rtt and crr: one table per workload, cases named alike say which they are', () => {
    const rttCase = { ...rttRun('r1', 'bridge', 40_000, 1), case_key: 'rtt|pod-ip', case_label: 'pod-ip' };
    const runs = [rttCase, crrRun('c1', 'pod', null, 90_000)];
    const cases = groupByCase(runs);
    assert.deepEqual(
      cases.map((c) => c.label),
      ['pod-ip (rtt)', 'pod-ip (crr)'],
    );
    const html = htmlReport({ title: 't', experiment: null, cases, runs });
    const rttTable = /<h3 data-workload="rtt">[^<]*<\/h3><table>(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    const crrTable = /<h3 data-workload="crr">[^<]*<\/h3><table>(.*?)<\/table>/s.exec(html)?.[1] ?? '';
    assert.match(rttTable, /<td>pod-ip \(rtt\)<\/td>/);
    assert.doesNotMatch(rttTable, /crr/);
    assert.match(crrTable, /<td>pod-ip \(crr\)<\/td>/);
    assert.match(crrTable, /transactions\/s/);
  });

  it('crowded bar labels are turned whole, never cut, and the chart grows to hold them', () => {
    const long = Array.from({ length: 10 }, (_, i) => ({
      label: `iptables services=${10 ** (i % 5)} (crr)`,
      value: i + 1,
    }));
    const svg = barChart({ kind: 'k', title: 't', yLabel: 'y', bars: long });
    assert.equal((svg.match(/transform="rotate\(-35 /g) ?? []).length, 10);
    assert.ok(!svg.includes('…'), 'a label was cut');
    assert.ok(Number(/height="(\d+)"/.exec(svg)![1]) > 360);
    const few = barChart({ kind: 'k', title: 't', yLabel: 'y', bars: [{ label: 'veth', value: 1 }] });
    assert.doesNotMatch(few, /rotate\(-35/);
  });

  it("a run's timeline: latency windows and the host's CPU on the engine's clock, warm-up marked", () => {
    const r = {
      ...rttRun('t1', 'veth', 20_000, 1),
      series: {
        latency: {
          window_ns: 100e6,
          warmup_ns: 2e6,
          start_ns: 10e9,
          points: [
            { t_ns: 2e6, n: 100, lost: 0, p50_ns: 20_000, p90_ns: 25_000, p99_ns: 30_000, max_ns: 40_000 },
            { t_ns: 102e6, n: 5, lost: 5, p50_ns: null, p90_ns: null, p99_ns: null, max_ns: null },
          ],
        },
      },
      probes: {
        timeline_start_ns: 9.9e9, // the probes started 100 ms before the engine
        timeline: [
          {
            t_ms: 100,
            cpu: [{ usr: 0.1, sys: 0.2, softirq: 0.3, irq: 0, idle: 0.4, steal: 0 }, null],
            net_rx: [],
            irqs: [],
          },
          {
            t_ms: 200,
            cpu: [{ usr: 0.3, sys: 0.2, softirq: 0.1, irq: 0, idle: 0.4, steal: 0 }, null],
            net_rx: [],
            irqs: [],
          },
        ],
      },
    } as RunRecord;
    const tl = runTimeline(r)!;
    assert.deepEqual(tl.warmup_s, [0, 0.002]);
    const [lat, cpu] = tl.panels;
    assert.deepEqual(lat!.t_s, [0.052, 0.152]); // each window at its middle
    assert.deepEqual(lat!.columns.find((c) => c.name === 'p99')!.values, [30, null]); // µs; no reply: no value
    // sample k covers (t_ms(k-1), t_ms(k)]: at its middle, 0.1 s earlier on the engine's clock
    assert.deepEqual(
      cpu!.t_s.map((t) => Number(t.toFixed(3))),
      [-0.05, 0.05],
    );
    assert.deepEqual(cpu!.columns.find((c) => c.name === 'softirq')!.values, [30, 10]);
    const svg = timelineChart('veth (rtt)', tl);
    assert.match(svg, /data-chart="timeline"/);
    assert.match(svg, /class="warmup"/);
    assert.equal((svg.match(/class="mark"/g) ?? []).length, 3 + 6); // 3 latency values, 3 CPU columns × 2
  });
});
