/**
 * `node dist/bench/engine-ab.js --before DIR [--rounds 5]`: the engine against an earlier build of
 * itself, in ONE process on the same machine — for an engine change that must leave its numbers alone
 * (the round-trip table of issue 31). DIR holds the earlier cnperf-engine (and cnperf-engine-dpdk,
 * if the DPDK rows are to run); the current build is this tree's. Each row runs the same cnperf command
 * with either engine (CNPERF_ENGINE / CNPERF_ENGINE_DPDK), the two back to back in each round and their
 * order reversed every other round, so drift hits both alike. Each figure is the median of the rounds;
 * the ratio is after / before, round by round, with the rounds' range ("within noise" when it covers 1).
 * Prints a markdown table and writes it to bench/results/<date>-engine-ab.md.
 *
 * Needs root (namespaces). The engine's protocol version must match the tree's (same package version).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collectEnvironment } from '../src/env/environment.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { median, ratioText } from './ratio.js';

const CNPERF = path.join(PROJECT_ROOT, 'bin', 'cnperf');
const CPUS = '0,1';

const { values: flags } = parseArgs({
  options: { before: { type: 'string' }, rounds: { type: 'string', default: '5' } },
});
if (!flags.before) {
  process.stderr.write('engine-ab: --before DIR is required (a directory holding the earlier cnperf-engine)\n');
  process.exit(2);
}
const beforeDir = path.resolve(flags.before);
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`engine-ab: --rounds ${flags.rounds}: a whole number of rounds, at least 1\n`);
  process.exit(2);
}
const engines = {
  before: {
    CNPERF_ENGINE: path.join(beforeDir, 'cnperf-engine'),
    CNPERF_ENGINE_DPDK: path.join(beforeDir, 'cnperf-engine-dpdk'),
  },
  after: {
    CNPERF_ENGINE: path.join(PROJECT_ROOT, 'engine', 'cnperf-engine'),
    CNPERF_ENGINE_DPDK: path.join(PROJECT_ROOT, 'engine', 'cnperf-engine-dpdk'),
  },
};
type Which = keyof typeof engines;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-engine-ab-'));
const db = path.join(tmp, 'ab.sqlite');

interface Result {
  rtt_ns?: { p50: number; p99: number };
  stream?: { rx_pps: number };
}

function cnperf(which: Which, args: string[]): Result {
  const r = spawnSync(process.execPath, [CNPERF, ...args, '--cpus', CPUS, '--json', '--db', db], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...engines[which] },
  });
  if (r.status !== 0)
    throw new Error(`cnperf ${args.join(' ')} (${which}) failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return (JSON.parse(r.stdout) as { results: Result[] }).results[0]!;
}

/** One command, read two ways or one: a row per figure. */
interface Case {
  name: string;
  args: string[];
  figures: Array<{ label: string; unit: string; read: (r: Result) => number }>;
  dpdk?: boolean;
}

const p50 = { label: 'p50', unit: 'µs', read: (r: Result) => r.rtt_ns!.p50 / 1000 };
const p99 = { label: 'p99', unit: 'µs', read: (r: Result) => r.rtt_ns!.p99 / 1000 };
const rxKpps = { label: 'received', unit: 'kpps', read: (r: Result) => r.stream!.rx_pps / 1000 };
const backToBack = ['--count', '20000', '--interval', '0', '--pace', 'spin'];

const cases: Case[] = [
  { name: 'RTT veth, send, wait block, back to back', args: ['quick', 'veth', ...backToBack], figures: [p50, p99] },
  {
    name: 'RTT veth, send, wait spin, back to back',
    args: ['quick', 'veth', ...backToBack, '--wait', 'spin'],
    figures: [p50, p99],
  },
  {
    name: 'RTT veth, AF_XDP, wait spin, back to back',
    args: ['quick', 'veth', ...backToBack, '--api', 'xdp', '--wait', 'spin'],
    figures: [p50, p99],
  },
  {
    name: 'RTT veth, open-loop probe every 100 µs (load, idle level)',
    args: ['quick', 'veth', '--workload', 'load', '--rate', 'idle', '--count', '20000', '--interval', '100us'],
    figures: [p50, p99],
  },
  {
    name: 'RTT testpmd, DPDK, back to back',
    // three pollers (testpmd, two engines) yield to each other on two CPUs: a round trip takes ~ms
    args: ['quick', 'testpmd', '--count', '2000', '--interval', '0'],
    figures: [p50, p99],
    dpdk: true,
  },
  {
    name: 'UDP 64 B stream veth, send (the stream loop: unchanged, a control)',
    args: ['quick', 'veth', '--workload', 'stream', '--api', 'send', '--duration', '3s', '--warmup', '1s'],
    figures: [rxKpps],
  },
];

const haveDpdk = existsSync(engines.before.CNPERF_ENGINE_DPDK) && existsSync(engines.after.CNPERF_ENGINE_DPDK);
const runCases = cases.filter((c) => !c.dpdk || haveDpdk);
const values = new Map<string, Record<Which, number[]>>();
try {
  for (let round = 0; round < rounds; round++) {
    const order: Which[] = round % 2 ? ['after', 'before'] : ['before', 'after'];
    for (const c of runCases) {
      for (const which of order) {
        process.stderr.write(`engine-ab: round ${round + 1}/${rounds}: ${c.name} (${which})\n`);
        const r = cnperf(which, c.args);
        for (const f of c.figures) {
          const key = `${c.name} | ${f.label} (${f.unit})`;
          const v = values.get(key) ?? { before: [], after: [] };
          v[which].push(f.read(r));
          values.set(key, v);
        }
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const env = collectEnvironment(null);
const lines = [
  `# cnperf engine before/after, ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Host: ${env.cpu_model ?? 'unknown CPU'}, ${env.cpu_count} CPUs, kernel ${env.kernel}.`,
  `Before: ${beforeDir}; after: this tree.`,
  `${rounds} rounds, the two engines back to back in each (order reversed every other round); client CPU 0,`,
  'server CPU 1. Figures are medians of the rounds; after/before is the median of the per-round ratios with',
  'their range.',
  '',
  '| case | figure | before | after | after/before |',
  '| --- | --- | ---: | ---: | --- |',
  ...[...values].map(([key, v]) => {
    const [name, figure] = key.split(' | ');
    const [before, after] = [median(v.before).toFixed(1), median(v.after).toFixed(1)];
    return `| ${name} | ${figure} | ${before} | ${after} | ${ratioText(v.after, v.before)} |`;
  }),
];
if (!haveDpdk) lines.push('', 'DPDK row not run: cnperf-engine-dpdk is missing before or after.');
const text = lines.join('\n') + '\n';
process.stdout.write(text);
const dir = path.join(PROJECT_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `${new Date().toISOString().slice(0, 10)}-engine-ab.md`), text);
