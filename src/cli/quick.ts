/**
 * `cnperf quick DATAPATH... [options]`: one workload through each datapath, built fresh, one case
 * after the other, stored, and compared in one table (or one JSON document with --json).
 *   --workload rtt     UDP ping-pong round-trip time (default)
 *   --workload stream  packet rate / bulk throughput, with one or more sending APIs
 */
import { datapathNames, getDatapath } from '../datapaths/registry.js';
import { collectEnvironment } from '../env/environment.js';
import { acquireMeasureLock } from '../host/lock.js';
import { formatCommand, formatStep, stepsFor } from '../host/steps.js';
import { StreamApi, rttClientArgv, rttServerArgv, streamRxArgv, streamTxArgv } from '../engine/protocol.js';
import { probeEngineVersion } from '../engine/supervisor.js';
import { defaultDbPath, stateDir } from '../paths.js';
import { resultJson, resultsTables } from '../report/results.js';
import { measure, planDatapath, type Job, type Measured } from '../runner/measure.js';
import { installStopHandlers, signalExitCode } from '../runner/signals.js';
import { Store } from '../store/db.js';
import { floorLine } from '../runner/calibrate.js';
import { hostname } from 'node:os';
import { UserError } from '../util/errors.js';
import { newRunId } from '../util/ids.js';
import { parseBytes, parseDuration, parseIntIn, parsePercent, parseRate, parseRateList } from '../util/units.js';
import { RTT_DEFAULTS, type RttParams } from '../workloads/rtt.js';
import { RAW_MAX_PAYLOAD, STREAM_DEFAULTS, type StreamParams } from '../workloads/stream.js';
import { datapathOptions, DATAPATH_OPTION_SPEC, DATAPATH_OPTION_NAMES } from './datapath-options.js';
import type { DatapathOptions } from '../runner/measure.js';
import type { LoadParams } from '../workloads/load.js';
import { MAX_PAIRS } from '../datapaths/types.js';
import { flag, parseCommandArgs, str, type OptionSpec, type Parsed } from './args.js';
import { parseCpus, progress, requireRoot } from './common.js';

export const QUICK_USAGE = `cnperf quick DATAPATH... [--workload rtt|stream|sweep|load] [datapath] [common] [workload options]
  datapath: [--pairs N (container pairs; rtt measures each in turn)] [--placement same-node|cross-node]
           [--mode M (macvlan, ipvlan)] [--variant host|bridge (vxlan)] [--vni N] [--vxlan-port N] [--mtu N] [--offload gro=off,tso=off,... (ethtool -K)]
           [--netfilter none|iptables|nftables] [--rules N] [--conntrack on|off] [--br-netfilter on|off]
           [--rps MASK] [--xps MASK] [--ovs-datapath netdev|system] [--fabric wire|switch]
  common:  [--size BYTES] [--wait block|spin] [--pace sleep|spin] [--cpus CLIENT,SERVER] [--rt-prio 1..99]
           [--json] [--db FILE] [--dry-run]
           [--trace (tracepoints: stack traversals per packet, softirq durations; CPU, softirq, IRQ and drop counters are always on)]
  rtt:     [--count N] [--interval 1ms|0] [--warmup N] [--timeout 200ms] [--max-consecutive-lost N] [--raw]
           [--breakdown (split every RTT into send, forward path, server wake-up, turnaround, return path, wake-up)]
  stream:  [--api send,sendmmsg,raw,raw-mmsg,tcp] [--burst N] [--rate PPS|0 (per flow)] [--duration 10s]
           [--warmup 2s] [--flows N (pairs at once, each in its own namespaces)] [--qdisc-bypass]
           [--rcvbuf 4M (the receiver's socket buffer; default: the kernel's)]
  sweep:   the stream options, with --rate LIST (50k,100k,200k) or RANGE (50k..400k:8), [--loss-threshold 0.1%]
  load:    an RTT probe [--count N] [--interval 1ms] [--warmup N] [--timeout T] under a stream load
           [--api A] [--burst N] [--rate PPS] [--size BYTES (of the load)] [--settle 1s] [--worst 5000]
datapaths: ${datapathNames().join(', ')}`;

const COMMON = ['workload', 'size', 'wait', 'pace', 'cpus', 'rt-prio', 'json', 'db', 'dry-run', 'help', 'warmup', 'trace', ...DATAPATH_OPTION_NAMES];
const RTT_ONLY = ['count', 'interval', 'timeout', 'max-consecutive-lost', 'raw', 'breakdown'];
const STREAM_ONLY = ['api', 'burst', 'rate', 'duration', 'qdisc-bypass', 'flows', 'rcvbuf'];
const SWEEP_ONLY = ['loss-threshold'];
const LOAD_ONLY = ['count', 'interval', 'timeout', 'max-consecutive-lost', 'api', 'burst', 'rate', 'qdisc-bypass', 'settle', 'worst', 'rcvbuf'];
const WORKLOAD_OPTIONS: Record<string, string[]> = { rtt: RTT_ONLY, stream: STREAM_ONLY, sweep: [...STREAM_ONLY.filter((k) => k !== 'flows'), ...SWEEP_ONLY], load: LOAD_ONLY };

const OPTIONS: OptionSpec = {
  ...DATAPATH_OPTION_SPEC,
  workload: { type: 'string' },
  size: { type: 'string' },
  wait: { type: 'string' },
  pace: { type: 'string' },
  cpus: { type: 'string' },
  'rt-prio': { type: 'string' },
  json: { type: 'boolean' },
  trace: { type: 'boolean' },
  breakdown: { type: 'boolean' },
  db: { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  warmup: { type: 'string' },
  count: { type: 'string' },
  interval: { type: 'string' },
  timeout: { type: 'string' },
  'max-consecutive-lost': { type: 'string' },
  raw: { type: 'boolean' },
  api: { type: 'string' },
  burst: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  'qdisc-bypass': { type: 'boolean' },
  'loss-threshold': { type: 'string' },
  flows: { type: 'string' },
  rcvbuf: { type: 'string' },
  settle: { type: 'string' },
  worst: { type: 'string' },
};

export interface QuickArgs {
  datapaths: string[];
  datapathOptions: DatapathOptions;
  jobs: Job[];
  json: boolean;
  trace: boolean;
  db: string;
  dryRun: boolean;
}

/** Pure: argv → what to do. All validation happens here, before anything touches the host. */
export function parseQuickArgs(argv: string[]): QuickArgs | 'help' {
  const p = parseCommandArgs('quick', argv, OPTIONS, QUICK_USAGE);
  if (flag(p, 'help')) return 'help';
  if (p.positionals.length === 0) throw new UserError('quick: name at least one datapath', `usage: ${QUICK_USAGE}`);
  for (const d of p.positionals) getDatapath(d); // unknown names fail here, with a suggestion
  const dup = p.positionals.find((d, i) => p.positionals.indexOf(d) !== i);
  if (dup) throw new UserError(`quick: datapath '${dup}' named twice`);
  const workload = str(p, 'workload') ?? 'rtt';
  const own = WORKLOAD_OPTIONS[workload];
  if (!own) throw new UserError(`--workload '${workload}': expected ${Object.keys(WORKLOAD_OPTIONS).join(', ')}`);
  const foreign = Object.keys(OPTIONS).find((k) => p.values[k] !== undefined && !COMMON.includes(k) && !own.includes(k));
  if (foreign) throw new UserError(`--${foreign} does not apply to --workload ${workload}`, `options of --workload ${workload}: ${[...COMMON, ...own].map((k) => `--${k}`).join(' ')}`);
  let jobs: Job[];
  if (workload === 'rtt') jobs = [{ workload: 'rtt', params: rttParams(p) }];
  else if (workload === 'stream') jobs = streamParams(p, false).map((params) => ({ workload: 'stream' as const, params }));
  else if (workload === 'load') jobs = loadParams(p).map((params) => ({ workload: 'load' as const, params }));
  else {
    const rateText = str(p, 'rate');
    if (rateText === undefined) throw new UserError('--workload sweep needs --rate: a list (50k,100k,200k) or a range (50k..400k:8)');
    const rates = parseRateList(rateText, '--rate');
    const threshold = str(p, 'loss-threshold');
    const lossThreshold = threshold === undefined ? 0.001 : parsePercent(threshold, '--loss-threshold');
    jobs = streamParams(p, true).map((params) => ({ workload: 'sweep' as const, params: { ...params, rates, lossThreshold } }));
  }
  const dpOptions = datapathOptions(p, p.positionals);
  for (const d of p.positionals) {
    // Plans are pure: planning every case now finds every refusal before anything is built.
    const flows = Math.max(...jobs.map((j) => (j.workload === 'stream' ? j.params.flows : 1)));
    const topo = planDatapath(d, 'aaaaaa', flows, dpOptions);
    const raw = jobs.find((j) => j.workload !== 'rtt' && (j.workload === 'load' ? j.params.stream.api : j.params.api).startsWith('raw'));
    if (topo.rawUnsupported && raw) throw new UserError(`datapath '${d}': ${topo.rawUnsupported}`);
  }
  return { datapaths: p.positionals, datapathOptions: dpOptions, jobs, json: flag(p, 'json'), trace: flag(p, 'trace'), db: str(p, 'db') ?? defaultDbPath(), dryRun: flag(p, 'dry-run') };
}

function commonParams(p: Parsed, defaults: { size: number; wait: 'block' | 'spin'; pace: 'sleep' | 'spin' }, minSize: number) {
  const out: { size: number; wait: 'block' | 'spin'; pace: 'sleep' | 'spin'; cpus?: [number, number]; rtPrio?: number } = { ...defaults };
  const size = str(p, 'size');
  if (size !== undefined) out.size = parseIntIn(size, '--size', minSize, 65507);
  const wait = str(p, 'wait');
  if (wait !== undefined) {
    if (wait !== 'block' && wait !== 'spin') throw new UserError(`--wait '${wait}': expected block or spin`);
    out.wait = wait;
  }
  const pace = str(p, 'pace');
  if (pace !== undefined) {
    if (pace !== 'sleep' && pace !== 'spin') throw new UserError(`--pace '${pace}': expected sleep (clock_nanosleep) or spin (busy-wait on the clock)`);
    out.pace = pace;
  }
  const cpus = str(p, 'cpus');
  if (cpus !== undefined) out.cpus = parseCpus(cpus);
  const prio = str(p, 'rt-prio');
  if (prio !== undefined) out.rtPrio = parseIntIn(prio, '--rt-prio', 1, 99);
  return out;
}

function rttParams(p: Parsed): RttParams {
  const params: RttParams = { ...RTT_DEFAULTS, ...commonParams(p, RTT_DEFAULTS, 16) };
  const count = str(p, 'count');
  if (count !== undefined) params.count = parseIntIn(count, '--count', 1, 100_000_000);
  const warmup = str(p, 'warmup');
  if (warmup !== undefined) params.warmup = parseIntIn(warmup, '--warmup', 0, 1_000_000);
  const interval = str(p, 'interval');
  if (interval !== undefined) {
    params.intervalNs = parseDuration(interval, '--interval');
    if (params.intervalNs > 60e9) throw new UserError(`--interval ${interval}: at most 60s`);
  }
  const timeout = str(p, 'timeout');
  if (timeout !== undefined) {
    params.timeoutNs = parseDuration(timeout, '--timeout');
    if (params.timeoutNs < 1000 || params.timeoutNs > 60e9) throw new UserError(`--timeout ${timeout}: allowed 1us..60s`);
  }
  const mcl = str(p, 'max-consecutive-lost');
  if (mcl !== undefined) params.maxConsecutiveLost = parseIntIn(mcl, '--max-consecutive-lost', 0, 100_000_000);
  params.raw = flag(p, 'raw');
  params.breakdown = flag(p, 'breakdown');
  return params;
}

/** What every stream-like workload shares: payload, burst, offered rate, qdisc bypass, pinning. */
function streamBase(p: Parsed, sweep: boolean): StreamParams {
  const base: StreamParams = { ...STREAM_DEFAULTS, ...commonParams(p, STREAM_DEFAULTS, 16) };
  const burst = str(p, 'burst');
  if (burst !== undefined) base.burst = parseIntIn(burst, '--burst', 1, 1024);
  const rate = str(p, 'rate');
  if (rate !== undefined && !sweep) base.ratePps = parseRate(rate, '--rate');
  base.qdiscBypass = flag(p, 'qdisc-bypass');
  const rcvbuf = str(p, 'rcvbuf');
  if (rcvbuf !== undefined) base.rcvbuf = parseBytes(rcvbuf, '--rcvbuf', 4096, 2 ** 30);
  return base;
}

/** One StreamParams per API named in --api (a comma-separated list: seed 001's Table 1 in one run). */
function perApi(p: Parsed, base: StreamParams): StreamParams[] {
  const apis = (str(p, 'api') ?? base.api).split(',');
  const allowed = StreamApi.options;
  return apis.map((a, i) => {
    if (!allowed.includes(a as StreamApi)) throw new UserError(`--api '${a}': expected one or more of ${allowed.join(', ')} (comma-separated)`);
    if (apis.indexOf(a) !== i) throw new UserError(`--api '${a}' named twice`);
    const api = a as StreamApi;
    const raw = api === 'raw' || api === 'raw-mmsg';
    if (raw && base.size > RAW_MAX_PAYLOAD) throw new UserError(`--size ${base.size}: a raw frame carries at most ${RAW_MAX_PAYLOAD} bytes of UDP payload (MTU 1500)`);
    if (base.qdiscBypass && !apis.some((x) => x.startsWith('raw'))) throw new UserError('--qdisc-bypass applies to the raw APIs only (raw, raw-mmsg)');
    // TCP is a byte stream: one write of --size bytes at a time, no bursts.
    return { ...base, api, burst: api === 'tcp' ? 1 : base.burst, qdiscBypass: raw && base.qdiscBypass };
  });
}

function streamParams(p: Parsed, sweep: boolean): StreamParams[] {
  const base = streamBase(p, sweep);
  const flows = str(p, 'flows');
  if (flows !== undefined) base.flows = parseIntIn(flows, '--flows', 1, MAX_PAIRS);
  const duration = str(p, 'duration');
  if (duration !== undefined) {
    base.durationNs = parseDuration(duration, '--duration');
    if (base.durationNs < 1e9 || base.durationNs > 86400e9) throw new UserError(`--duration ${duration}: allowed 1s..24h`);
  }
  const warmup = str(p, 'warmup');
  if (warmup !== undefined) base.warmupNs = parseDuration(warmup, '--warmup (a duration for stream workloads)');
  if (base.warmupNs + 1e9 > base.durationNs) {
    throw new UserError(`--warmup ${base.warmupNs / 1e9}s leaves no steady-state second in --duration ${base.durationNs / 1e9}s`, 'make --duration at least --warmup + 1s');
  }
  return perApi(p, base);
}

/** An RTT probe (64 B, periodic, counted from planned send times) under one load per API. */
function loadParams(p: Parsed): LoadParams[] {
  const probe: RttParams = { ...rttParams(p), size: RTT_DEFAULTS.size, raw: true, fromPlanned: true, breakdown: false }; // --size is the load's
  if (probe.intervalNs === 0) throw new UserError('--workload load needs a periodic probe: give --interval > 0 (e.g. 1ms)');
  const settleText = str(p, 'settle');
  const settleNs = settleText === undefined ? 1e9 : parseDuration(settleText, '--settle');
  const worstText = str(p, 'worst');
  const keepWorst = worstText === undefined ? 5000 : parseIntIn(worstText, '--worst', 1, 1_000_000);
  // The load's steady state starts when the probe does.
  const base = { ...streamBase(p, false), warmupNs: settleNs };
  return perApi(p, base).map((stream) => ({ stream, probe, settleNs, keepWorst }));
}

export async function quickCommand(argv: string[]): Promise<number> {
  const args = parseQuickArgs(argv);
  if (args === 'help') {
    process.stdout.write(`usage: ${QUICK_USAGE}\n`);
    return 0;
  }
  if (args.dryRun) {
    for (const d of args.datapaths) printDryRun(d, args.jobs, args.datapathOptions);
    return 0;
  }
  requireRoot('quick');
  const stop = installStopHandlers();
  const engineVersion = await probeEngineVersion();
  const batchId = newRunId();
  const release = acquireMeasureLock(stateDir(), batchId);
  const results: Measured[] = [];
  let store: Store | null = null;
  let floor: ReturnType<Store['latestCalibration']> = null;
  try {
    store = Store.open(args.db);
    const env = collectEnvironment(engineVersion);
    for (const d of args.datapaths) {
      for (const job of args.jobs) {
        if (stop.requested) break;
        const m = await measure(d, job, { batchId, env, stop, progress, trace: args.trace, datapathOptions: args.datapathOptions });
        store.saveRun(m.record);
        results.push(m);
        if (m.record.problem) progress(`${d}: ${m.record.status}: ${m.record.problem}`);
      }
    }
    floor = store.latestCalibration(hostname());
  } finally {
    release();
    store?.close();
  }
  const records = results.map((m) => m.record);
  if (args.json) {
    process.stdout.write(JSON.stringify({ results: records.map(resultJson), floor: floor?.result ?? null }) + '\n');
  } else if (records.length) {
    process.stdout.write(`${resultsTables(records)}\n${describeJobs(args.jobs)}; stored in ${args.db}\n${floorLine(floor)}\n`);
  }
  if (stop.requested) return signalExitCode(stop.signal);
  return records.every((r) => r.status === 'ok') ? 0 : 1;
}

function describeJobs(jobs: Job[]): string {
  const j = jobs[0]!;
  if (j.workload === 'rtt') {
    const p = j.params;
    return `${p.count} round trip${p.count === 1 ? '' : 's'} each, ${p.intervalNs ? `every ${p.intervalNs / 1e6} ms` : 'back to back'}, ${p.size} B UDP payload, wait ${p.wait}, pace ${p.pace}, first ${p.warmup} discarded`;
  }
  if (j.workload === 'load') {
    const l = j.params;
    return `RTT from planned send times, ${l.probe.count} probes every ${l.probe.intervalNs / 1e6} ms after ${l.settleNs / 1e9} s of load; the ${l.keepWorst} worst kept`;
  }
  const p = j.params;
  if (j.workload === 'sweep') return `${p.durationNs / 1e9} s per offered rate, first ${p.warmupNs / 1e9} s discarded, max sustained = highest rate with loss under ${j.params.lossThreshold * 100} %`;
  return `${p.durationNs / 1e9} s each, first ${p.warmupNs / 1e9} s discarded, ${p.ratePps ? `offered ${p.ratePps} pps` : 'as fast as possible'}`;
}

function printDryRun(datapath: string, jobs: Job[], options: DatapathOptions): void {
  const topo = planDatapath(datapath, undefined, 1, options);
  const out = (argv: string[], note = '') => process.stdout.write(formatCommand(argv) + note + '\n');
  process.stdout.write(`# ${datapath}: ${topo.summary}\n`);
  for (const s of stepsFor(topo)) process.stdout.write(formatStep(s) + '\n');
  const { client, server } = topo.endpoints;
  const expanded = jobs.flatMap((j): Job[] => (j.workload === 'load' ? [{ workload: 'stream', params: { ...j.params.stream, durationNs: 0 } }, { workload: 'rtt', params: j.params.probe }] : [j]));
  for (const job of expanded) {
    if (job.workload === 'load') continue;
    const p = job.params;
    const common = { wait: p.wait, rtPrio: p.rtPrio };
    if (job.workload === 'rtt') {
      const r = job.params;
      out(['cnperf-engine', ...rttServerArgv({ ...common, bind: server.ip, netns: server.netns, cpu: p.cpus?.[1] })]);
      out(['cnperf-engine', ...rttClientArgv({ ...common, server: server.ip, port: 0, netns: client.netns, cpu: p.cpus?.[0], count: r.count, warmup: r.warmup, intervalNs: r.intervalNs, timeoutNs: r.timeoutNs, size: r.size, pace: r.pace, maxConsecutiveLost: r.maxConsecutiveLost, fromPlanned: r.fromPlanned })], '   # port: the one the server reports');
    } else {
      const s = { ...job.params, ratePps: job.workload === 'sweep' ? job.params.rates[0]! : job.params.ratePps };
      out(['cnperf-engine', ...streamRxArgv({ ...common, bind: server.ip, netns: server.netns, cpu: p.cpus?.[1], api: s.api, burst: s.burst, size: s.size, maxDurationNs: s.durationNs + 60e9 })]);
      const raw = s.api.startsWith('raw') ? { dev: client.dev, dstMac: `MAC-OF-${server.dev}`, src: client.ip, qdiscBypass: s.qdiscBypass } : undefined;
      out(['cnperf-engine', ...streamTxArgv({ ...common, server: server.ip, port: 0, netns: client.netns, cpu: p.cpus?.[0], api: s.api, size: s.size, burst: s.burst, ratePps: s.ratePps, durationNs: s.durationNs, pace: s.pace, raw })], '   # port: the one the receiver reports');
    }
  }
  process.stdout.write(`# teardown: ip netns del ${topo.namespaces.map((n) => n.name).join(' / ')}\n`);
}
