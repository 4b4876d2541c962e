/**
 * Pass/fail expectations (`expect:` in experiment files, `cnperf check --expect`): "METRIC OP VALUE",
 * e.g. "p99 < 200us", "rx_pps > 200k", "loss < 0.1%", "transactions_per_s > 5k". Parsing is pure and
 * names what was wrong with what is allowed; judging is src/report/gates.ts.
 */
import { UserError } from '../util/errors.js';

export type Op = '<' | '<=' | '>' | '>=';
const OPS: readonly Op[] = ['<=', '>=', '<', '>'];

type Kind = 'time' | 'rate' | 'gbps' | 'ratio';

interface MetricDef {
  kind: Kind;
  /** the workloads whose results carry it */
  workloads: readonly string[];
  help: string;
}

const LATENCY = ['rtt', 'load', 'rr', 'crr'] as const;
const STREAMS = ['stream', 'load'] as const;

export const METRICS = {
  p50: { kind: 'time', workloads: LATENCY, help: 'median latency (RTT, or per transaction)' },
  p99: { kind: 'time', workloads: LATENCY, help: '99th percentile latency' },
  'p99.9': { kind: 'time', workloads: LATENCY, help: '99.9th percentile latency' },
  max: { kind: 'time', workloads: LATENCY, help: 'the largest latency measured' },
  rx_pps: { kind: 'rate', workloads: STREAMS, help: 'received packets per second (steady-state mean)' },
  tx_pps: { kind: 'rate', workloads: STREAMS, help: 'sent packets per second' },
  rx_gbps: { kind: 'gbps', workloads: STREAMS, help: 'received Gbit/s' },
  loss: {
    kind: 'ratio',
    workloads: ['rtt', 'stream', 'load', 'rr', 'crr'],
    help: 'lost probes, packets or failed transactions, as a share',
  },
  transactions_per_s: { kind: 'rate', workloads: ['rr', 'crr'], help: 'completed TCP transactions per second' },
} as const satisfies Record<string, MetricDef>;

export type Metric = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as Metric[];

export interface Expectation {
  /** as written */
  text: string;
  metric: Metric;
  op: Op;
  /** in the metric's base unit: ns, per second, Gbit/s, or a ratio (0.001 for 0.1%) */
  threshold: number;
}

const UNITS: Record<Kind, { units: Record<string, number>; allowed: string }> = {
  time: {
    units: { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 },
    allowed: 'a duration with its unit: 200us, 1.5ms, 800ns (ns, us, µs, ms, s)',
  },
  rate: { units: { '': 1, k: 1e3, M: 1e6, G: 1e9 }, allowed: 'a rate: 200k, 1.5M, 5000 (k, M, G multiply)' },
  gbps: { units: { '': 1, gbps: 1, 'Gbit/s': 1 }, allowed: 'Gbit/s: 9.5 or 9.5Gbit/s' },
  ratio: { units: { '%': 0.01, '': 1 }, allowed: 'a share: 0.1% or 0.001' },
};

export function parseExpectation(text: string): Expectation {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(<=|>=|<|>|==|=|!=)\s*(\S.*?)\s*$/.exec(text);
  if (!m)
    throw new UserError(
      `expectation '${text}': expected METRIC OP VALUE, e.g. "p99 < 200us" (operators ${OPS.join(' ')})`,
    );
  const [name, op, value] = [m[1]!, m[2]!, m[3]!];
  if (!(METRIC_NAMES as string[]).includes(name))
    throw new UserError(`expectation '${text}': unknown metric '${name}'; allowed: ${METRIC_NAMES.join(', ')}`);
  if (!(OPS as string[]).includes(op))
    throw new UserError(
      `expectation '${text}': operator ` +
        `'${op}' is not allowed; allowed: ${OPS.join(' ')} (a measured figure is never exactly a number)`,
    );
  const metric = name as Metric;
  const kind = METRICS[metric].kind;
  const v = /^([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*(.*)$/.exec(value);
  const factor = v ? UNITS[kind].units[v[2]!] : undefined;
  if (!v || factor === undefined)
    throw new UserError(
      `expectation '${text}': '${value}' is not a value for ${metric}; expected ${UNITS[kind].allowed}`,
    );
  const threshold = Number(v[1]) * factor;
  if (kind === 'ratio' && threshold > 1)
    throw new UserError(`expectation '${text}': ${metric} is a share, at most 100% (or 1)`);
  return { text: text.trim(), metric, op: op as Op, threshold };
}

/** Why an expectation cannot be judged on a workload's results, or null. */
export function metricRefusal(e: Expectation, workload: string): string | null {
  const d: MetricDef = METRICS[e.metric];
  return d.workloads.includes(workload)
    ? null
    : `expectation '${e.text}': ` +
        `${e.metric} is not measured by the ${workload} workload (it is for: ${d.workloads.join(', ')})`;
}

/** Whether a value meets an expectation. */
export function holds(op: Op, value: number, threshold: number): boolean {
  return op === '<'
    ? value < threshold
    : op === '<='
      ? value <= threshold
      : op === '>'
        ? value > threshold
        : value >= threshold;
}

/** A value in the metric's own unit, for messages: 183.2 µs, 215.3k/s, 0.05 %. */
export function formatMetric(metric: Metric, v: number): string {
  const kind = METRICS[metric].kind;
  if (kind === 'time') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : `${(v / 1e3).toFixed(1)} µs`;
  if (kind === 'rate')
    return v >= 1e6 ? `${(v / 1e6).toFixed(3)}M/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k/s` : `${v.toFixed(1)}/s`;
  if (kind === 'gbps') return `${v.toFixed(3)} Gbit/s`;
  return `${(v * 100).toFixed(3)} %`;
}
