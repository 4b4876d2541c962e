/**
 * A run's timeline as one SVG, RRUL-style: its panels (latency or rate, then CPU) stacked on one
 * shared time axis, the warm-up shaded in each. Marks carry class "mark" as in svg.ts, so a test can
 * tell a chart drawn with data from an empty one.
 */
import { esc, niceTicks, PALETTE } from './svg.js';
import type { RunTimeline, TimelinePanel } from './timeline.js';

const W = 720;
const PANEL_H = 150;
const M = { left: 70, right: 120, top: 30, gap: 26, bottom: 40 };
const PW = W - M.left - M.right;

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString());

function panelSvg(p: TimelinePanel, top: number, sx: (t: number) => number, shade: string, xTicks: number[]): string {
  const vals = p.columns.flatMap((c) => c.values.filter((v): v is number => v !== null));
  const y1 = (vals.length ? Math.max(...vals) : 1) * 1.08 || 1;
  const sy = (v: number) => top + PANEL_H - (v / y1) * PANEL_H;
  const grid =
    niceTicks(0, y1, 4)
      .map(
        (t) =>
          `<line x1="${M.left}" x2="${M.left + PW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>` +
          `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmt(t)}</text>`,
      )
      .join('') +
    xTicks
      .map(
        (t) =>
          `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${top}" y2="${top + PANEL_H}" stroke="#eee"/>`,
      )
      .join('');
  const lines = p.columns
    .map((c, k) => {
      const color = PALETTE[k % PALETTE.length]!;
      // a gap where a window has no value, never a line drawn through it
      const runs: string[][] = [[]];
      const marks: string[] = [];
      c.values.forEach((v, i) => {
        if (v === null) return void runs.push([]);
        const x = sx(p.t_s[i]!).toFixed(1);
        const y = sy(v).toFixed(1);
        runs[runs.length - 1]!.push(`${x},${y}`);
        marks.push(
          `<circle class="mark" cx="${x}" cy="${y}" r="1.6" fill="${color}"><title>${esc(c.name)} ` +
            `at ${p.t_s[i]!.toFixed(2)} s: ${fmt(v)} ${esc(c.unit)}</title></circle>`,
        );
      });
      const polys = runs
        .filter((r) => r.length > 1)
        .map((r) => `<polyline fill="none" stroke="${color}" stroke-width="1.3" points="${r.join(' ')}"/>`)
        .join('');
      const legend =
        `<g transform="translate(${W - M.right + 12},${top + 8 + k * 18})"><rect width="12" height="12" ` +
        `fill="${color}"/><text x="18" y="10" font-size="11">${esc(c.name)}</text></g>`;
      return polys + marks.join('') + legend;
    })
    .join('');
  return (
    `<text x="${M.left}" y="${top - 6}" font-size="12">${esc(p.title)}, ${esc(p.unit)}</text>` +
    shade +
    grid +
    `<rect x="${M.left}" y="${top}" width="${PW}" height="${PANEL_H}" fill="none" stroke="#888"/>` +
    lines
  );
}

/** The timeline of one run as an SVG chart (kind "timeline"), titled with what it shows. */
export function timelineChart(title: string, tl: RunTimeline): string {
  const ts = tl.panels.flatMap((p) => p.t_s);
  const t0 = Math.min(0, ...ts);
  const t1 = Math.max(...ts, tl.warmup_s?.[1] ?? 0, t0 + 0.1);
  const sx = (t: number) => M.left + ((t - t0) / (t1 - t0)) * PW;
  const xTicks = niceTicks(t0, t1, 6);
  const H = M.top + tl.panels.length * (PANEL_H + M.gap) - M.gap + M.bottom;
  const body = tl.panels
    .map((p, i) => {
      const top = M.top + 14 + i * (PANEL_H + M.gap);
      const shade = tl.warmup_s
        ? `<rect class="warmup" x="${sx(tl.warmup_s[0]).toFixed(1)}" y="${top}" ` +
          `width="${Math.max(1, sx(tl.warmup_s[1]) - sx(tl.warmup_s[0])).toFixed(1)}" height="${PANEL_H}" ` +
          `fill="#f0e6c8"><title>warm-up: not counted</title></rect>`
        : '';
      return panelSvg(p, top, sx, shade, xTicks);
    })
    .join('');
  const axisY = M.top + 14 + tl.panels.length * (PANEL_H + M.gap) - M.gap;
  const axis = xTicks
    .map((t) => `<text x="${sx(t).toFixed(1)}" y="${axisY + 14}" font-size="11" text-anchor="middle">${fmt(t)}</text>`)
    .join('');
  const height = H + 14;
  return (
    `<svg class="chart" data-chart="timeline" data-run="${esc(tl.run_id)}" viewBox="0 0 ${W} ${height}" ` +
    `width="${W}" height="${height}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">` +
    `<text x="${M.left}" y="18" font-size="14" font-weight="bold">${esc(title)}</text>` +
    body +
    axis +
    `<text x="${M.left + PW / 2}" y="${height - 6}" font-size="12" text-anchor="middle">` +
    `seconds since the engine started${tl.warmup_s ? ' (shaded: warm-up)' : ''}</text></svg>`
  );
}
