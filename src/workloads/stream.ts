/**
 * Throughput (seeds 001, 002, 004): a receiver counts, a sender sends UDP datagrams (send or
 * sendmmsg), raw Ethernet frames (AF_PACKET, one per call or sendmmsg) or a TCP byte stream, as
 * fast as possible or paced, for a duration. Both ends report per-second counters; the steady-state
 * means are made by the caller (src/stats/series.ts).
 */
import { runCommand } from '../host/command.js';
import { EngineError, EngineProcess, describeExit } from '../engine/supervisor.js';
import {
  streamRxArgv,
  streamTxArgv,
  type IntervalEvent,
  type PaceMode,
  type StreamApi,
  type StreamRxResult,
  type StreamTxResult,
  type WaitMode,
} from '../engine/protocol.js';
import type { Endpoint } from '../topology/model.js';
import { within } from '../util/timeout.js';

export interface StreamParams {
  api: StreamApi;
  /** UDP payload bytes (TCP: bytes per write) */
  size: number;
  /** datagrams per send call (sendmmsg, raw-mmsg) or per paced burst */
  burst: number;
  /** offered packets per second; 0 = as fast as possible */
  ratePps: number;
  durationNs: number;
  /** the first part of the run, excluded from the steady-state means */
  warmupNs: number;
  pace: PaceMode;
  wait: WaitMode;
  cpus?: [number, number];
  rtPrio?: number;
  qdiscBypass: boolean;
  /** the receiver's socket buffer (SO_RCVBUFFORCE bytes); absent: the kernel's default */
  rcvbuf?: number;
  /** sender/receiver pairs at once, each in its own namespaces where the datapath allows */
  flows: number;
}

export const STREAM_DEFAULTS: StreamParams = {
  flows: 1,
  api: 'send',
  size: 64,
  burst: 1,
  ratePps: 0,
  durationNs: 10e9,
  warmupNs: 2e9,
  pace: 'sleep',
  wait: 'block',
  qdiscBypass: false,
};

/** The largest UDP payload a raw frame carries at the datapaths' MTU of 1500. */
export const RAW_MAX_PAYLOAD = 1500 - 28;

export interface StreamOutcome {
  tx: StreamTxResult;
  rx: StreamRxResult;
  txSeries: IntervalEvent[];
  rxSeries: IntervalEvent[];
  problem: string | null;
}

/** The MAC address frames must carry to reach `ep`: its device's. */
export async function macOf(ep: Endpoint): Promise<string> {
  const { stdout } = await runCommand(['ip', '-n', ep.netns, '-j', 'link', 'show', 'dev', ep.dev]);
  const mac = (JSON.parse(stdout) as Array<{ address?: string }>)[0]?.address;
  if (!mac) throw new Error(`no MAC address on ${ep.dev} in ${ep.netns}`);
  return mac;
}

/** Time for in-flight packets to land after the sender stops, before the receiver is stopped. */
const DRAIN_MS = 300;
/** A TCP receiver ends by itself once the sender closes; after this long it is stopped. */
const TCP_RX_END_MS = 5000;

export async function runStream(client: Endpoint, server: Endpoint, p: StreamParams, hooks: { onEngine?: (e: EngineProcess) => void } = {}): Promise<StreamOutcome> {
  const durationMs = p.durationNs / 1e6;
  const rx = new EngineProcess(
    'stream-rx',
    streamRxArgv({ bind: server.ip, netns: server.netns, api: p.api, burst: p.burst, size: p.size, maxDurationNs: p.durationNs + 60e9, cpu: p.cpus?.[1], rtPrio: p.rtPrio, wait: p.wait, rcvbuf: p.rcvbuf }),
    durationMs + 70_000,
  );
  hooks.onEngine?.(rx);
  let tx: EngineProcess | null = null;
  try {
    const ready = await rx.waitFor('ready');
    const raw = p.api === 'raw' || p.api === 'raw-mmsg' ? { dev: client.dev, dstMac: await macOf(server), src: client.ip, qdiscBypass: p.qdiscBypass } : undefined;
    tx = new EngineProcess(
      'stream-tx',
      streamTxArgv({
        server: server.ip,
        port: ready.port,
        api: p.api,
        size: p.size,
        burst: p.burst,
        ratePps: p.ratePps,
        durationNs: p.durationNs,
        pace: p.pace,
        netns: client.netns,
        cpu: p.cpus?.[0],
        rtPrio: p.rtPrio,
        wait: p.wait,
        raw,
      }),
      durationMs + 30_000,
    );
    hooks.onEngine?.(tx);
    let rxDied: string | null = null;
    const txRef = tx;
    void rx.exited.then((x) => {
      // A TCP receiver ends, successfully, when the sender half-closes: that is not a death.
      const normalTcpEnd = p.api === 'tcp' && x.code === 0;
      if (txRef.running && !normalTcpEnd) {
        rxDied = `stream-rx exited during the run (${describeExit(x)})`;
        void txRef.stop('request');
      }
    });
    const txExit = await tx.exited;
    const txResult = txExit.events.find((e): e is StreamTxResult => e.event === 'result' && e.role === 'stream-tx');
    if (!txResult) throw tx.failure() ?? new EngineError('stream-tx', `exited (${describeExit(txExit)}) without a result`);
    // TCP: the receiver ends by itself when the sender closes; UDP: let the last packets land.
    if (p.api !== 'tcp') await new Promise((r) => setTimeout(r, DRAIN_MS));
    const rxExit = p.api === 'tcp' ? ((await within(rx.exited, TCP_RX_END_MS, null)) ?? (await rx.stop())) : await rx.stop();
    const rxResult = rxExit.events.find((e): e is StreamRxResult => e.event === 'result' && e.role === 'stream-rx');
    if (!rxResult) throw rx.failure() ?? new EngineError('stream-rx', `exited (${describeExit(rxExit)}) without a result`);
    const series = (events: typeof txExit.events) => events.filter((e): e is IntervalEvent => e.event === 'interval');
    const problems = [
      rxDied,
      txExit.stoppedBy === 'deadline' ? 'stream-tx stopped at its deadline' : null,
      txResult.stopped === 'signal' && !rxDied && txExit.stoppedBy !== 'deadline' ? 'interrupted' : null,
      tx.failure()?.message ?? null,
    ].filter((x): x is string => x !== null);
    return { tx: txResult, rx: rxResult, txSeries: series(txExit.events), rxSeries: series(rxExit.events), problem: problems.length ? problems.join('; ') : null };
  } finally {
    await Promise.all([rx.stop('request'), tx?.stop('request')]);
  }
}
