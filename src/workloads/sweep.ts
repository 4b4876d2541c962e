/**
 * A rate sweep (seed 001, Figure 2): one stream per offered rate through the same datapath; the
 * received rate against the offered one, and the highest rate the path sustains under a loss threshold.
 */
import { UserError } from '../util/errors.js';
import { parseRateList } from '../util/units.js';
import type { SweepPoint, SweepSeries, SweepSummary } from './results.js';
import { isRawApi, runFlows, streamCommands, streamPackets, streamParams, streamRecord, type StreamParams } from './stream.js';
import type { Outcome, Workload } from './types.js';

export interface SweepParams extends StreamParams {
  rates: number[];
  /** the highest offered rate whose loss stays under this is the maximum sustained rate */
  lossThreshold: number;
}

export const DEFAULT_LOSS_THRESHOLD = 0.001;

export function maxSustained(points: readonly SweepPoint[], threshold: number): number | null {
  const ok = points.filter((p) => p.rx_pps !== null && p.loss_ratio < threshold).map((p) => p.offered_pps);
  return ok.length ? Math.max(...ok) : null;
}

export type SweepOutcome = Outcome<SweepSummary, null, SweepSeries>;

export const sweepWorkload: Workload<SweepParams, SweepOutcome> = {
  name: 'sweep',
  description: 'received vs offered rate over a list of rates, and the maximum sustained rate (seed 001)',
  parse(v) {
    if (v.rate === undefined) throw new UserError('--workload sweep needs --rate: a list (50k,100k,200k) or a range (50k..400k:8)');
    const rates = parseRateList(v.rate, '--rate');
    const lossThreshold = v['loss-threshold'] ?? DEFAULT_LOSS_THRESHOLD;
    return streamParams(v, 'list').map((p) => ({ ...p, rates, lossThreshold }));
  },
  pairsNeeded: () => 1,
  rawApi: (p) => (isRawApi(p.api) ? p.api : null),
  cpus: (p) => p.cpus,
  expectedPackets: (p) => p.rates.reduce((a, r) => a + streamPackets({ ...p, ratePps: r }), 0),
  describe: (p) => `sweeping ${p.api} over ${p.rates.length} offered rates, ${p.durationNs / 1e9} s each`,
  footer: (p) => `${p.durationNs / 1e9} s per offered rate, first ${p.warmupNs / 1e9} s discarded, max sustained = highest rate with loss under ${p.lossThreshold * 100} %`,
  record: (p) => ({ rates_pps: p.rates, loss_threshold: p.lossThreshold, ...streamRecord(p) }),
  // The first point's command lines; the others differ only in --rate.
  commands: (topo, p) => streamCommands(topo, { ...p, ratePps: p.rates[0]! }),
  async run(topo, p, ctx) {
    const points: SweepPoint[] = [];
    const series: SweepSeries = [];
    let lost = 0;
    const problems: string[] = [];
    for (const rate of p.rates) {
      if (ctx.stop.requested) {
        problems.push('interrupted');
        break;
      }
      const point = await runFlows(topo, { ...p, ratePps: rate });
      const s = point.summary!;
      points.push({ offered_pps: rate, tx_pps: s.tx_pps, rx_pps: s.rx_pps, loss_ratio: s.loss_ratio });
      if (point.series) series.push({ offered_pps: rate, ...point.series });
      lost += point.lost;
      if (point.problem) problems.push(`at ${rate} pps: ${point.problem}`);
      ctx.progress(`offered ${(rate / 1000).toFixed(1)} kpps → received ${s.rx_pps === null ? '–' : (s.rx_pps / 1000).toFixed(1)} kpps, loss ${(s.loss_ratio * 100).toFixed(2)} %`);
    }
    const summary: SweepSummary = { api: p.api, size: p.size, burst: p.burst, flows: 1, loss_threshold: p.lossThreshold, points, max_sustained_pps: maxSustained(points, p.lossThreshold) };
    return { problem: problems.length ? problems.join('; ') : null, samples: points.length, lost, summary, engine: null, histogram: null, raw: null, series };
  },
};
