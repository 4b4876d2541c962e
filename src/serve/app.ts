/**
 * `cnperf serve`'s HTTP routes (hono): pages from the store, the JSON the browser draws from, the
 * live runs as server-sent events, /metrics. Read-only by design: nothing here starts a run or
 * writes the store. Every response carries a strict CSP (scripts and styles only from /static), and a
 * request must name this server in its Host header (no DNS rebinding) and, when the server listens
 * beyond loopback, carry its token.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { PROJECT_ROOT } from '../paths.js';
import { figuresOf, labelsOf } from '../report/figures.js';
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from '../report/openmetrics.js';
import { runTimeline } from '../report/timeline.js';
import { readLiveRuns } from '../runner/live.js';
import type { RunFilter, RunRecord, Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { cdfOverlay, timelineOverlay } from './overlay.js';
import * as pages from './pages.js';

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The files under /static: the page script and style, and uPlot's, read once. */
function staticFiles(): Record<string, { type: string; body: string }> {
  const read = (...p: string[]) => readFileSync(path.join(PROJECT_ROOT, ...p), 'utf8');
  return {
    'app.js': { type: 'text/javascript; charset=utf-8', body: read('web', 'app.js') },
    'app.css': { type: 'text/css; charset=utf-8', body: read('web', 'app.css') },
    'uplot.js': {
      type: 'text/javascript; charset=utf-8',
      body: read('node_modules', 'uplot', 'dist', 'uPlot.iife.min.js'),
    },
    'uplot.css': { type: 'text/css; charset=utf-8', body: read('node_modules', 'uplot', 'dist', 'uPlot.min.css') },
  };
}

export interface AppOptions {
  store: Store;
  /** the Host header values this server answers to ("127.0.0.1:8377", …); empty: any (the token guards it) */
  hosts: string[];
  /** required of every request when set (the server listens beyond loopback) */
  token: string | null;
  /** how often the live feed is read, ms */
  livePollMs?: number;
}

const FILTER_KEYS = ['datapath', 'workload', 'status', 'experiment', 'host', 'since', 'q'] as const;

export function createApp(o: AppOptions): Hono {
  const app = new Hono();
  const files = staticFiles();

  app.use('*', async (c, next) => {
    if (o.hosts.length && !o.hosts.includes(c.req.header('host') ?? '')) return c.text('unknown Host', 421);
    if (o.token) {
      const bearer = c.req.header('authorization')?.replace(/^Bearer\s+/i, '');
      const given = c.req.query('token');
      if (given === o.token) {
        setCookie(c, 'cnperf_token', o.token, { httpOnly: true, sameSite: 'Strict', path: '/' });
      } else if (bearer !== o.token && getCookie(c, 'cnperf_token') !== o.token) {
        return c.text('this server wants its token: open the address cnperf serve printed', 401);
      }
    }
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  });

  app.get('/static/:file', (c) => {
    const f = files[c.req.param('file')];
    return f ? c.body(f.body, 200, { 'Content-Type': f.type }) : c.text('no such file', 404);
  });
  app.get('/', (c) => c.redirect('/runs'));
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.get('/runs', (c) => {
    const f: RunFilter & { sort?: string } = {};
    for (const k of FILTER_KEYS) {
      const v = c.req.query(k);
      if (v) f[k] = v;
    }
    const sort = c.req.query('sort');
    if (sort) f.sort = sort;
    return c.html(pages.runsPage(o.store.searchRuns(f), f, o.store.facets(), o.store.experimentNames()));
  });

  const run = (c: Context): RunRecord | null => {
    try {
      return o.store.findRun(c.req.param('id') ?? '');
    } catch (e) {
      if (e instanceof UserError) return null;
      throw e;
    }
  };
  app.get('/runs/:id', (c) => {
    const r = run(c);
    if (!r) return c.html(pages.notFound(`no run '${c.req.param('id')}' in ${o.store.file}`), 404);
    const names = o.store.experimentNames();
    return c.html(pages.runPage(r, r.experiment_id ? (names.get(r.experiment_id) ?? null) : null));
  });
  app.get('/api/runs/:id/timeline', (c) => {
    const r = run(c);
    return r ? c.json(runTimeline(r)) : c.json({ error: 'no such run' }, 404);
  });

  const selected = (c: Context) =>
    (c.req.queries('run') ?? [])
      .slice(0, 12)
      .map((id) => {
        try {
          return o.store.findRun(id);
        } catch {
          return null;
        }
      })
      .filter((r): r is RunRecord => r !== null);
  app.get('/compare', (c) => c.html(pages.comparePage(selected(c))));
  app.get('/api/compare/cdf', (c) => c.json(cdfOverlay(selected(c))));
  app.get('/api/compare/timeline', (c) => c.json(timelineOverlay(selected(c))));

  app.get('/experiments', (c) => c.html(pages.experimentsPage(o.store.listExperiments(200))));
  app.get('/experiments/:id', (c) => {
    const e = o.store.findExperiment(c.req.param('id'));
    if (!e) return c.html(pages.notFound(`no experiment '${c.req.param('id')}'`), 404);
    return c.html(pages.experimentPage(e, o.store.runsOfExperiment(e.id)));
  });

  app.get('/live', (c) => c.html(pages.livePage()));
  app.get('/api/live', (c) =>
    streamSSE(c, async (stream) => {
      // per connection: how many samples of each run it has sent, so each event carries only what is new
      const sent = new Map<string, number>();
      let open = true;
      stream.onAbort(() => void (open = false));
      while (open) {
        const now = readLiveRuns();
        for (const r of now) {
          const from = sent.get(r.start.run_id);
          if (from === undefined || r.samples.length > from) {
            const data = { start: r.start, from: from ?? 0, samples: r.samples.slice(from ?? 0) };
            await stream.writeSSE({ event: 'samples', data: JSON.stringify(data) });
            sent.set(r.start.run_id, r.samples.length);
          }
        }
        for (const id of [...sent.keys()])
          if (!now.some((r) => r.start.run_id === id)) {
            sent.delete(id);
            await stream.writeSSE({ event: 'ended', data: JSON.stringify({ run_id: id }) });
          }
        await stream.sleep(o.livePollMs ?? 250);
      }
    }),
  );

  app.get('/metrics', (c) => {
    const names = o.store.experimentNames();
    // the latest run of each series (datapath, workload, host, experiment, case): newest first, first seen wins
    const seen = new Set<string>();
    const latest = o.store.searchRuns({}, 5000).flatMap((r) => {
      const labels = labelsOf(r, r.experiment_id ? (names.get(r.experiment_id) ?? null) : null);
      const key = JSON.stringify([labels.datapath, labels.workload, labels.host, labels.experiment, labels.case]);
      if (r.status === 'failed' || seen.has(key)) return [];
      seen.add(key);
      return [{ labels, created_at: r.created_at, figures: figuresOf(r) }];
    });
    const own = { ...o.store.counts(), live: readLiveRuns().length };
    return c.body(renderOpenMetrics(latest, own), 200, { 'Content-Type': OPENMETRICS_CONTENT_TYPE });
  });

  app.notFound((c) => c.html(pages.notFound(`nothing at ${c.req.path}`), 404));
  return app;
}
