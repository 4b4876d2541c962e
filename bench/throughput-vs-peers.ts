/**
 * UDP 64 B packet rate over a veth: cnperf (send, sendmmsg, raw-mmsg) next to `iperf3 -u -l 64 -b 0`
 * and `sockperf throughput -m 64`, in one run, each through a fresh veth datapath built by cnperf,
 * sender pinned to CPU 0 and receiver to CPU 1 for every tool. Prints the rates and the ratios.
 *
 *   node dist/bench/throughput-vs-peers.js [--duration 10s] [--warmup 2s]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { renderTable } from '../src/report/table.js';
import { parseDuration } from '../src/util/units.js';
import { parseIperf3Udp } from './peers/iperf3.js';
import { parseSockperfThroughput } from './peers/sockperf.js';

const CNPERF = path.join(PROJECT_ROOT, 'bin', 'cnperf');

function cnperf(args: string[]): string {
  const r = spawnSync(process.execPath, [CNPERF, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`cnperf ${args.join(' ')} failed (exit ${r.status})`);
  return r.stdout;
}

interface Row {
  tool: string;
  txPps: number | null;
  rxPps: number | null;
}

/** Runs a peer's server and client inside a fresh veth datapath, pinned like cnperf's engines. */
function withVeth<T>(fn: (client: string, server: string, serverIp: string) => T): T {
  const { id, topology } = JSON.parse(cnperf(['topo', 'up', 'veth', '--json'])) as { id: string; topology: { endpoints: { client: { netns: string }; server: { netns: string; ip: string } } } };
  try {
    return fn(topology.endpoints.client.netns, topology.endpoints.server.netns, topology.endpoints.server.ip);
  } finally {
    cnperf(['topo', 'down', id]);
  }
}

function peerServer(netns: string, argv: string[]) {
  const p = spawn('ip', ['netns', 'exec', netns, 'taskset', '-c', '1', ...argv], { stdio: 'ignore', detached: true });
  execFileSync('sleep', ['0.5']);
  return () => {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
}

function main(): void {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '10s' }, warmup: { type: 'string', default: '2s' } } });
  const durationS = parseDuration(values.duration!, '--duration') / 1e9;
  const warmupS = parseDuration(values.warmup!, '--warmup') / 1e9;
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it builds namespaces)');
  for (const tool of ['iperf3', 'sockperf']) if (spawnSync(tool, ['--version']).error) throw new Error(`${tool} is not installed: run \`bash scripts/setup.sh\``);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-bench-'));
  const rows: Row[] = [];
  try {
    for (const [api, burst] of [['send', 1], ['sendmmsg', 64], ['raw-mmsg', 64]] as const) {
      const doc = JSON.parse(
        cnperf(['quick', 'veth', '--workload', 'stream', '--api', api, '--burst', String(burst), '--size', '64', '--duration', values.duration!, '--warmup', values.warmup!, '--cpus', '0,1', '--json', '--db', path.join(tmp, 'b.sqlite')]),
      ) as { results: Array<{ stream: { tx_pps: number; rx_pps: number } }> };
      const s = doc.results[0]!.stream;
      rows.push({ tool: `cnperf ${api}${burst > 1 ? ` (burst ${burst})` : ''}`, txPps: s.tx_pps, rxPps: s.rx_pps });
    }
    rows.push(
      withVeth((client, server, ip) => {
        const stop = peerServer(server, ['iperf3', '-s', '-1', '-p', '5201']);
        try {
          const out = execFileSync('ip', ['netns', 'exec', client, 'taskset', '-c', '0', 'iperf3', '-c', ip, '-p', '5201', '-u', '-l', '64', '-b', '0', '-t', String(durationS - warmupS), '-O', String(warmupS), '--json'], { encoding: 'utf8' });
          const r = parseIperf3Udp(out);
          return { tool: 'iperf3 -u -l 64 -b 0', txPps: r.txPps, rxPps: r.rxPps };
        } finally {
          stop();
        }
      }),
    );
    rows.push(
      withVeth((client, server, ip) => {
        const stop = peerServer(server, ['sockperf', 'server', '-i', ip, '-p', '11111']);
        try {
          const out = execFileSync('ip', ['netns', 'exec', client, 'taskset', '-c', '0', 'sockperf', 'throughput', '-i', ip, '-p', '11111', '-m', '64', '-t', String(durationS)], { encoding: 'utf8' });
          return { tool: 'sockperf throughput -m 64', txPps: parseSockperfThroughput(out).txPps, rxPps: null };
        } finally {
          stop();
        }
      }),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const k = (x: number | null) => (x === null ? '–' : (x / 1000).toFixed(1));
  const iperf = rows.find((r) => r.tool.startsWith('iperf3'))!;
  const sockperf = rows.find((r) => r.tool.startsWith('sockperf'))!;
  const ratio = (a: number | null, b: number | null) => (a !== null && b ? (a / b).toFixed(2) : '–');
  const table = rows.map((r) => [r.tool, k(r.txPps), k(r.rxPps), ratio(r.rxPps, iperf.rxPps), ratio(r.txPps, sockperf.txPps)]);
  process.stdout.write(
    `UDP 64 B over veth, sender on CPU 0, receiver on CPU 1, ${durationS} s with the first ${warmupS} s discarded (kpps)\n` +
      renderTable(['tool', 'sent kpps', 'received kpps', 'rx / iperf3 rx', 'tx / sockperf tx'], table) +
      '\nsockperf throughput reports only what it sent; iperf3 reports both ends.\n',
  );
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
