/**
 * A rate sweep (seed 001, Figure 2): one stream per offered rate through the same datapath; the
 * received rate against the offered one, and the highest rate the path sustains under a loss threshold.
 */
import { UserError } from '../util/errors.js';
import { parseRateList } from '../util/units.js';
import type { SweepPoint, SweepSeries, SweepSummary } from './results.js';
import { isRawApi, runFlows, streamCommands, streamPackets, streamParams, streamRecord } from './stream.js';
import { type StreamParams } from './stream-params.js';
import type { Outcome, Workload } from './types.js';

export interface SweepParams extends StreamParams {
  rates: number[];
  /** the highest offered rate whose loss stays under this is the maximum sustained rate */
  lossThreshold: number;
  /** a point whose achieved send rate falls more than this fraction below the offered one is sender-limited */
  senderLimit: number;
}

export const DEFAULT_LOSS_THRESHOLD = 0.001;
export const DEFAULT_SENDER_LIMIT = 0.02;

/**
 * Whether the sender could not offer the rate asked of it: then the point says nothing about the
 * path (no loss at a rate never offered is no evidence). Null when the send rate was not measured.
 */
export function senderLimited(offeredPps: number, txPps: number | null, limit: number): boolean | null {
  if (txPps === null) return null;
  return txPps < offeredPps * (1 - limit);
}

/**
 * The maximum sustained rate: among the points the sender really offered (not sender-limited), with
 * a measured receive rate and loss under the threshold, the one offered the highest rate — reported
 * with what was received there. Null when no point qualifies.
 */
export function maxSustained(
  points: readonly SweepPoint[],
  threshold: number,
): { offered_pps: number; rx_pps: number } | null {
  const ok = points.filter((p) => p.sender_limited === false && p.rx_pps !== null && p.loss_ratio < threshold);
  if (!ok.length) return null;
  const best = ok.reduce((a, b) => (b.offered_pps > a.offered_pps ? b : a));
  return { offered_pps: best.offered_pps, rx_pps: best.rx_pps! };
}

export type SweepOutcome = Outcome<SweepSummary, null, SweepSeries>;

export const sweepWorkload: Workload<SweepParams, SweepOutcome> = {
  name: 'sweep',
  description: 'received vs offered rate over a list of rates, and the maximum sustained rate (seed 001)',
  parse(v) {
    if (v.rate === undefined)
      throw new UserError('--workload sweep needs --rate: a list (50k,100k,200k) or a range (50k..400k:8)');
    const rates = parseRateList(v.rate, '--rate');
    const lossThreshold = v['loss-threshold'] ?? DEFAULT_LOSS_THRESHOLD;
    const senderLimit = v['sender-limit'] ?? DEFAULT_SENDER_LIMIT;
    return streamParams(v, 'list').map((p) => ({ ...p, rates, lossThreshold, senderLimit }));
  },
  pairsNeeded: () => 1,
  rawApi: (p) => (isRawApi(p.api) ? p.api : null),
  cpus: (p) => p.cpus,
  expectedPackets: (p) => p.rates.reduce((a, r) => a + streamPackets({ ...p, ratePps: r }), 0),
  describe: (p) => `sweeping ${p.api} over ${p.rates.length} offered rates, ${p.durationNs / 1e9} s each`,
  footer: (p) =>
    `${p.durationNs / 1e9} s per offered rate, first ` +
    `${p.warmupNs / 1e9} s discarded; max sustained = the received rate at the highest offered rate with loss ` +
    `under ${p.lossThreshold * 100} % that the sender reached within ${p.senderLimit * 100} %`,
  record: (p) => ({
    rates_pps: p.rates,
    loss_threshold: p.lossThreshold,
    sender_limit: p.senderLimit,
    ...streamRecord(p),
  }),
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
      points.push({
        offered_pps: rate,
        tx_pps: s.tx_pps,
        rx_pps: s.rx_pps,
        loss_ratio: s.loss_ratio,
        sender_limited: senderLimited(rate, s.tx_pps, p.senderLimit),
      });
      if (point.series) series.push({ offered_pps: rate, ...point.series });
      lost += point.lost;
      if (point.problem) problems.push(`at ${rate} pps: ${point.problem}`);
      ctx.progress(
        `offered ${(rate / 1000).toFixed(1)} ` +
          `kpps${
            points[points.length - 1]!.sender_limited
              ? ' (sender-limited: sent ' + (s.tx_pps === null ? '–' : (s.tx_pps / 1000).toFixed(1)) + ' kpps)'
              : ''
          } → received ` +
          `${s.rx_pps === null ? '–' : (s.rx_pps / 1000).toFixed(1)} kpps, loss ` +
          `${(s.loss_ratio * 100).toFixed(2)} %`,
      );
    }
    const max = maxSustained(points, p.lossThreshold);
    const summary: SweepSummary = {
      api: p.api,
      size: p.size,
      burst: p.burst,
      flows: 1,
      loss_threshold: p.lossThreshold,
      sender_limit: p.senderLimit,
      points,
      max_sustained_pps: max?.rx_pps ?? null,
      max_sustained_offered_pps: max?.offered_pps ?? null,
    };
    return {
      problem: problems.length ? problems.join('; ') : null,
      samples: points.length,
      lost,
      summary,
      engine: null,
      histogram: null,
      raw: null,
      series,
    };
  },
};
