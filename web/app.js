// cnperf serve's page script: draws the charts that move (timelines, CDF overlays, live runs) with
// uPlot from the server's JSON. No framework, no build step; served as /static/app.js under a CSP that
// allows scripts from this origin only. Every chart element gets data-points (the points it drew) so a
// browser test can tell a chart with data from an empty one.
'use strict';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function widthOf(el) {
  return Math.max(400, Math.min(1150, el.clientWidth || 1000));
}

function countPoints(data) {
  let n = 0;
  for (let s = 1; s < data.length; s++) for (const v of data[s]) if (v !== null && v !== undefined) n++;
  return n;
}

function note(el, text) {
  const p = document.createElement('p');
  p.textContent = text;
  el.appendChild(p);
}

/** A shaded band (the warm-up) behind a plot's series, in x units. */
function bandPlugin(band) {
  return {
    hooks: {
      drawClear: [
        (u) => {
          if (!band) return;
          const x0 = u.valToPos(band[0], 'x', true);
          const x1 = u.valToPos(band[1], 'x', true);
          u.ctx.save();
          u.ctx.fillStyle = '#f0e6c8';
          u.ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
          u.ctx.restore();
        },
      ],
    },
  };
}

function plot(el, o) {
  const series = [{ label: o.xLabel }].concat(
    o.names.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: !!o.spanGaps })),
  );
  const opts = {
    title: o.title,
    width: widthOf(el),
    height: o.height || 220,
    scales: {
      x: Object.assign({ time: false, distr: o.xLog ? 3 : 1 }, o.xRange ? { range: o.xRange } : {}),
      // from 0: a rate or a latency read against a cut axis looks larger than it is
      y: { range: o.yRange || ((u, min, max) => [0, max > 0 ? max * 1.08 : 1]) },
    },
    axes: [{ label: o.xLabel }, { label: o.yLabel }],
    series,
    cursor: o.sync ? { sync: { key: o.sync } } : {},
    plugins: [bandPlugin(o.band)],
  };
  const holder = document.createElement('div');
  holder.className = 'plot';
  el.appendChild(holder);
  const u = new uPlot(opts, o.data, holder);
  holder.dataset.points = String(countPoints(o.data));
  return u;
}

/** A run's timeline: one plot per panel, cursors in step, the warm-up shaded. */
function drawTimeline(el, tl) {
  if (!tl || !tl.panels.length) return note(el, 'no timeline stored for this run');
  const key = 'tl-' + tl.run_id;
  // one time axis: every panel spans the same seconds, the warm-up included
  let lo = tl.warmup_s ? tl.warmup_s[0] : Infinity;
  let hi = tl.warmup_s ? tl.warmup_s[1] : -Infinity;
  for (const p of tl.panels) for (const t of p.t_s) ((lo = Math.min(lo, t)), (hi = Math.max(hi, t)));
  let total = 0;
  for (const p of tl.panels) {
    const data = [p.t_s].concat(p.columns.map((c) => c.values));
    total += countPoints(data);
    plot(el, {
      title: p.title,
      xLabel: 's since the engine started',
      yLabel: p.unit,
      names: p.columns.map((c) => c.name),
      data,
      band: tl.warmup_s,
      sync: key,
      xRange: [lo, hi],
    });
  }
  el.dataset.points = String(total);
}

function drawOverlay(el, ov, xLog) {
  if (!ov.series.length) return note(el, 'nothing to overlay: none of these runs stored this');
  const data = [ov.x].concat(ov.series.map((s) => s.values));
  plot(el, {
    title: '',
    xLabel: ov.xLabel,
    yLabel: ov.yLabel,
    names: ov.series.map((s) => s.name),
    data,
    xLog,
    yRange: xLog ? [0, 1] : undefined,
    height: 320,
    spanGaps: true, // the runs' points fall at different times: each line joins its own
  });
  el.dataset.points = String(countPoints(data));
}

async function fetchInto(el, draw) {
  try {
    const r = await fetch(el.dataset.src, { credentials: 'same-origin' });
    if (!r.ok) return note(el, 'could not load: HTTP ' + r.status);
    draw(el, await r.json());
  } catch (e) {
    note(el, 'could not load: ' + e.message);
  }
}

/** A live plot: made with its first point, given the grown columns after. */
function grow(card, existing, data, o) {
  if (!data[0].length) return existing;
  if (existing) {
    existing.setData(data);
    return existing;
  }
  return plot(card, Object.assign({ xLabel: 's', data }, o));
}

/** Live runs: a card per run in progress; its CPU (and rate) plots grow with each event. */
function live(root) {
  const cards = new Map();
  const es = new EventSource(root.dataset.src);
  const none = root.querySelector('.none');
  es.addEventListener('samples', (ev) => {
    const m = JSON.parse(ev.data);
    const id = m.start.run_id;
    let c = cards.get(id);
    if (!c) {
      if (none) none.hidden = true;
      const card = document.createElement('section');
      card.className = 'live-run';
      card.dataset.run = id;
      card.dataset.updates = '0';
      const h = document.createElement('h2');
      h.textContent = 'run ' + id + ': ' + m.start.datapath + ' ' + m.start.workload + ' — ' + m.start.what;
      const status = document.createElement('p');
      status.className = 'status';
      status.textContent = 'running since ' + m.start.started_at;
      card.append(h, status);
      root.appendChild(card);
      c = { card, status, cpu: [[], [], [], []], rate: [[], [], []], cpuPlot: null, ratePlot: null };
      cards.set(id, c);
    }
    for (const s of m.samples) {
      if (s.event === 'cpu') {
        c.cpu[0].push(s.t_s);
        c.cpu[1].push(100 * s.usr);
        c.cpu[2].push(100 * s.sys);
        c.cpu[3].push(100 * s.softirq);
      } else if (s.event === 'rate' && s.flow === 0) {
        c.rate[0].push(s.t_s);
        c.rate[1].push(s.side === 'tx' ? s.pps / 1000 : null);
        c.rate[2].push(s.side === 'rx' ? s.pps / 1000 : null);
      }
    }
    c.cpuPlot = grow(c.card, c.cpuPlot, c.cpu, {
      title: 'CPU time, all cores',
      yLabel: '%',
      names: ['usr', 'sys', 'softirq'],
    });
    // a second's tx and rx arrive apart: each line joins its own points
    const rate = { title: 'packet rate (flow 0)', yLabel: 'kpps', names: ['sent', 'received'], spanGaps: true };
    c.ratePlot = grow(c.card, c.ratePlot, c.rate, rate);
    c.card.dataset.updates = String(Number(c.card.dataset.updates) + 1);
    c.card.dataset.points = String(countPoints(c.cpu) + countPoints(c.rate));
  });
  es.addEventListener('ended', (ev) => {
    const id = JSON.parse(ev.data).run_id;
    const c = cards.get(id);
    if (!c) return;
    c.card.classList.add('ended');
    c.status.textContent = 'ended — stored as ';
    const a = document.createElement('a');
    a.href = '/runs/' + encodeURIComponent(id);
    a.textContent = 'run ' + id;
    c.status.appendChild(a);
  });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const el of document.querySelectorAll('.timeline[data-src]')) fetchInto(el, drawTimeline);
  for (const el of document.querySelectorAll('.cdf[data-src]')) fetchInto(el, (e, d) => drawOverlay(e, d, true));
  for (const el of document.querySelectorAll('.overlay[data-src]')) fetchInto(el, (e, d) => drawOverlay(e, d, false));
  const l = document.getElementById('live');
  if (l) live(l);
});
