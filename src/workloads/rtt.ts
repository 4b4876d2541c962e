/**
 * UDP ping-pong RTT (seed 000): a server echoes, a client sends periodic (or back-to-back) packets
 * and keeps one RTT per reply. The first `warmup` round trips (ARP resolution, cold caches) are
 * discarded. Returns the engine's result; statistics are made by the caller.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { EngineError, EngineProcess, describeExit } from '../engine/supervisor.js';
import { parseRawSamples, parseStamps, rttClientArgv, rttServerArgv, type PaceMode, type RttClientResult, type RttServerResult, type WaitMode } from '../engine/protocol.js';
import { breakdownRoundTrips, type BreakdownSummary } from '../stats/breakdown.js';
import type { Endpoint } from '../topology/model.js';

export interface RttParams {
  count: number;
  warmup: number;
  intervalNs: number;
  size: number;
  wait: WaitMode;
  /** how the client waits for its next send time: sleep (the CPU may idle) or spin on the clock */
  pace: PaceMode;
  /** [client, server] CPUs; undefined: not pinned */
  cpus?: [number, number];
  rtPrio?: number;
  timeoutNs: number;
  /** give up after this many lost packets in a row (0: never) */
  maxConsecutiveLost: number;
  /** keep every RTT, not only the histogram */
  raw: boolean;
  /** count each RTT from its planned send time (latency under load: no coordinated omission) */
  fromPlanned?: boolean;
  /** split every RTT into its parts from kernel and user timestamps on both ends */
  breakdown?: boolean;
}

export const RTT_DEFAULTS: RttParams = {
  count: 10000,
  warmup: 1,
  intervalNs: 1_000_000,
  size: 64,
  wait: 'block',
  pace: 'sleep',
  timeoutNs: 200_000_000,
  maxConsecutiveLost: 1000,
  raw: false,
};

export interface RttOutcome {
  client: RttClientResult;
  server: RttServerResult | null;
  /** every RTT in sequence order (-1 = lost), when params.raw */
  raw: BigInt64Array | null;
  /** the round-trip breakdown, when params.breakdown */
  breakdown: BreakdownSummary | null;
  /** what went wrong while still producing a result (server died, deadline), else null */
  problem: string | null;
}

/**
 * How long the client may take: its schedule, plus a second per thousand packets for the round trips
 * themselves, plus room for losses up to the give-up threshold. A run past it is stopped and kept.
 */
export function clientDeadlineMs(p: RttParams): number {
  const total = p.count + p.warmup;
  const scheduleMs = (total * p.intervalNs) / 1e6;
  const lossMs = (Math.min(p.maxConsecutiveLost || total, total) * p.timeoutNs) / 1e6;
  return Math.ceil(scheduleMs + total /* 1 ms of slack per round trip */ + lossMs + 10_000);
}

export interface RttHooks {
  /** called with each engine as it starts, so the caller can stop it on a signal */
  onEngine?: (p: EngineProcess) => void;
  /** a directory for the raw sample file */
  workDir: string;
}

export async function runRtt(client: Endpoint, server: Endpoint, p: RttParams, hooks: RttHooks): Promise<RttOutcome> {
  const file = (what: string) => path.join(hooks.workDir, `${what}-${process.pid}-${Date.now()}.bin`);
  // The breakdown joins the stamps to the RTTs, so it needs the raw samples too.
  const rawOut = p.raw || p.breakdown ? file('raw') : undefined;
  const stamps = p.breakdown ? { client: file('stamps-client'), server: file('stamps-server') } : null;
  const srv = new EngineProcess(
    'rtt-server',
    rttServerArgv({
      bind: server.ip,
      netns: server.netns,
      cpu: p.cpus?.[1],
      rtPrio: p.rtPrio,
      wait: p.wait,
      ...(stamps ? { stamps: { out: stamps.server, rows: p.count + p.warmup } } : {}),
    }),
    clientDeadlineMs(p) + 10_000,
  );
  hooks.onEngine?.(srv);
  let cli: EngineProcess | null = null;
  try {
    const ready = await srv.waitFor('ready');
    cli = new EngineProcess(
      'rtt-client',
      rttClientArgv({
        server: server.ip,
        port: ready.port,
        count: p.count,
        warmup: p.warmup,
        intervalNs: p.intervalNs,
        timeoutNs: p.timeoutNs,
        size: p.size,
        pace: p.pace,
        maxConsecutiveLost: p.maxConsecutiveLost,
        fromPlanned: p.fromPlanned,
        netns: client.netns,
        cpu: p.cpus?.[0],
        rtPrio: p.rtPrio,
        wait: p.wait,
        rawOut,
        stampsOut: stamps?.client,
      }),
      clientDeadlineMs(p),
    );
    hooks.onEngine?.(cli);

    // A server that dies mid-run must not leave the client waiting out every timeout: stop the
    // client, which then reports the round trips it has (the rest counted as lost or unsent).
    let serverDied: string | null = null;
    const clientRef = cli;
    void srv.exited.then((x) => {
      if (clientRef.running) {
        serverDied = `rtt-server exited during the run (${describeExit(x)})`;
        void clientRef.stop('request');
      }
    });

    const cliExit = await cli.exited;
    const failure = cli.failure();
    const result = cliExit.events.find((e): e is RttClientResult => e.event === 'result' && e.role === 'rtt-client');
    if (!result) throw failure ?? new EngineError('rtt-client', `exited (${describeExit(cliExit)}) without a result`);

    const srvExit = await srv.stop('request');
    const srvResult = srvExit.events.find((e): e is RttServerResult => e.event === 'result' && e.role === 'rtt-server') ?? null;

    let raw: BigInt64Array | null = null;
    if (rawOut) raw = parseRawSamples(readFileSync(rawOut));
    let breakdown: BreakdownSummary | null = null;
    if (stamps && raw && srvResult) {
      breakdown = breakdownRoundTrips(parseStamps(readFileSync(stamps.client)), parseStamps(readFileSync(stamps.server)), raw, p.warmup);
    }
    const problems = [
      serverDied,
      cliExit.stoppedBy === 'deadline' ? `rtt-client stopped at its deadline (${Math.round(clientDeadlineMs(p) / 1000)} s)` : null,
      result.aborted === 'peer-unresponsive' ? `gave up after ${p.maxConsecutiveLost} lost packets in a row` : null,
      result.aborted === 'signal' && !serverDied && cliExit.stoppedBy !== 'deadline' ? 'interrupted' : null,
      failure ? failure.message : null,
    ].filter((x): x is string => x !== null);
    return { client: result, server: srvResult, raw: p.raw ? raw : null, breakdown, problem: problems.length ? problems.join('; ') : null };
  } finally {
    await Promise.all([srv.stop('request'), cli?.stop('request')]);
    for (const f of [rawOut, stamps?.client, stamps?.server]) if (f) rmSync(f, { force: true });
  }
}
