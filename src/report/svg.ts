/**
 * Charts as inline SVG strings: no library, no network, nothing to load when the report is opened.
 * Every chart is an <svg class="chart" data-chart="KIND"> whose data marks carry class "mark"
 * (a point, a bar, a segment), so a test can check that each chart rendered with data.
 */

export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

const W = 720;
const H = 360;
const M = { left: 70, right: 170, top: 30, bottom: 50 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number) =>
  Number.isInteger(v)
    ? String(v)
    : Math.abs(v) >= 1000
      ? v.toFixed(0)
      : Math.abs(v) >= 10
        ? v.toFixed(1)
        : Number(v.toPrecision(3)).toString();

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function frame(
  kind: string,
  title: string,
  xLabel: string,
  yLabel: string,
  body: string,
  legend: Array<{ name: string; color: string }>,
  extraBottom = 0,
): string {
  const height = H + extraBottom;
  const legendSvg = legend
    .map(
      (l, i) =>
        `<g transform="translate(` +
        `${W - M.right + 12},` +
        `${M.top + 8 + i * 18})"><rect width="12" height="12" ` +
        `fill="${l.color}"/><text x="18" y="10" ` +
        `font-size="11">${esc(l.name.length > 24 ? l.name.slice(0, 23) + '…' : l.name)}` +
        `<title>${esc(l.name)}</title></text></g>`,
    )
    .join('');
  return (
    `<svg class="chart" ` +
    `data-chart="${kind}" viewBox="0 0 ` +
    `${W} ${height}" width="${W}" height="${height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">
<text x="${M.left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>
<text x="${M.left + PW / 2}" y="${height - 10}" font-size="12" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(16,${M.top + PH / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(yLabel)}</text>
${body}${legendSvg}</svg>`
  );
}

function axes(xTicks: Array<{ at: number; label: string }>, yTicks: Array<{ at: number; label: string }>): string {
  const x = xTicks
    .map(
      (t) =>
        `<line x1="${t.at}" ` +
        `x2="${t.at}" y1="${M.top}" ` +
        `y2="${M.top + PH}" stroke="#eee"/><text ` +
        `x="${t.at}" y="${M.top + PH + 16}" font-size="11" text-anchor="middle">${esc(t.label)}</text>`,
    )
    .join('');
  const y = yTicks
    .map(
      (t) =>
        `<line x1="${M.left}" ` +
        `x2="${M.left + PW}" ` +
        `y1="${t.at}" y2="${t.at}" stroke="#eee"/><text ` +
        `x="${M.left - 6}" y="${t.at + 4}" font-size="11" text-anchor="end">${esc(t.label)}</text>`,
    )
    .join('');
  return `${x}${y}<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#888"/>`;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** Lines with point marks; x linear or log10, y linear. */
export function lineChart(o: {
  kind: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  yMin?: number;
  diagonal?: boolean;
}): string {
  const all = o.series.flatMap((s) => s.points);
  if (!all.length) return emptyChart(o.kind, o.title, 'no data');
  const tx = (v: number) => (o.xLog ? Math.log10(Math.max(v, 1e-9)) : v);
  let [x0, x1] = [Math.min(...all.map((p) => tx(p[0]))), Math.max(...all.map((p) => tx(p[0])))];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  let [y0, y1] = [o.yMin ?? Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (y0 === y1) y1 = y0 + 1;
  const sx = (v: number) => M.left + ((tx(v) - x0) / (x1 - x0)) * PW;
  const sy = (v: number) => M.top + PH - ((v - y0) / (y1 - y0)) * PH;
  const xTicks = o.xLog
    ? niceTicks(x0, x1, 5)
        .filter((t) => Number.isInteger(t))
        .map((t) => ({ at: sx(10 ** t), label: fmt(10 ** t) }))
    : niceTicks(x0, x1).map((t) => ({ at: sx(t), label: fmt(t) }));
  const yTicks = niceTicks(y0, y1).map((t) => ({ at: sy(t), label: fmt(t) }));
  const diag = o.diagonal
    ? `<line x1="${sx(Math.max(x0, y0))}" ` +
      `y1="${sy(Math.max(x0, y0))}" ` +
      `x2="${sx(Math.min(x1, y1))}" y2="${sy(Math.min(x1, y1))}" stroke="#aaa" stroke-dasharray="4 3"/>`
    : '';
  const lines = o.series
    .map((s, i) => {
      const c = PALETTE[i % PALETTE.length]!;
      const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
      const marks = s.points
        .map(
          ([x, y]) =>
            `<circle class="mark" ` +
            `cx="${sx(x).toFixed(1)}" ` +
            `cy="${sy(y).toFixed(1)}" ` +
            `r="${s.points.length > 60 ? 1.2 : 3}" ` +
            `fill="${c}"><title>${esc(s.name)}: ${fmt(x)}, ${fmt(y)}</title></circle>`,
        )
        .join('');
      return (
        `<polyline class="series" fill="none" ` + `stroke="${c}" stroke-width="1.5" points="${pts.join(' ')}"/>${marks}`
      );
    })
    .join('');
  return frame(
    o.kind,
    o.title,
    o.xLabel,
    o.yLabel,
    axes(xTicks, yTicks) + diag + lines,
    o.series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]! })),
  );
}

/**
 * CDFs with the tail stretched: y is −log10(1 − p), so 90 %, 99 %, 99.9 % and 99.99 % are equally
 * spaced and the tail, where datapaths differ most, gets most of the height.
 */
export function cdfChart(o: { kind: string; title: string; xLabel: string; series: Series[] }): string {
  const maxY = 4; // 99.99 %
  const tail = (p: number) => Math.min(maxY, -Math.log10(Math.max(1 - p, 10 ** -maxY)));
  const series = o.series.map((s) => ({
    name: s.name,
    points: s.points.map(([x, p]) => [x, tail(p)] as [number, number]),
  }));
  const all = series.flatMap((s) => s.points);
  if (!all.length) return emptyChart(o.kind, o.title, 'no data');
  let [x0, x1] = [Math.log10(Math.min(...all.map((p) => p[0]))), Math.log10(Math.max(...all.map((p) => p[0])))];
  if (x0 === x1) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  const sx = (v: number) => M.left + ((Math.log10(v) - x0) / (x1 - x0)) * PW;
  const sy = (v: number) => M.top + PH - (v / maxY) * PH;
  const decades = [];
  for (let d = Math.floor(x0); d <= Math.ceil(x1); d++)
    for (const m of [1, 2, 5])
      if (Math.log10(m * 10 ** d) >= x0 && Math.log10(m * 10 ** d) <= x1) decades.push(m * 10 ** d);
  const xTicks = decades.map((v) => ({ at: sx(v), label: fmt(v) }));
  const yTicks = [0, 1, 2, 3, 4].map((v) => ({ at: sy(v), label: ['0 %', '90 %', '99 %', '99.9 %', '99.99 %'][v]! }));
  const lines = series
    .map((s, i) => {
      const c = PALETTE[i % PALETTE.length]!;
      const pts = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      const marks = s.points
        .map(([x, y]) => `<circle class="mark" cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="1.2" fill="${c}"/>`)
        .join('');
      return `<polyline class="series" fill="none" stroke="${c}" stroke-width="1.5" points="${pts}"/>${marks}`;
    })
    .join('');
  return frame(
    o.kind,
    o.title,
    o.xLabel,
    'fraction of round trips at or below',
    axes(xTicks, yTicks) + lines,
    series.map((s, i) => ({ name: s.name, color: PALETTE[i % PALETTE.length]! })),
  );
}

export interface Bar {
  label: string;
  value: number;
  /** error bar (e.g. a 95 % confidence interval) */
  lo?: number;
  hi?: number;
}

/** What bar charts share: the y scale from 0 to y1, one slot per label, the ticks and the labels. */
function barFrame(labels: string[], y1: number) {
  const sy = (v: number) => M.top + PH - (v / y1) * PH;
  const bw = PW / labels.length;
  const slot = (i: number) => ({ x: M.left + i * bw + bw * 0.15, w: bw * 0.7 });
  const yTicks = niceTicks(0, y1).map((t) => ({ at: sy(t), label: fmt(t) }));
  // Labels are never cut: when the widest does not fit its slot (~6 px per character at 10 px), all are
  // turned 35° and the chart grows downward by what they need.
  const widest = Math.max(...labels.map((l) => l.length)) * 6;
  const turned = widest > bw - 4;
  const extra = turned ? Math.ceil(widest * Math.sin((35 * Math.PI) / 180)) : 0;
  const text = labels
    .map((l, i) => {
      const x = M.left + i * bw + bw / 2;
      const y = M.top + PH + 16;
      return turned
        ? `<text class="bar-label" x="${x}" y="${y}" font-size="10" text-anchor="end" ` +
            `transform="rotate(-35 ${x} ${y})">${esc(l)}</text>`
        : `<text class="bar-label" x="${x}" y="${y}" font-size="10" text-anchor="middle">${esc(l)}</text>`;
    })
    .join('');
  return { sy, slot, extra, grid: axes([], yTicks) + text };
}

export function barChart(o: { kind: string; title: string; yLabel: string; bars: Bar[] }): string {
  if (!o.bars.length) return emptyChart(o.kind, o.title, 'no data');
  const { sy, slot, grid, extra } = barFrame(
    o.bars.map((b) => b.label),
    Math.max(...o.bars.map((b) => Math.max(b.value, b.hi ?? 0))) * 1.08 || 1,
  );
  const body = o.bars
    .map((b, i) => {
      const { x, w } = slot(i);
      const c = PALETTE[i % PALETTE.length]!;
      const mid = x + w / 2;
      const tick = (v: number) => `<line x1="${mid - 5}" x2="${mid + 5}" y1="${sy(v)}" y2="${sy(v)}" stroke="#000"/>`;
      const err =
        b.lo !== undefined && b.hi !== undefined
          ? `<line x1="${mid}" x2="${mid}" y1="${sy(b.lo)}" y2="${sy(b.hi)}" stroke="#000"/>${tick(b.hi)}${tick(b.lo)}`
          : '';
      return (
        `<rect class="mark" ` +
        `x="${x.toFixed(1)}" ` +
        `y="${sy(b.value).toFixed(1)}" ` +
        `width="${w.toFixed(1)}" ` +
        `height="${(M.top + PH - sy(b.value)).toFixed(1)}" ` +
        `fill="${c}"><title>${esc(b.label)}: ` +
        `${fmt(b.value)}</title></rect>` +
        `${err}<text ` +
        // beside the error bar when there is one, so neither hides the other
        `x="${err ? mid + 7 : mid}" ` +
        `y="${sy(b.value) - 4}" font-size="10" text-anchor="${err ? 'start' : 'middle'}">${fmt(b.value)}</text>`
      );
    })
    .join('');
  return frame(o.kind, o.title, '', o.yLabel, grid + body, [], extra);
}

/** Stacked bars: one bar per label, one colored part per category. */
export function stackedBarChart(o: {
  kind: string;
  title: string;
  yLabel: string;
  categories: string[];
  bars: Array<{ label: string; parts: number[] }>;
}): string {
  if (!o.bars.length) return emptyChart(o.kind, o.title, 'no data');
  const { sy, slot, grid, extra } = barFrame(
    o.bars.map((b) => b.label),
    Math.max(...o.bars.map((b) => b.parts.reduce((a, v) => a + v, 0))) * 1.05 || 1,
  );
  const body = o.bars
    .map((b, i) => {
      const { x, w } = slot(i);
      let base = 0;
      return b.parts
        .map((v, k) => {
          const r =
            `<rect class="mark" ` +
            `x="${x.toFixed(1)}" ` +
            `y="${sy(base + v).toFixed(1)}" ` +
            `width="${w.toFixed(1)}" ` +
            `height="${(sy(base) - sy(base + v)).toFixed(1)}" ` +
            `fill="` +
            `${PALETTE[k % PALETTE.length]}"><title>` +
            `${esc(b.label)} ${esc(o.categories[k]!)}: ${fmt(v)}</title></rect>`;
          base += v;
          return r;
        })
        .join('');
    })
    .join('');
  return frame(
    o.kind,
    o.title,
    '',
    o.yLabel,
    grid + body,
    o.categories.map((c, k) => ({ name: c, color: PALETTE[k % PALETTE.length]! })),
    extra,
  );
}

function emptyChart(kind: string, title: string, why: string): string {
  return (
    `<svg class="chart empty" ` +
    `data-chart="${kind}" viewBox="0 0 ` +
    `${W} 60" width="${W}" height="60" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif"><text x="10" ` +
    `y="20" font-size="14" ` +
    `font-weight="bold">${esc(title)}</text><text x="10" y="44" font-size="12">${esc(why)}</text></svg>`
  );
}
