/**
 * cnperf serve's routes without a socket (hono's app.request) over a real store, and the metrics it
 * and `cnperf export` write: what each page shows, that every value is escaped, the CSP, the Host and
 * token checks, and OpenMetrics text a parser can take.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseListen } from '../../src/cli/serve.js';
import { figuresOf } from '../../src/report/figures.js';
import { renderOpenMetrics } from '../../src/report/openmetrics.js';
import { createApp, CSP } from '../../src/serve/app.js';
import { cdfOverlay } from '../../src/serve/overlay.js';
import { Histogram } from '../../src/stats/histogram.js';
import { Store, type RunRecord } from '../../src/store/db.js';
import { UserError } from '../../src/util/errors.js';
import { rttRunSummary } from '../helpers/records.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOSTILE = '<script>alert(1)</script>"&';

function rtt(id: string, p50: number, extra: Partial<RunRecord> = {}): RunRecord {
  const h = new Histogram();
  for (let i = 0; i < 100; i++) h.record(p50 + i * 100);
  return {
    id,
    batch_id: 'b',
    created_at: `2026-12-0${id.length % 9}T10:00:00.000Z`,
    datapath: 'veth',
    workload: 'rtt',
    params: { count: 100 },
    topology: { runId: id },
    env: { hostname: 'lab1', kernel: '6.1' },
    status: 'ok',
    problem: null,
    samples: 100,
    lost: 1,
    summary: rttRunSummary({
      p50,
      p99: p50 * 2,
      p999: p50 * 3,
      mean: p50,
      cdf: [
        [p50, 0.5],
        [p50 * 2, 1],
      ],
    }),
    engine: null,
    histogram: h.encode(),
    raw: null,
    series: {
      latency: {
        window_ns: 1e8,
        warmup_ns: 1e6,
        start_ns: 5e9,
        points: [{ t_ns: 1e6, n: 50, lost: 0, p50_ns: p50, p90_ns: p50, p99_ns: p50 * 2, max_ns: p50 * 3 }],
      },
    },
    ...extra,
  } as RunRecord;
}

const store = Store.open(path.join(dir, 'r.sqlite'));
store.saveRun(rtt('aaa111', 20_000));
store.saveRun(rtt('bbb222', 40_000, { datapath: 'bridge', case_label: HOSTILE, problem: HOSTILE, status: 'partial' }));
store.saveRun(rtt('ccc333', 30_000, { status: 'failed', summary: null, histogram: null, series: null, samples: 0 }));
after(() => store.close());

const HOST = '127.0.0.1:8377';
const app = createApp({ store, hosts: [HOST], token: null });
const get = (url: string, headers: Record<string, string> = {}) =>
  app.request(url, { headers: { host: HOST, ...headers } });

describe('cnperf serve', () => {
  it('lists runs, filtered and searched, every value escaped, under a strict CSP', async () => {
    const all = await get('/runs');
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-security-policy'), CSP);
    const page = await all.text();
    for (const id of ['aaa111', 'bbb222', 'ccc333']) assert.match(page, new RegExp(`data-run="${id}"`));
    assert.ok(!page.includes('<script>alert'), 'a stored value reached the page unescaped');
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&amp;/);
    assert.doesNotMatch(page, /<script>[^<]/, 'no inline script');
    const bridge = await (await get('/runs?datapath=bridge')).text();
    assert.match(bridge, /data-run="bbb222"/);
    assert.doesNotMatch(bridge, /data-run="aaa111"/);
    const searched = await (await get('/runs?q=%25')).text(); // a LIKE wildcard is searched for, not obeyed
    assert.doesNotMatch(searched, /data-run=/);
    const failed = await (await get('/runs?status=failed')).text();
    assert.match(failed, /data-run="ccc333"/);
    assert.match(failed, /1 run\./);
  });

  it('shows a run with its tables and a timeline to draw; the timeline JSON has the engine windows', async () => {
    const page = await (await get('/runs/aaa111')).text();
    assert.match(page, /Run aaa111: veth rtt/);
    assert.match(page, /data-src="\/api\/runs\/aaa111\/timeline"/);
    const tl = (await (await get('/api/runs/aaa111/timeline')).json()) as { panels: Array<{ id: string }> };
    assert.deepEqual(
      tl.panels.map((p) => p.id),
      ['latency'],
    );
    assert.equal((await get('/runs/zzz999')).status, 404);
    assert.equal((await get('/runs/..%2F')).status, 404);
  });

  it('compares runs: CDFs on one x axis, verdicts with their method', async () => {
    const page = await (await get('/compare?run=aaa111&run=bbb222')).text();
    assert.match(page, /Compare 2 runs/);
    assert.match(page, /Welch/);
    const ov = cdfOverlay([store.findRun('aaa111'), store.findRun('bbb222')]);
    assert.deepEqual(ov.x, [20, 40, 80]); // µs, the union of both CDFs' points
    assert.deepEqual(ov.series[0]!.values, [0.5, 1, 1]); // a step function between its points
    assert.deepEqual(ov.series[1]!.values, [0, 0.5, 1]);
  });

  it('refuses a request naming another host (DNS rebinding), and wants the token when it has one', async () => {
    assert.equal((await get('/runs', { host: 'evil.example:8377' })).status, 421);
    const guarded = createApp({ store, hosts: [], token: 'tok' });
    assert.equal((await guarded.request('/runs')).status, 401);
    assert.equal((await guarded.request('/runs', { headers: { authorization: 'Bearer tok' } })).status, 200);
    const first = await guarded.request('/runs?token=tok');
    assert.equal(first.status, 200);
    assert.match(first.headers.get('set-cookie') ?? '', /cnperf_token=tok; .*HttpOnly/);
    assert.equal((await guarded.request('/metrics', { headers: { cookie: 'cnperf_token=tok' } })).status, 200);
  });

  it('/metrics: the latest run of each series, latency as a summary, own counts, # EOF last', async () => {
    const res = await get('/metrics');
    assert.match(res.headers.get('content-type') ?? '', /application\/openmetrics-text; version=1.0.0/);
    const text = await res.text();
    assert.match(text, /^# TYPE cnperf_latency_seconds summary$/m);
    assert.match(
      text,
      new RegExp(
        '^cnperf_latency_seconds\\{run="aaa111",datapath="veth",workload="rtt",host="lab1",experiment="",case="",' +
          'quantile="0.99"\\} 0.00004$',
        'm',
      ),
    );
    assert.match(text, /^cnperf_latency_seconds_count\{run="aaa111".*\} 100$/m);
    assert.match(text, /case="<script>alert\(1\)<\/script>\\"&"/); // label values escaped as OpenMetrics says
    assert.doesNotMatch(text, /run="ccc333"/); // a failed run has no figures
    assert.match(text, /^cnperf_stored_runs\{status="failed"\} 1$/m);
    assert.ok(text.endsWith('# EOF\n'));
  });
});

describe('figures and OpenMetrics', () => {
  it('a figure a run did not measure is absent, never 0', () => {
    const r = rtt('ddd444', 10_000);
    const names = figuresOf(r).map((f) => f.metric);
    assert.ok(!names.includes('rate_packets_per_second'));
    assert.ok(!names.includes('cpu_per_packet_seconds')); // no probes stored
    const withProbes = {
      ...r,
      probes: {
        packets: 1000,
        window_ms: 500,
        cpu: { all: { usr: 0.1, sys: 0.2, softirq: 0.1, irq: 0, idle: 0.6, steal: 0 }, per_cpu: [null, null] },
      },
    } as RunRecord;
    const cpu = figuresOf(withProbes).find((f) => f.metric === 'cpu_per_packet_seconds')!;
    assert.ok(Math.abs(cpu.value - (0.4 * 0.5 * 2) / 1000) < 1e-12); // busy share × window × cores ÷ packets
  });

  it('escapes label values and ends with # EOF', () => {
    const text = renderOpenMetrics(
      [
        {
          labels: { run: 'a', datapath: 'x', workload: 'rtt', host: 'h\n"', experiment: 'e\\', case: '' },
          created_at: 'not a date',
          figures: [{ metric: 'loss_ratio', help: 'h', unit: 'ratio', labels: {}, value: 0.25 }],
        },
      ],
      null,
    );
    assert.equal(
      text,
      '# TYPE cnperf_loss_ratio gauge\n# UNIT cnperf_loss_ratio ratio\n# HELP cnperf_loss_ratio h\n' +
        'cnperf_loss_ratio{run="a",datapath="x",workload="rtt",host="h\\n\\"",experiment="e\\\\",case=""} ' +
        '0.25\n# EOF\n',
    );
  });

  it('--listen takes an IP and a port, loopback or not, and nothing else', () => {
    assert.deepEqual(parseListen('127.0.0.1:0'), { address: '127.0.0.1', port: 0, loopback: true });
    assert.deepEqual(parseListen('[::1]:9000'), { address: '::1', port: 9000, loopback: true });
    assert.deepEqual(parseListen('0.0.0.0'), { address: '0.0.0.0', port: 8377, loopback: false });
    assert.throws(() => parseListen('example.org:80'), UserError);
    assert.throws(() => parseListen('127.0.0.1:70000'), UserError);
  });

  it('a file that is not a store is a clear error, not a stack trace', () => {
    const bad = path.join(dir, 'bad.sqlite');
    writeFileSync(bad, 'x'.repeat(200));
    assert.throws(
      () => Store.openExisting(bad),
      (e: unknown) => e instanceof UserError && /not a database/.test(e.message),
    );
  });
});
