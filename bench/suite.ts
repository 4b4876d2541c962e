/**
 * `npm run bench`: cnperf next to its peers, in ONE process, on the same machine, in the same kind of
 * fresh namespaces, pinned the same way (client/sender CPU 0, server/receiver CPU 1), the tools
 * alternating round by round (the order reversed every other round) so that drift hits them equally.
 * Each figure is the median of the rounds; ratios are cnperf / peer. Prints a markdown table and
 * writes it to bench/results/<date>.md.
 *
 *   node dist/bench/suite.js [--rounds 3] [--quick]   (--quick: shorter runs, 16 and 64 pairs, 1 M samples; a
 *   smoke run that is printed, not written to bench/results)
 *
 * Needs root; sockperf, iperf3, qperf and containernetworking-plugins (scripts/setup.sh installs them).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collectEnvironment } from '../src/env/environment.js';
import { dpdkEnginePath, PROJECT_ROOT } from '../src/paths.js';
import { Histogram } from '../src/stats/histogram.js';
import { summarize } from '../src/stats/summary.js';
import { parseIperf3Tcp, parseIperf3Udp } from './peers/iperf3.js';
import { parseQperfUdpLat } from './peers/qperf.js';
import { parseSockperfPingPong, parseSockperfThroughput } from './peers/sockperf.js';
import { median, ratioText } from './ratio.js';

const CNPERF = path.join(PROJECT_ROOT, 'bin', 'cnperf');
const CLIENT_CPU = '0';
const SERVER_CPU = '1';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-bench-'));
const db = path.join(tmp, 'bench.sqlite');

function cnperf(args: string[]): string {
  const r = spawnSync(process.execPath, [CNPERF, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`cnperf ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return r.stdout;
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

interface Topo {
  id: string;
  client: string;
  server: string;
  serverIp: string;
}

/** A datapath built by cnperf and kept for a peer tool (`cnperf topo up`), removed after fn. */
function withTopo<T>(datapath: string, fn: (t: Topo) => T): T {
  const doc = JSON.parse(cnperf(['topo', 'up', datapath, '--json'])) as {
    id: string;
    topology: { endpoints: { client: { netns: string }; server: { netns: string; ip: string } } };
  };
  try {
    const e = doc.topology.endpoints;
    return fn({ id: doc.id, client: e.client.netns, server: e.server.netns, serverIp: e.server.ip });
  } finally {
    cnperf(['topo', 'down', doc.id]);
  }
}

/** A peer's server in the server namespace, pinned; returns its stopper. */
function server(netns: string, argv: string[]): () => void {
  const p = spawn('ip', ['netns', 'exec', netns, 'taskset', '-c', SERVER_CPU, ...argv], {
    stdio: 'ignore',
    detached: true,
  });
  execFileSync('sleep', ['0.5']);
  return () => {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
}

function client(netns: string, argv: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, 'taskset', '-c', CLIENT_CPU, ...argv], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

/** A peer tool once: its server and its client in a fresh datapath (argv get the server's address). */
function peer(datapath: string, serverArgv: (ip: string) => string[], clientArgv: (ip: string) => string[]): string {
  return withTopo(datapath, (t) => {
    const stop = server(t.server, serverArgv(t.serverIp));
    try {
      return client(t.client, clientArgv(t.serverIp));
    } finally {
      stop();
    }
  });
}

/** A measurement that each round repeats: its name, its unit, and how to take it once. */
interface Probe {
  group: string;
  tool: string;
  unit: string;
  run: () => number;
  values: number[];
  /** a row of cnperf's own with no peer to compare to (batching) */
  noRatio?: boolean;
}

function rttProbes(datapath: string, mode: 'block' | 'spin', seconds: number): Probe[] {
  const group = `RTT ${datapath}, ${mode}, 64 B back to back (p50 µs)`;
  const out: Probe[] = [];
  const count = String(Math.round(seconds * 15_000));
  out.push({
    group,
    tool: 'cnperf',
    unit: 'µs',
    values: [],
    run: () => {
      const doc = JSON.parse(
        cnperf([
          'quick',
          datapath,
          '--count',
          count,
          '--interval',
          '0',
          '--wait',
          mode,
          '--pace',
          'spin',
          '--cpus',
          `${CLIENT_CPU},${SERVER_CPU}`,
          '--json',
          '--db',
          db,
        ]),
      ) as { results: Array<{ rtt_ns: { p50: number } }> };
      return doc.results[0]!.rtt_ns.p50 / 1000;
    },
  });
  // sockperf spins with non-blocking sockets (its -F needs a feed file).
  const spinArgs = mode === 'spin' ? ['--nonblocked'] : [];
  out.push({
    group,
    tool: 'sockperf ping-pong',
    unit: 'µs',
    values: [],
    run: () =>
      parseSockperfPingPong(
        peer(
          datapath,
          (ip) => ['sockperf', 'server', '-i', ip, '-p', '11111', ...spinArgs],
          (ip) => [
            'sockperf',
            'ping-pong',
            '-i',
            ip,
            '-p',
            '11111',
            '-m',
            '64',
            '-t',
            String(seconds),
            '--mps=max',
            '--full-rtt',
            ...spinArgs,
          ],
        ),
      ).percentiles['50.000']! / 1000,
  });
  if (mode === 'block') {
    out.push({
      group: `RTT ${datapath}, block, 64 B back to back (mean µs: qperf gives no percentiles)`,
      tool: 'qperf udp_lat',
      unit: 'µs',
      values: [],
      run: () =>
        (2 *
          parseQperfUdpLat(
            peer(
              datapath,
              () => ['qperf', '-lp', '19765'],
              (ip) => ['qperf', ip, '-lp', '19765', '-t', String(seconds), '-m', '64', '-vu', 'udp_lat'],
            ),
          )) /
        1000,
    });
    out.push({
      group: `RTT ${datapath}, block, 64 B back to back (mean µs: qperf gives no percentiles)`,
      tool: 'cnperf',
      unit: 'µs',
      values: [],
      run: () => {
        const doc = JSON.parse(
          cnperf([
            'quick',
            datapath,
            '--count',
            count,
            '--interval',
            '0',
            '--wait',
            'block',
            '--pace',
            'spin',
            '--cpus',
            `${CLIENT_CPU},${SERVER_CPU}`,
            '--json',
            '--db',
            db,
          ]),
        ) as { results: Array<{ rtt_ns: { mean: number } }> };
        return doc.results[0]!.rtt_ns.mean / 1000;
      },
    });
  }
  return out;
}

/** One cnperf stream over veth, pinned like the peers; returns its `stream` summary. */
function cnperfStream(
  api: string,
  seconds: number,
  extra: string[] = [],
): { tx_pps: number; rx_pps: number; rx_gbps: number } {
  const doc = JSON.parse(
    cnperf([
      'quick',
      'veth',
      '--workload',
      'stream',
      '--api',
      api,
      ...extra,
      '--duration',
      `${seconds}s`,
      '--warmup',
      '1s',
      '--cpus',
      `${CLIENT_CPU},${SERVER_CPU}`,
      '--json',
      '--db',
      db,
    ]),
  ) as { results: Array<{ stream: { tx_pps: number; rx_pps: number; rx_gbps: number } }> };
  return doc.results[0]!.stream;
}

/**
 * Packet rates. Like for like first: one datagram per send call and a plain recv receiver, as iperf3
 * and sockperf send; then cnperf's batching APIs, which no peer has (sendmmsg, raw-mmsg, raw-ring with
 * bursts of 64): those rows measure batching, not the tool, and carry no ratio; then AF_XDP against
 * iperf3 (a ratio by design: how much the bypass buys over the socket path a user would otherwise use).
 */
function rateProbes(seconds: number): Probe[] {
  const received = 'UDP 64 B over veth, one datagram per call (received kpps)';
  const sent = 'UDP 64 B over veth, one datagram per call (sent kpps: sockperf reports no receive side)';
  const batching = 'UDP 64 B over veth with batching, burst 64 (received kpps; no peer batches: no ratio)';
  const bypass = "UDP 64 B over veth, AF_XDP receiver (received kpps; the peer: iperf3's socket receiver)";
  // One probe per group (each keeps its own rounds), the same iperf3 run.
  const iperf3Udp = (group: string): Probe => ({
    group,
    tool: 'iperf3 -u -l 64 -b 0',
    unit: 'kpps',
    values: [],
    run: () =>
      parseIperf3Udp(
        peer(
          'veth',
          () => ['iperf3', '-s', '-1', '-p', '5201'],
          (ip) => [
            'iperf3',
            '-c',
            ip,
            '-p',
            '5201',
            '-u',
            '-l',
            '64',
            '-b',
            '0',
            '-t',
            String(seconds - 1),
            '-O',
            '1',
            '--json',
          ],
        ),
      ).rxPps / 1000,
  });
  const cn = (group: string, api: string, burst: number, side: 'rx_pps' | 'tx_pps'): Probe => ({
    group,
    tool: `cnperf ${api} (burst ${burst})`,
    unit: 'kpps',
    values: [],
    run: () => cnperfStream(api, seconds, ['--burst', String(burst), '--size', '64'])[side] / 1000,
  });
  return [
    cn(received, 'send', 1, 'rx_pps'),
    iperf3Udp(received),
    cn(sent, 'send', 1, 'tx_pps'),
    {
      group: sent,
      tool: 'sockperf throughput',
      unit: 'kpps',
      values: [],
      run: () =>
        parseSockperfThroughput(
          peer(
            'veth',
            (ip) => ['sockperf', 'server', '-i', ip, '-p', '11111'],
            (ip) => ['sockperf', 'throughput', '-i', ip, '-p', '11111', '-m', '64', '-t', String(seconds)],
          ),
        ).txPps / 1000,
    },
    { ...cn(batching, 'sendmmsg', 64, 'rx_pps'), noRatio: true },
    { ...cn(batching, 'raw-mmsg', 64, 'rx_pps'), noRatio: true },
    { ...cn(batching, 'raw-ring', 64, 'rx_pps'), noRatio: true },
    // Kernel bypass (issue 15's goal: ≥ 3× iperf3): AF_XDP in copy mode (veth has no zero-copy), the
    // receiver polling its ring as AF_XDP applications do, against the same iperf3 as above.
    {
      group: bypass,
      tool: 'cnperf xdp (burst 32, wait spin)',
      unit: 'kpps',
      values: [],
      run: () => cnperfStream('xdp', seconds, ['--burst', '32', '--size', '64', '--wait', 'spin']).rx_pps / 1000,
    },
    iperf3Udp(bypass),
  ];
}

/**
 * Seed 001's question on 2 CPUs: how much faster is inter-container traffic when it bypasses the kernel?
 * testpmd between two DPDK engines (its default layout: the switch polls the last CPU, the engines
 * share the first and yield) against the kernel's veth with one datagram per send; the ratio is bypass /
 * kernel, both as cnperf measures them in the same round. Skipped where DPDK is not installed.
 */
function bypassProbes(seconds: number): Probe[] {
  if (!existsSync(dpdkEnginePath())) return [];
  const group =
    'UDP 64 B, kernel bypass: testpmd over vhost-user vs kernel veth send (received kpps; ratio = bypass / kernel)';
  const stream = (datapath: string, extra: string[]) => {
    const doc = JSON.parse(
      cnperf([
        'quick',
        datapath,
        '--workload',
        'stream',
        '--size',
        '64',
        ...extra,
        '--duration',
        `${seconds}s`,
        '--warmup',
        '1s',
        '--json',
        '--db',
        db,
      ]),
    ) as { results: Array<{ stream: { rx_pps: number } }> };
    return doc.results[0]!.stream.rx_pps / 1000;
  };
  return [
    { group, tool: 'cnperf testpmd (DPDK, burst 32)', unit: 'kpps', values: [], run: () => stream('testpmd', []) },
    {
      group,
      tool: 'kernel veth send (cnperf, burst 1)',
      unit: 'kpps',
      values: [],
      run: () => stream('veth', ['--cpus', `${CLIENT_CPU},${SERVER_CPU}`]),
    },
  ];
}

function tcpProbes(seconds: number): Probe[] {
  const group = 'TCP bulk over veth (Gbit/s received)';
  return [
    {
      group,
      // like for like: cnperf's default write is iperf3's 128 KiB (until 2026-12-06 this row wrote 64 KiB)
      tool: 'cnperf tcp (128 KiB writes, the default)',
      unit: 'Gbit/s',
      values: [],
      run: () => cnperfStream('tcp', seconds).rx_gbps,
    },
    {
      group,
      tool: 'iperf3 (TCP)',
      unit: 'Gbit/s',
      values: [],
      run: () =>
        parseIperf3Tcp(
          peer(
            'veth',
            () => ['iperf3', '-s', '-1', '-p', '5202'],
            (ip) => ['iperf3', '-c', ip, '-p', '5202', '-t', String(seconds - 1), '-O', '1', '--json'],
          ),
        ).rxGbps,
    },
  ];
}

/** Busy jiffies (user, nice, system, irq, softirq) of all CPUs, and all jiffies, from /proc/stat. */
function cpuJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/**
 * Milliseconds until the machine is idle again after a teardown. Deleting a namespace returns at once
 * and the kernel dismantles it afterwards (in batches, in a workqueue): that deferred work is part of
 * the cost, so it is counted. Idle: a 100 ms window with under 5 % of the CPUs' time busy.
 */
function settleMs(): number {
  const t0 = performance.now();
  for (;;) {
    const start = performance.now();
    const a = cpuJiffies();
    execFileSync('sleep', ['0.1']);
    const b = cpuJiffies();
    if (b.total > a.total && (b.busy - a.busy) / (b.total - a.total) < 0.05) return start - t0;
    if (performance.now() - t0 > 30_000) return performance.now() - t0;
  }
}

/**
 * Wiring containers: cnperf's bridge datapath vs the CNI bridge plugin, `topo up` + `topo down` + the
 * kernel's deferred cleanup, in seconds. Both get their namespaces from cnperf-wire; the plugin then
 * wires each container with one ADD (and unwires it with one DEL), as a container runtime calls it.
 * The second group, 1000 containers, is cnperf's alone (the plugin would take minutes).
 */
function wiringProbes(pairs: number, manyPairs: number): Probe[] {
  const time = (pairsNow: number, args: string[]) => () => {
    const t0 = performance.now();
    const id = (JSON.parse(cnperf(['topo', 'up', ...args, '--pairs', String(pairsNow), '--json'])) as { id: string })
      .id;
    const built = performance.now();
    cnperf(['topo', 'down', id]);
    const down = performance.now();
    const settle = settleMs();
    progress(
      `  ${args[0]} ×` +
        `${pairsNow}: build ${((built - t0) / 1000).toFixed(2)} s, teardown ` +
        `${((down - built) / 1000).toFixed(2)} s, kernel cleanup ${(settle / 1000).toFixed(2)} s`,
    );
    return (down + settle - t0) / 1000;
  };
  const group =
    `Build + teardown + kernel cleanup of ` + `${pairs} container pairs (${2 * pairs} containers) on one bridge (s)`;
  const many =
    `Build + teardown + kernel cleanup of ` +
    `${manyPairs} container pairs ` +
    `(${2 * manyPairs} containers) on one bridge (s; no peer: the CNI plugin would take minutes)`;
  // the shipped network: a /16 of the benchmarking range, as a cluster node's pod CIDR
  const conf = path.join(PROJECT_ROOT, 'experiments', 'cni', 'bridge.conflist');
  return [
    { group, tool: 'cnperf bridge datapath', unit: 's', values: [], run: time(pairs, ['bridge']) },
    {
      group,
      tool: 'CNI bridge plugin (one ADD/DEL per container)',
      unit: 's',
      values: [],
      run: time(pairs, ['cni', '--cni-config', conf]),
    },
    {
      group: many,
      tool: 'cnperf bridge datapath',
      unit: 's',
      values: [],
      run: time(manyPairs, ['bridge']),
      noRatio: true,
    },
  ];
}

/** Memory the analysis holds beyond its input (heap and array buffers, MiB). */
const memoryNote: { histogram?: number; sort?: number } = {};
const memory = () => {
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

/** The ms fn took; what it held at its end (its result still alive) goes to memoryNote[key], MiB. */
function timedWithMemory(key: keyof typeof memoryNote, fn: () => unknown): number {
  const m0 = memory();
  const t0 = performance.now();
  const result = fn();
  const ms = performance.now() - t0;
  memoryNote[key] = Math.max(memoryNote[key] ?? 0, memory() - m0);
  void result;
  return ms;
}

/** 10 million RTT samples to percentiles and a CDF: cnperf's histogram vs sorting them all. */
function analysisProbes(n: number): Probe[] {
  const group = `Analysis of ${n / 1e6} M RTT samples to percentiles and a CDF (ms)`;
  const samples = (): Float64Array => {
    const a = new Float64Array(n);
    let x = 0x12345;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      a[i] = Math.round(20_000 + 5000 * -Math.log((x + 1) / 0x80000000)); // an exponential tail over 20 µs
    }
    return a;
  };
  const data = samples();
  return [
    {
      group,
      tool: 'cnperf histogram',
      unit: 'ms',
      values: [],
      run: () =>
        timedWithMemory('histogram', () => {
          const h = new Histogram();
          for (let i = 0; i < data.length; i++) h.record(data[i]!);
          summarize(h);
          return h.cdf();
        }),
    },
    {
      group,
      tool: 'sort everything (Float64Array)',
      unit: 'ms',
      values: [],
      run: () =>
        timedWithMemory('sort', () => {
          const s = Float64Array.from(data).sort();
          return [0.5, 0.9, 0.99, 0.999, 0.9999].map((q) => s[Math.ceil(q * s.length) - 1]);
        }),
    },
  ];
}

const failures: string[] = [];

/** One measurement; a failure is noted (and shown under the table), the others go on. */
function attempt(p: Probe): number {
  try {
    return p.run();
  } catch (e) {
    const msg = `${p.tool} (${p.group}): ${(e as Error).message.split('\n')[0]}`;
    progress(`FAILED ${msg}`);
    failures.push(msg);
    return NaN;
  }
}

/**
 * TCP request/response (netperf's TCP_RR) over veth: cnperf's rr (one connection: write, blocking read) beside
 * sockperf's TCP ping-pong, 64 B each way, back to back. netperf itself is not in Debian.
 */
function rrProbes(seconds: number): Probe[] {
  const group = 'TCP request/response over veth, 64 B each way, back to back, blocking (p50 µs)';
  const count = String(Math.round(seconds * 15_000));
  return [
    {
      group,
      tool: 'cnperf rr',
      unit: 'µs',
      values: [],
      run: () => {
        const doc = JSON.parse(
          cnperf([
            'quick',
            'veth',
            '--workload',
            'rr',
            '--count',
            count,
            '--size',
            '64',
            '--cpus',
            `${CLIENT_CPU},${SERVER_CPU}`,
            '--json',
            '--db',
            db,
          ]),
        ) as { results: Array<{ rtt_ns: { p50: number } }> };
        return doc.results[0]!.rtt_ns.p50 / 1000;
      },
    },
    {
      group,
      tool: 'sockperf ping-pong --tcp',
      unit: 'µs',
      values: [],
      run: () =>
        parseSockperfPingPong(
          peer(
            'veth',
            (ip) => ['sockperf', 'server', '--tcp', '-i', ip, '-p', '11111'],
            (ip) => [
              'sockperf',
              'ping-pong',
              '--tcp',
              '-i',
              ip,
              '-p',
              '11111',
              '-m',
              '64',
              '-t',
              String(seconds),
              '--mps=max',
              '--full-rtt',
            ],
          ),
        ).percentiles['50.000']! / 1000,
    },
  ];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root (it builds namespaces)');
  for (const tool of ['sockperf', 'iperf3', 'qperf'])
    if (spawnSync(tool, ['--help']).error) throw new Error(`${tool} is not installed: run \`bash scripts/setup.sh\``);
  const seconds = values.quick ? 2 : 3;
  const probes = [
    ...rttProbes('loopback', 'block', seconds),
    ...rttProbes('loopback', 'spin', seconds),
    ...rttProbes('veth', 'block', seconds),
    ...rttProbes('veth', 'spin', seconds),
    ...rateProbes(seconds + 2),
    ...tcpProbes(seconds + 2),
    ...bypassProbes(seconds + 2),
    ...rrProbes(seconds),
    ...analysisProbes(values.quick ? 1e6 : 10e6),
    ...wiringProbes(values.quick ? 16 : 128, values.quick ? 64 : 500),
  ].filter((p) => !values.only || new RegExp(values.only, 'i').test(p.group));
  if (!probes.length) throw new Error(`--only '${values.only}' matches no measurement`);
  const started = performance.now();
  try {
    for (let r = 0; r < rounds; r++) {
      // Alternate: every other round runs the tools of each group in reverse order.
      const groups = [...new Set(probes.map((p) => p.group))];
      for (const g of groups) {
        const members = probes.filter((p) => p.group === g);
        for (const p of r % 2 ? [...members].reverse() : members) {
          progress(`round ${r + 1}/${rounds}: ${g}: ${p.tool}`);
          p.values.push(attempt(p));
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  const env = collectEnvironment(null);
  const lines: string[] = [];
  lines.push(`# cnperf benchmarks, ${new Date().toISOString().slice(0, 10)}`, '');
  lines.push(
    `Machine: ${env.cpu_model ?? 'unknown CPU'}, ${env.cpu_count} CPUs, kernel ` +
      `${env.kernel} (${env.preemption ?? '?'}), ` +
      `${env.virtualization ?? 'bare metal'}. Client/sender pinned to CPU ` +
      `${CLIENT_CPU}, server/receiver to CPU ` +
      `${SERVER_CPU}. Medians of ` +
      `${rounds} rounds, the tools alternating. ` +
      `${minutes} min in all; peak RSS of this process ${rss.toFixed(0)} MiB.`,
    '',
  );
  lines.push(
    "| measurement | tool | median | rounds | cnperf / peer: median (rounds' range) |",
    '|---|---|---:|---|---:|',
  );
  for (const g of [...new Set(probes.map((p) => p.group))]) {
    const members = probes.filter((p) => p.group === g);
    const ours = members.find((p) => p.tool.startsWith('cnperf'));
    for (const p of members) {
      const m = median(p.values);
      const ratio = ours && !p.tool.startsWith('cnperf') && !p.noRatio ? ratioText(ours.values, p.values) : '';
      lines.push(
        `| ${g} | ${p.tool} | ` +
          `${m.toFixed(p.unit === 'Gbit/s' ? 2 : 1)} ` +
          `${p.unit} | ${p.values.map((v) => v.toFixed(1)).join(', ')} | ${ratio} |`,
      );
    }
  }
  // only when the analysis probes ran (--only may leave them out): never a NaN in place of a figure
  if (memoryNote.histogram !== undefined && memoryNote.sort !== undefined)
    lines.push(
      '',
      `Memory the analysis held beyond its input: histogram ` +
        `${memoryNote.histogram.toFixed(1)} MiB, sort ${memoryNote.sort.toFixed(1)} MiB (a copy of the samples).`,
    );
  for (const f of failures) lines.push('', `Failed: ${f}`);
  lines.push(
    '',
    'Ratios are cnperf / peer, taken round by round (the two ran back to back): the median ratio and the ' +
      'range over the rounds; "within noise" when that range covers 1.0. Below 1 for latencies and times means ' +
      'cnperf measures lower or works faster; above 1 for rates means it moves more.',
  );
  const md = lines.join('\n') + '\n';
  process.stdout.write(md);
  if (values.quick) {
    progress('--quick: a smoke run, not written to bench/results');
    return;
  }
  const dir = path.join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // --only: a partial run, beside the day's full one rather than over it
  const slug = values.only
    ? `-${values.only
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')}`
    : '';
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}${slug}.md`);
  writeFileSync(file, md);
  progress(`wrote ${file}`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
