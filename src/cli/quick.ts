/**
 * `cnperf quick DATAPATH... [options]`: UDP ping-pong RTT through each datapath, built fresh, one
 * after the other, stored, and compared in one table (or one JSON document with --json).
 */
import { datapathNames, getDatapath } from '../datapaths/registry.js';
import { collectEnvironment } from '../env/environment.js';
import { acquireMeasureLock } from '../host/lock.js';
import { formatCommand, stepsFor } from '../host/steps.js';
import { rttClientArgv, rttServerArgv } from '../engine/protocol.js';
import { probeEngineVersion } from '../engine/supervisor.js';
import { defaultDbPath, stateDir } from '../paths.js';
import { rttJson, rttTable } from '../report/rtt.js';
import { measureRtt, planDatapath, type Measured } from '../runner/measure.js';
import { installStopHandlers, signalExitCode } from '../runner/signals.js';
import { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { newRunId } from '../util/ids.js';
import { parseDuration, parseIntIn } from '../util/units.js';
import { RTT_DEFAULTS, type RttParams } from '../workloads/rtt.js';
import { flag, parseCommandArgs, str, type OptionSpec } from './args.js';
import { parseCpus, progress, requireRoot } from './common.js';

export const QUICK_USAGE = `cnperf quick DATAPATH... [--count N] [--interval 1ms|0] [--warmup N] [--size BYTES]
       [--wait block|spin] [--pace sleep|spin] [--cpus CLIENT,SERVER] [--rt-prio 1..99] [--timeout 200ms] [--raw]
       [--json] [--db FILE] [--dry-run]
datapaths: ${datapathNames().join(', ')}`;

const OPTIONS: OptionSpec = {
  count: { type: 'string' },
  interval: { type: 'string' },
  warmup: { type: 'string' },
  size: { type: 'string' },
  wait: { type: 'string' },
  pace: { type: 'string' },
  cpus: { type: 'string' },
  'rt-prio': { type: 'string' },
  timeout: { type: 'string' },
  'max-consecutive-lost': { type: 'string' },
  raw: { type: 'boolean' },
  json: { type: 'boolean' },
  db: { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface QuickArgs {
  datapaths: string[];
  params: RttParams;
  json: boolean;
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
  const params: RttParams = { ...RTT_DEFAULTS };
  const count = str(p, 'count');
  if (count !== undefined) params.count = parseIntIn(count, '--count', 1, 100_000_000);
  const warmup = str(p, 'warmup');
  if (warmup !== undefined) params.warmup = parseIntIn(warmup, '--warmup', 0, 1_000_000);
  const interval = str(p, 'interval');
  if (interval !== undefined) {
    params.intervalNs = parseDuration(interval, '--interval');
    if (params.intervalNs > 60e9) throw new UserError(`--interval ${interval}: at most 60s`);
  }
  const size = str(p, 'size');
  if (size !== undefined) params.size = parseIntIn(size, '--size', 16, 65507);
  const wait = str(p, 'wait');
  if (wait !== undefined) {
    if (wait !== 'block' && wait !== 'spin') throw new UserError(`--wait '${wait}': expected block or spin`);
    params.wait = wait;
  }
  const pace = str(p, 'pace');
  if (pace !== undefined) {
    if (pace !== 'sleep' && pace !== 'spin') throw new UserError(`--pace '${pace}': expected sleep (clock_nanosleep) or spin (busy-wait on the clock)`);
    params.pace = pace;
  }
  const cpus = str(p, 'cpus');
  if (cpus !== undefined) params.cpus = parseCpus(cpus);
  const prio = str(p, 'rt-prio');
  if (prio !== undefined) params.rtPrio = parseIntIn(prio, '--rt-prio', 1, 99);
  const timeout = str(p, 'timeout');
  if (timeout !== undefined) {
    params.timeoutNs = parseDuration(timeout, '--timeout');
    if (params.timeoutNs < 1000 || params.timeoutNs > 60e9) throw new UserError(`--timeout ${timeout}: allowed 1us..60s`);
  }
  const mcl = str(p, 'max-consecutive-lost');
  if (mcl !== undefined) params.maxConsecutiveLost = parseIntIn(mcl, '--max-consecutive-lost', 0, 100_000_000);
  params.raw = flag(p, 'raw');
  return { datapaths: p.positionals, params, json: flag(p, 'json'), db: str(p, 'db') ?? defaultDbPath(), dryRun: flag(p, 'dry-run') };
}

export async function quickCommand(argv: string[]): Promise<number> {
  const args = parseQuickArgs(argv);
  if (args === 'help') {
    process.stdout.write(`usage: ${QUICK_USAGE}\n`);
    return 0;
  }
  if (args.dryRun) {
    for (const d of args.datapaths) printDryRun(d, args.params);
    return 0;
  }
  requireRoot('quick');
  const stop = installStopHandlers();
  const engineVersion = await probeEngineVersion();
  const batchId = newRunId();
  const release = acquireMeasureLock(stateDir(), batchId);
  const results: Measured[] = [];
  let store: Store | null = null;
  try {
    store = Store.open(args.db);
    const env = collectEnvironment(engineVersion);
    for (const d of args.datapaths) {
      if (stop.requested) break;
      const m = await measureRtt(d, args.params, { batchId, env, stop, progress });
      store.saveRun(m.record);
      results.push(m);
      if (m.record.problem) progress(`${d}: ${m.record.status}: ${m.record.problem}`);
    }
  } finally {
    release();
    store?.close();
  }
  if (args.json) {
    process.stdout.write(JSON.stringify({ results: results.map((m) => rttJson(m.record, m.summary)) }) + '\n');
  } else if (results.length) {
    const p = args.params;
    process.stdout.write(
      `${rttTable(results)}\n${p.count} round trips each, ${p.intervalNs ? `every ${p.intervalNs / 1e6} ms` : 'back to back'}, ` +
        `${p.size} B UDP payload, wait ${p.wait}, pace ${p.pace}, first ${p.warmup} discarded; stored in ${args.db}\n`,
    );
  }
  if (stop.requested) return signalExitCode(stop.signal);
  return results.every((m) => m.record.status === 'ok') ? 0 : 1;
}

function printDryRun(datapath: string, p: RttParams): void {
  const topo = planDatapath(datapath);
  process.stdout.write(`# ${datapath}: ${topo.summary}\n`);
  for (const s of stepsFor(topo)) process.stdout.write(formatCommand(s.argv) + '\n');
  const { client, server } = topo.endpoints;
  const common = { wait: p.wait, rtPrio: p.rtPrio };
  process.stdout.write(formatCommand(['cnperf-engine', ...rttServerArgv({ ...common, bind: server.ip, netns: server.netns, cpu: p.cpus?.[1] })]) + '\n');
  process.stdout.write(
    formatCommand([
      'cnperf-engine',
      ...rttClientArgv({ ...common, server: server.ip, port: 0, netns: client.netns, cpu: p.cpus?.[0], count: p.count, warmup: p.warmup, intervalNs: p.intervalNs, timeoutNs: p.timeoutNs, size: p.size, pace: p.pace, maxConsecutiveLost: p.maxConsecutiveLost }),
    ]) + '   # port: the one the server reports\n',
  );
  process.stdout.write(`# teardown: ip netns del ${topo.namespaces.map((n) => n.name).join(' / ')}\n`);
}
