/**
 * cnperf serve end to end, as its users meet it: real runs in a store, the server on a free port,
 * headless Chromium on every page (runs list, a run's timeline, a compare, a live run growing while
 * `quick veth --count 20000` runs, probing every 250 µs to keep it short), a real Prometheus scraping
 * /metrics and answering a query for a
 * run's p99, promtool checking `cnperf export`. Screenshots at 1400 px go to $CNPERF_SCREENSHOTS (or
 * the test's temporary folder).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cnperf, collect, hostSnapshot, sleep, spawnCnperf, type HostSnapshot } from '../helpers/host.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-serve-'));
const db = path.join(tmp, 'results.sqlite');
const shots = process.env.CNPERF_SCREENSHOTS ?? tmp;
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const children: ChildProcess[] = [];
let browser: Browser | undefined;
let server: ChildProcess;
let base = '';
let runs: Array<{ run_id: string; datapath: string; rtt_ns: { p99: number } }> = [];
let hostBefore: HostSnapshot;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Opens a page, collects its console errors, saves a screenshot. */
async function open(url: string, shot: string, settle: (p: Page) => Promise<void>): Promise<string[]> {
  browser ??= await chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(url);
    await settle(page);
    await page.screenshot({ path: path.join(shots, shot), fullPage: true });
  } finally {
    await page.close();
  }
  return errors;
}

const points = (p: Page, sel: string) =>
  p.$$eval(sel, (els) => els.map((e) => Number((e as HTMLElement).dataset.points ?? 0)));

before(async () => {
  hostBefore = hostSnapshot();
  mkdirSync(shots, { recursive: true });
  const r = await cnperf(['quick', 'veth', 'loopback', '--count', '2000', '--json', '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  runs = (JSON.parse(r.stdout) as { results: typeof runs }).results;
  server = spawnCnperf(['serve', '--db', db, '--listen', '127.0.0.1:0']);
  children.push(server);
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.once('exit', (code) => reject(new Error(`cnperf serve exited (${code}) before listening`)));
  });
});

after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await sleep(300);
  rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(hostSnapshot(), hostBefore, 'the serve tests left something on the host');
});

describe('cnperf serve in Chromium', () => {
  it('runs list, a run with its timeline, a compare of two runs: every chart with data, no console error', async () => {
    assert.ok(CHROMIUM, 'Debian chromium is needed (scripts/setup.sh installs it)');
    const [a, b] = runs;
    const errors = await open(`${base}runs`, 'serve-runs.png', async (p) => {
      const ids = await p.$$eval('tr[data-run]', (rows) => rows.map((r) => r.getAttribute('data-run')));
      assert.deepEqual(new Set(ids), new Set([a!.run_id, b!.run_id]));
    });
    errors.push(
      ...(await open(`${base}runs/${a!.run_id}`, 'serve-run.png', async (p) => {
        await p.waitForSelector('.timeline[data-points]');
        const [n] = await points(p, '.timeline[data-points]');
        assert.ok(n! > 0, 'the timeline drew no point');
        assert.match((await p.textContent('pre.tables')) ?? '', /veth/);
      })),
      ...(await open(`${base}compare?run=${a!.run_id}&run=${b!.run_id}`, 'serve-compare.png', async (p) => {
        await p.waitForSelector('.cdf[data-points]');
        await p.waitForSelector('.overlay[data-points]');
        const [cdf] = await points(p, '.cdf[data-points]');
        assert.ok(cdf! > 0, 'the CDF overlay drew no point');
        assert.match((await p.textContent('main')) ?? '', /Welch/);
      })),
    );
    assert.deepEqual(errors, []);
  });

  it('a run started from the command line shows on /live and grows while it runs, then links its result', async () => {
    assert.ok(CHROMIUM);
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}live`);
      const quick = spawnCnperf(['quick', 'veth', '--count', '20000', '--interval', '250us', '--db', db]);
      children.push(quick);
      const done = collect(quick);
      await page.waitForSelector('section.live-run', { timeout: 20_000 });
      // the updates the page received while the run was still going
      let updates = 0;
      let ended = false;
      while (!ended) {
        const s = await page.$eval('section.live-run', (e) => ({
          updates: Number((e as HTMLElement).dataset.updates),
          ended: e.classList.contains('ended'),
        }));
        ended = s.ended;
        if (!ended) updates = s.updates;
        if (updates === 3) await page.screenshot({ path: path.join(shots, 'serve-live.png'), fullPage: true });
        await sleep(200);
      }
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(updates >= 3, `the live run updated ${updates} times while it ran`);
      const link = await page.$eval('section.live-run .status a', (a) => a.getAttribute('href'));
      assert.match(link ?? '', /^\/runs\/[a-z0-9]+$/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });
});

describe('metrics', () => {
  it('a real Prometheus scrapes /metrics and answers a query for a run and its p99', async () => {
    const port = await freePort();
    const target = new URL(base).host;
    const config = path.join(tmp, 'prometheus.yml');
    writeFileSync(
      config,
      `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: cnperf\n` +
        `    static_configs: [{targets: ['${target}']}]\n`,
    );
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(tmp, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    children.push(prom);
    // /metrics has the latest run of each series: the live test's veth run replaced the first, loopback's is it
    const run = runs.find((r) => r.datapath === 'loopback')!;
    const query = encodeURIComponent(`cnperf_latency_seconds{run="${run.run_id}",quantile="0.99"}`);
    let result: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    for (let i = 0; i < 60 && !result.length; i++) {
      await sleep(500);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`);
        result = ((await res.json()) as { data: { result: typeof result } }).data.result;
      } catch {
        /* not up yet */
      }
    }
    prom.kill('SIGTERM');
    assert.equal(result.length, 1, 'Prometheus has no such series after 30 s');
    assert.equal(result[0]!.metric.datapath, run.datapath);
    assert.equal(result[0]!.metric.job, 'cnperf');
    assert.ok(Math.abs(Number(result[0]!.value[1]) - run.rtt_ns.p99 / 1e9) < 1e-12);
  });

  it('cnperf export: OpenMetrics promtool accepts, JSON lines and CSV of the same figures', async () => {
    const ids = runs.map((r) => r.run_id);
    const om = await cnperf(['export', '--format', 'openmetrics', ...ids, '--db', db]);
    assert.equal(om.code, 0, om.stderr);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: om.stdout, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const jl = await cnperf(['export', '--format', 'jsonl', ids[0]!, '--db', db]);
    const rows = jl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const p99 = rows.find((r) => r.metric === 'cnperf_latency_seconds' && r.quantile === '0.99');
    assert.equal(p99?.value, runs[0]!.rtt_ns.p99 / 1e9);
    const csv = await cnperf(['export', '--format', 'csv', ids[0]!, '--db', db]);
    assert.match(csv.stdout.split('\n')[0]!, /^run,created_at,datapath,workload,host,experiment,case,metric,unit,/);
    assert.equal(csv.stdout.trim().split('\n').length, rows.length + 1);
    const bad = await cnperf(['export', '--format', 'xml', ids[0]!, '--db', db]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format 'xml': not an export format\n.*openmetrics, jsonl, csv/);
  });

  it('serve: a port in use and a store it cannot read are clear errors', async () => {
    const inUse = await cnperf(['serve', '--db', db, '--listen', new URL(base).host]);
    assert.equal(inUse.code, 2);
    assert.match(inUse.stderr, /^cnperf: serve: cannot listen on 127\.0\.0\.1:\d+: the port is in use/);
    const missing = await cnperf(['serve', '--db', path.join(tmp, 'nope.sqlite')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no results store at .*nope\.sqlite/);
    assert.doesNotMatch(inUse.stderr + missing.stderr, /\n\s+at /); // no stack trace
  });
});
