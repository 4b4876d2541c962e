/**
 * cnperf's loopback RTT next to sockperf's ping-pong, in one run, in the same kind of fresh
 * namespace, with the same payload size, period and packet count. Prints both and their ratios.
 *
 *   npm run bench -- [--count 10000] [--interval 1ms|0] [--size 64]
 *
 * Needs root and sockperf (scripts/setup.sh installs it).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { renderTable, us } from '../src/report/table.js';
import { parseDuration } from '../src/util/units.js';
import { parseSockperfPingPong } from './peers/sockperf.js';

const CNPERF = path.join(PROJECT_ROOT, 'bin', 'cnperf');
const PORT = '11111';

function cnperf(args: string[]): string {
  const r = spawnSync(process.execPath, [CNPERF, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`cnperf ${args.join(' ')} failed (exit ${r.status})`);
  return r.stdout;
}

interface Row {
  samples: number;
  min: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** cnperf through its own loopback datapath, pinned. */
function runCnperf(count: number, interval: string, size: string, cpus: [number, number], pace: 'sleep' | 'spin', db: string): Row {
  const args = ['quick', 'loopback', '--count', String(count), '--interval', interval, '--size', size, '--cpus', cpus.join(','), '--pace', pace, '--json', '--db', db];
  const doc = JSON.parse(cnperf(args)) as {
    results: Array<{ samples: number; rtt_ns: Record<string, number> }>;
  };
  const r = doc.results[0]!;
  return { samples: r.samples, min: r.rtt_ns.min!, p50: r.rtt_ns.p50!, p99: r.rtt_ns.p99!, p999: r.rtt_ns.p999!, max: r.rtt_ns.max! };
}

/** sockperf in a fresh namespace built the same way (`cnperf topo up loopback`), pinned the same way. */
function runSockperf(count: number, intervalNs: number, size: string, cpus: [number, number]): Row {
  const { id, topology } = JSON.parse(cnperf(['topo', 'up', 'loopback', '--json'])) as { id: string; topology: { endpoints: { server: { netns: string } } } };
  const ns = topology.endpoints.server.netns;
  const server = spawn('ip', ['netns', 'exec', ns, 'taskset', '-c', String(cpus[1]), 'sockperf', 'server', '-i', '127.0.0.1', '-p', PORT], { stdio: 'ignore', detached: true });
  try {
    execFileSync('sleep', ['0.5']);
    const mps = intervalNs === 0 ? 'max' : String(Math.round(1e9 / intervalNs));
    // sockperf runs for a time, not a count: its ~0.4 s warm-up is discarded, then it measures.
    const seconds = intervalNs === 0 ? 2 : Math.ceil((count * intervalNs) / 1e9 + 0.5);
    const out = execFileSync('ip', ['netns', 'exec', ns, 'taskset', '-c', String(cpus[0]), 'sockperf', 'ping-pong', '-i', '127.0.0.1', '-p', PORT, '-m', size, '-t', String(seconds), `--mps=${mps}`, '--full-rtt'], {
      encoding: 'utf8',
    });
    const sp = parseSockperfPingPong(out);
    return { samples: sp.samples, min: sp.min, p50: sp.percentiles['50.000']!, p99: sp.percentiles['99.000']!, p999: sp.percentiles['99.900']!, max: sp.max };
  } finally {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    cnperf(['topo', 'down', id]);
  }
}

function main(): void {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' }, interval: { type: 'string', default: '1ms' }, size: { type: 'string', default: '64' } } });
  const count = Number(values.count);
  const interval = values.interval!;
  const intervalNs = parseDuration(interval, '--interval');
  const size = values.size!;
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it builds namespaces)');
  if (spawnSync('sockperf', ['--version']).error) throw new Error('sockperf is not installed: run `bash scripts/setup.sh` or `apt-get install sockperf`');

  // Placement decides the RTT on small VMs (a cross-CPU wake-up can cost more than the whole
  // path), so both tools run pinned, in both placements.
  const placements: Array<[string, [number, number]]> = [['same CPU', [0, 0]]];
  if (os.cpus().length > 1) placements.push(['two CPUs', [0, 1]]);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-bench-'));
  const rows: string[][] = [];
  try {
    for (const [label, cpus] of placements) {
      const db = path.join(tmp, 'bench.sqlite');
      const sleeping = runCnperf(count, interval, size, cpus, 'sleep', db);
      const spinning = runCnperf(count, interval, size, cpus, 'spin', db);
      const theirs = runSockperf(count, intervalNs, size, cpus);
      const cell = (r: Row) => [String(r.samples), us(r.min), us(r.p50), us(r.p99), us(r.p999), us(r.max)];
      const ratio = (r: Row) => (['min', 'p50', 'p99', 'p999', 'max'] as const).map((k) => (r[k] / theirs[k]).toFixed(2));
      rows.push(
        [label, 'cnperf --pace sleep', ...cell(sleeping)],
        [label, 'cnperf --pace spin', ...cell(spinning)],
        [label, 'sockperf', ...cell(theirs)],
        [label, 'ratio spin/sockperf', '', ...ratio(spinning)],
        [label, 'ratio sleep/sockperf', '', ...ratio(sleeping)],
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(
    `loopback UDP ping-pong in a fresh namespace, ${size} B payload, ${intervalNs ? `every ${interval}` : 'back to back'}, client CPU 0 (RTT, µs)\n` +
      renderTable(['placement', 'tool', 'samples', 'min', 'p50', 'p99', 'p99.9', 'max'], rows, [0, 1]) +
      '\nsockperf busy-waits between sends (its CPU never idles): `--pace spin` is the like-for-like\n' +
      'comparison; `--pace sleep` (the default) is what a periodic application that sleeps sees.\n',
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
