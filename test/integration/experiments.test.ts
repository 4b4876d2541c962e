/**
 * Experiments end to end, as root: each shipped study's quick scale runs, stores every case and
 * produces a report whose every chart renders with data in headless Chromium; a failing case is
 * recorded while the others go on; an interrupted run resumes where it stopped; the host is as it was.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { cnperf, collect, hostSnapshot, spawnCnperf, waitForStderr } from '../helpers/host.js';
import { ROOT } from '../helpers/paths.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import { buildTopology } from '../../src/runner/build.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-experiments-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** One headless Chromium for every report of this file (a launch costs seconds), closed at the end. */
let browser: Browser | undefined;
after(() => browser?.close());

/** Opens a report in headless Chromium: each chart's kind and its number of data marks; a screenshot. */
async function renderedCharts(
  file: string,
  screenshot: string,
): Promise<Array<{ kind: string; marks: number; overlaps: string[] }>> {
  assert.ok(CHROMIUM, 'Debian chromium is needed (scripts/setup.sh installs it)');
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) failed.push(`network: ${r.url()}`);
    });
    await page.goto(`file://${file}`);
    const charts = await page.$$eval('svg.chart', (svgs) =>
      svgs.map((s) => ({
        kind: s.getAttribute('data-chart') ?? '?',
        marks: [...s.querySelectorAll('.mark')].filter(
          (m) => (m as SVGGraphicsElement).getBBox().width + (m as SVGGraphicsElement).getBBox().height > 0,
        ).length,
        // bar labels side by side must not touch; turned ones (parallel at 35°) must be a text height apart
        overlaps: [...s.querySelectorAll('text.bar-label')].flatMap((t, i, all) => {
          const next = all[i + 1] as SVGTextElement | undefined;
          if (!next) return [];
          const [a, b] = [(t as SVGTextElement).getBBox(), next.getBBox()];
          const turned = t.hasAttribute('transform');
          const dx = Number(next.getAttribute('x')) - Number(t.getAttribute('x'));
          const apart = turned ? dx * Math.sin((35 * Math.PI) / 180) >= 10 : a.x + a.width <= b.x;
          return apart ? [] : [`${t.textContent} / ${next.textContent}`];
        }),
      })),
    );
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.deepEqual(failed, [], 'the report loads nothing');
    return charts;
  } finally {
    await page.close();
  }
}

const STUDIES: Record<string, string[]> = {
  'abeni-rtt': ['rtt-cdf', 'rtt-p99', 'cpu', 'softirqs-per-packet', 'irqs-per-packet', 'traversals', 'breakdown'],
  'ara-throughput': ['throughput', 'cpu', 'softirqs-per-packet', 'irqs-per-packet'],
  'ara-rate-curves': ['rate-curves', 'max-sustained', 'cpu'],
  'lei-overlay': ['throughput', 'scaling-flows', 'cpu', 'softirqs-per-packet'],
  'daichendt-load-latency': ['rtt-cdf', 'rtt-p99', 'latency-over-load', 'cpu'],
  'claassen-modules': ['throughput-tcp', 'scaling-flows-tcp', 'cpu'],
  'ebpf-paths': ['rtt-cdf', 'rtt-p99', 'throughput', 'traversals', 'cpu'],
  'kube-proxy-services': ['rtt-cdf', 'txn-cdf', 'scaling-services', 'cpu', 'timeline'],
};

describe('shipped experiments, quick scale, end to end', () => {
  for (const [name, expectCharts] of Object.entries(STUDIES)) {
    it(`${name}: every case stored, a report whose charts render with data`, async () => {
      const before = hostSnapshot();
      const r = await cnperf(['run', path.join(ROOT, 'experiments', `${name}.yaml`), '--scale', 'quick', '--db', db]);
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      assert.match(
        r.stdout,
        new RegExp(`Experiment ${name} \\(quick scale, id [a-z0-9]{6}\\): \\d+ cases × \\d+ repeats, done`),
      );
      assert.match(r.stdout, /\d+ ok, 0 partial, 0 failed/);
      assert.match(r.stderr, /\[1\/\d+\] /);
      const html = path.join(tmp, `${name}.html`);
      const rep = await cnperf(['report', name, '--db', db, '-o', html]);
      assert.equal(rep.code, 0, rep.stderr);
      const charts = await renderedCharts(html, path.join(tmp, `${name}.png`));
      for (const kind of expectCharts)
        assert.ok(
          charts.some((c) => c.kind === kind),
          `${name}: no ${kind} chart (have ${charts.map((c) => c.kind).join(', ')})`,
        );
      for (const c of charts) assert.ok(c.marks > 0, `${name}: chart ${c.kind} rendered no data`);
      for (const c of charts) assert.deepEqual(c.overlaps, [], `${name}: chart ${c.kind} has overlapping labels`);
      // a timeline per case that stored one: every case but a sweep's, whose rates live in its sweep points
      const cases = Number(/: (\d+) cases × /.exec(r.stdout)?.[1]);
      const timelines = charts.filter((c) => c.kind === 'timeline').length;
      if (!name.includes('rate-curves'))
        assert.equal(timelines, cases, `${name}: ${timelines} timelines, ${cases} cases`);
      if (name === 'kube-proxy-services') {
        const page = readFileSync(html, 'utf8');
        assert.match(page, /<h3 data-workload="rtt">Round-trip time \(rtt/);
        assert.match(page, /<h3 data-workload="crr">TCP connect\/request\/response \(crr/);
        assert.match(page, /<td>pod-ip \(crr\)<\/td>/);
      }
      if (process.env.CNPERF_KEEP_REPORTS)
        writeFileSync(path.join(process.env.CNPERF_KEEP_REPORTS, `${name}.html`), readFileSync(html));
      assert.deepEqual(hostSnapshot(), before);
    });
  }
});

describe('experiment runner', () => {
  it('a failing case is recorded with its error and the others go on; exit 1', async (t) => {
    // ipvlan fails to build on kernels without it (this machine kind): valid file, failing case.
    try {
      const host = await buildTopology(planDatapath('ipvlan', undefined, 1, { mode: 'l3' }), 'run');
      await host.teardown();
      return t.skip('this kernel has ipvlan: no datapath is known to fail to build here');
    } catch {
      /* as expected */
    }
    const file = path.join(tmp, 'with-failure.yaml');
    writeFileSync(
      file,
      'name: with-failure\nworkload: rtt\ndatapaths: [veth, {datapath: ipvlan, params: {mode: l3}}, ' +
        'loopback]\nparams: {count: 200, interval: 0}\n',
    );
    const before = hostSnapshot();
    const r = await cnperf(['run', file, '--db', db]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /2 ok, 0 partial, 1 failed/);
    assert.match(r.stdout, /ipvlan: building the datapath failed: this kernel has no ipvlan/);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('SIGINT stops between cases, cleanly; --resume measures only what is missing', async () => {
    const file = path.join(tmp, 'resume.yaml');
    writeFileSync(
      file,
      'name: resume-me\nworkload: rtt\ndatapaths: [loopback, veth, bridge]\nparams: {count: 3000, interval: ' +
        '1ms}\nrepeats: 2\n',
    );
    const before = hostSnapshot();
    const child = spawnCnperf(['run', file, '--db', db]);
    const done = collect(child);
    await waitForStderr(child, /\[2\/6\] veth/);
    child.kill('SIGINT');
    const first = await done;
    assert.equal(first.code, 130, first.stderr);
    assert.deepEqual(hostSnapshot(), before);
    const second = await cnperf(['run', file, '--db', db, '--resume', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const out = JSON.parse(second.stdout) as {
      experiment: { id: string; status: string };
      results: Array<{ case: string; repeat: number; status: string }>;
    };
    assert.equal(out.experiment.status, 'done');
    const ok = out.results.filter((x) => x.status === 'ok');
    assert.deepEqual(ok.map((x) => `${x.case}#${x.repeat}`).sort(), [
      'bridge#1',
      'bridge#2',
      'loopback#1',
      'loopback#2',
      'veth#1',
      'veth#2',
    ]);
    assert.doesNotMatch(second.stderr, /\[1\/6\] loopback \(repeat 1\)/, 'the stored case was not measured again');
    assert.deepEqual(hostSnapshot(), before);
  });
});
