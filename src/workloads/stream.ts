/**
 * Throughput (seeds 001, 002, 004): a receiver counts, a sender sends UDP datagrams (send or
 * sendmmsg), raw Ethernet frames (AF_PACKET, one per call or sendmmsg) or a TCP byte stream, as
 * fast as possible or paced, for a duration. Both ends report per-second counters; the steady-state
 * means are made by the caller (src/stats/series.ts).
 */
import { getDatapath } from '../datapaths/registry.js';
import { runCommand } from '../local/command.js';
import { EngineError, EngineProcess, describeExit } from '../engine-client/supervisor.js';
import {
  streamRxArgv,
  streamTxArgv,
  type IntervalEvent,
  type StreamApi,
  type StreamRxResult,
  type StreamTxResult,
} from '../engine-client/protocol.js';
import { readDropCounters } from '../local/counters.js';
import { StreamApi as StreamApiEnum } from '../engine-client/protocol.js';
import { GSO_MAX_SEGMENTS, MAX_TCP_WRITE, MAX_UDP_PAYLOAD, TCP_DEFAULT_WRITE } from '../engine-client/apis.js';
import type { OptionValues } from '../options/options.js';
import type { Endpoint, ServicePath, Topology } from '../topology/model.js';
import { UserError } from '../util/errors.js';
import { notOneOf } from '../util/nearest.js';
import { parseDuration, parseRate } from '../util/units.js';
import { commonParams, commonRecord } from './common.js';
import { destinationOf, serverBindOf, serverPortOf } from './destination.js';
import type { EngineCommand, Workload } from './types.js';
import { within } from '../util/timeout.js';
import { LiveLines } from './live-lines.js';
import { StreamResultOutcome, streamOutcomeOf } from './stream-outcome.js';
import { RAW_MAX_PAYLOAD, STREAM_DEFAULTS, StreamOutcome, StreamParams, XDP_DEFAULT_BURST } from './stream-params.js';

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

/** The receiver's engine command line. */
export function streamRxCommand(server: Endpoint, p: StreamParams, service?: ServicePath): string[] {
  return streamRxArgv({
    bind: serverBindOf(service, server),
    port: serverPortOf(service),
    netns: server.netns,
    api: p.api,
    burst: p.burst,
    size: p.size,
    maxDurationNs: p.durationNs + 60e9,
    cpu: p.cpus?.[1],
    rtPrio: p.rtPrio,
    wait: p.wait,
    rcvbuf: p.rcvbuf,
    ...(readsDevice(p.api) ? { dev: server.dev } : {}),
    ...(p.api === 'xdp' && p.xdp ? { xdpSizes: p.xdp } : {}),
  });
}

/** The sender's engine command line; `port` is the one the receiver reports, `dstMac` the raw APIs' next hop. */
export function streamTxCommand(
  client: Endpoint,
  server: Endpoint,
  port: number,
  p: StreamParams,
  dstMac: string | null,
  service?: ServicePath,
): string[] {
  const raw = dstMac !== null ? { dev: client.dev, dstMac, src: client.ip, qdiscBypass: p.qdiscBypass } : undefined;
  const to = destinationOf(service, server, port);
  return streamTxArgv({
    server: to.ip,
    port: to.port,
    api: p.api,
    size: p.size,
    burst: p.burst,
    ratePps: p.ratePps,
    durationNs: p.durationNs,
    pace: p.pace,
    ...(p.api === 'tcp' && p.congestion ? { congestion: p.congestion } : {}),
    ...(p.sndbuf ? { sndbuf: p.sndbuf } : {}),
    ...(p.api === 'tcp' && p.zerocopy ? { zerocopy: true } : {}),
    netns: client.netns,
    cpu: p.cpus?.[0],
    rtPrio: p.rtPrio,
    wait: p.wait,
    raw,
    ...(p.api === 'xdp' && p.xdp ? { xdpSizes: p.xdp } : {}),
  });
}

/** The APIs that send Ethernet frames cnperf builds (addressed to the server's MAC). */
export const isRawApi = (api: StreamApi) => api === 'raw' || api === 'raw-mmsg' || api === 'raw-ring' || api === 'xdp';

/** The receivers that read frames on the server's device rather than from a UDP socket. */
const readsDevice = (api: StreamApi) => api === 'raw-ring' || api === 'xdp';

export async function runStream(
  client: Endpoint,
  server: Endpoint,
  p: StreamParams,
  hooks: { onEngine?: (e: EngineProcess) => void; service?: ServicePath } = {},
): Promise<StreamOutcome> {
  const durationMs = p.durationNs / 1e6;
  const rx = new EngineProcess('stream-rx', streamRxCommand(server, p, hooks.service), durationMs + 70_000);
  hooks.onEngine?.(rx);
  let tx: EngineProcess | null = null;
  try {
    const ready = await rx.waitFor('ready');
    const dstMac = isRawApi(p.api) ? await macOf(server) : null;
    tx = new EngineProcess(
      'stream-tx',
      streamTxCommand(client, server, ready.port, p, dstMac, hooks.service),
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
    if (!txResult)
      throw tx.failure() ?? new EngineError('stream-tx', `exited (${describeExit(txExit)}) without a result`);
    // TCP: the receiver ends by itself when the sender closes; UDP: let the last packets land.
    if (p.api !== 'tcp') await new Promise((r) => setTimeout(r, DRAIN_MS));
    const rxExit =
      p.api === 'tcp' ? ((await within(rx.exited, TCP_RX_END_MS, null)) ?? (await rx.stop())) : await rx.stop();
    const rxResult = rxExit.events.find((e): e is StreamRxResult => e.event === 'result' && e.role === 'stream-rx');
    if (!rxResult)
      throw rx.failure() ?? new EngineError('stream-rx', `exited (${describeExit(rxExit)}) without a result`);
    const series = (events: typeof txExit.events) => events.filter((e): e is IntervalEvent => e.event === 'interval');
    const problems = [
      rxDied,
      txExit.stoppedBy === 'deadline' ? 'stream-tx stopped at its deadline' : null,
      txResult.stopped === 'signal' && !rxDied && txExit.stoppedBy !== 'deadline' ? 'interrupted' : null,
      tx.failure()?.message ?? null,
    ].filter((x): x is string => x !== null);
    return {
      tx: txResult,
      rx: rxResult,
      txSeries: series(txExit.events),
      rxSeries: series(rxExit.events),
      problem: problems.length ? problems.join('; ') : null,
    };
  } finally {
    await Promise.all([rx.stop('request'), tx?.stop('request')]);
  }
}

/** --api, --burst, --rate (one rate), --qdisc-bypass, --rcvbuf: what every stream-like workload shares. */
export function streamBase(v: OptionValues, rate: 'one' | 'list'): StreamParams {
  const base: StreamParams = commonParams(v, STREAM_DEFAULTS, 16, MAX_TCP_WRITE);
  if (v.burst !== undefined) base.burst = v.burst;
  if (v.rate !== undefined && rate === 'one') base.ratePps = parseRate(v.rate, '--rate');
  base.qdiscBypass = v['qdisc-bypass'] ?? false;
  if (v.rcvbuf !== undefined) base.rcvbuf = v.rcvbuf;
  if (v.sndbuf !== undefined) base.sndbuf = v.sndbuf;
  if (v.zerocopy) base.zerocopy = true;
  if (v.live || v['live-interval'] !== undefined) base.liveEverySeconds = v['live-interval'] ?? 1;
  if (v.congestion !== undefined) base.congestion = v.congestion;
  return base;
}

/** One StreamParams per API named in --api (a comma-separated list: seed 001's Table 1 in one run). */
export function perApi(v: OptionValues, base: StreamParams): StreamParams[] {
  const apis = (v.api ?? base.api).split(',');
  // dpdk is not a choice: the kernel-bypass datapaths (testpmd, ovs-dpdk) send that way by themselves
  const allowed = StreamApiEnum.options.filter((a) => a !== 'dpdk');
  return apis.map((a, i) => {
    if (a === 'dpdk')
      throw new UserError(
        '--api dpdk: the DPDK datapaths (testpmd) use it by themselves, whatever --api says; the others ' +
          'have no DPDK port',
      );
    if (!(allowed as readonly string[]).includes(a))
      throw notOneOf('--api', a, allowed, `one or more of ${allowed.join(', ')} (comma-separated)`);
    if (apis.indexOf(a) !== i) throw new UserError(`--api '${a}' named twice`);
    const api = a as StreamApi;
    const raw = isRawApi(api);
    if (api !== 'tcp' && base.size > MAX_UDP_PAYLOAD)
      throw new UserError(
        `--size ${base.size}: a UDP payload (--api ${api}) is at most ${MAX_UDP_PAYLOAD} bytes`,
        `only --api tcp writes more (up to ${MAX_TCP_WRITE})`,
      );
    if (raw && base.size > RAW_MAX_PAYLOAD)
      throw new UserError(
        `--size ${base.size}: a frame cnperf builds (--api ` +
          `${api}) carries at most ${RAW_MAX_PAYLOAD} bytes of UDP payload (MTU 1500)`,
      );
    if (base.rcvbuf !== undefined && readsDevice(api))
      throw new UserError(
        `--rcvbuf sizes a UDP socket's buffer: the ` +
          `${api} receiver reads a ring on the device instead${api === 'xdp' ? ' (size it with --xdp-ring)' : ''}`,
      );
    if (base.sndbuf !== undefined && (raw || api === 'dpdk'))
      throw new UserError(
        `--sndbuf sizes a socket's send buffer: the ${api} sender hands frames to the device directly`,
        'it applies to --api send, sendmmsg, gso and tcp',
      );
    if (base.xdp && !apis.includes('xdp'))
      throw new UserError('--xdp-frames and --xdp-ring size the AF_XDP socket: they apply to --api xdp');
    if (base.zerocopy && !apis.includes('tcp'))
      throw new UserError('--zerocopy sends a TCP stream with MSG_ZEROCOPY: it applies to --api tcp');
    if (base.congestion !== undefined && !apis.includes('tcp'))
      throw new UserError("--congestion sets a TCP connection's congestion control: it applies to --api tcp");
    if (base.qdiscBypass && !apis.some((x) => x.startsWith('raw')))
      throw new UserError('--qdisc-bypass applies to the raw APIs only (raw, raw-mmsg, raw-ring)');
    // TCP is a byte stream: one write of --size bytes at a time, no bursts. AF_XDP moves batches
    // through its rings: without --burst, a batch is the kernel's copy-mode TX batch (32 frames).
    const burst =
      api === 'tcp'
        ? 1
        : api === 'xdp' && v.burst === undefined
          ? XDP_DEFAULT_BURST
          : api === 'gso' && v.burst === undefined
            ? gsoDefaultBurst(base.size)
            : base.burst;
    if (api === 'gso') checkGsoBurst(burst, base.size);
    return {
      ...base,
      // a TCP stream writes iperf3's 128 KiB unless --size says otherwise (64 B writes measure syscalls)
      ...(api === 'tcp' && v.size === undefined ? { size: TCP_DEFAULT_WRITE } : {}),
      api,
      burst,
      qdiscBypass: raw && api !== 'xdp' && base.qdiscBypass,
      burstGiven: v.burst !== undefined,
    };
  });
}

/**
 * --api gso's burst when --burst is not given: as many datagrams as one send may carry (64 segments, one UDP
 * payload's bytes in all), the way QUIC stacks fill a GSO send.
 */
export function gsoDefaultBurst(size: number): number {
  return Math.max(1, Math.min(GSO_MAX_SEGMENTS, Math.floor(MAX_UDP_PAYLOAD / size)));
}

function checkGsoBurst(burst: number, size: number): void {
  if (burst > GSO_MAX_SEGMENTS)
    throw new UserError(
      `--api gso: --burst ${burst}: one send carries at most ${GSO_MAX_SEGMENTS} segments (the kernel's ` +
        'UDP_MAX_SEGMENTS)',
    );
  if (burst * size > MAX_UDP_PAYLOAD)
    throw new UserError(
      `--api gso: --size ${size} × --burst ${burst} = ${burst * size} bytes: one send carries at most ` +
        `${MAX_UDP_PAYLOAD}`,
      `use --burst ${gsoDefaultBurst(size)} or less`,
    );
}

/** The stream and sweep workloads' parameters: the base, flows, duration and warm-up (a duration). */
export function streamParams(v: OptionValues, rate: 'one' | 'list'): StreamParams[] {
  const base = streamBase(v, rate);
  if (v.flows !== undefined) base.flows = v.flows;
  if (v.duration !== undefined) base.durationNs = v.duration;
  if (v.warmup !== undefined) base.warmupNs = parseDuration(v.warmup, '--warmup (a duration for stream workloads)');
  // the steady state is the engine's whole seconds that start after the warm-up
  const firstSteadyNs = Math.ceil(base.warmupNs / 1e9) * 1e9;
  if (firstSteadyNs + 1e9 > base.durationNs) {
    throw new UserError(
      `--warmup ${base.warmupNs / 1e9}s leaves no steady-state second in --duration ` +
        `${base.durationNs / 1e9}s (the engine counts whole seconds; the first after the warm-up starts at ` +
        `${firstSteadyNs / 1e9} s)`,
      `make --duration at least ${(firstSteadyNs + 1e9) / 1e9}s`,
    );
  }
  return perApi(v, base);
}

export function checkRaw(topo: Topology, api: StreamApi): void {
  if (isRawApi(api) && topo.rawUnsupported) throw new Error(`--api ${api}: ${topo.rawUnsupported}`);
  if (isRawApi(api) && topo.service)
    throw new Error(
      `--api ${api}: frames built by cnperf are addressed to the server itself, past the Service's ` +
        `ClusterIP; use send, sendmmsg or tcp with --service-proxy`,
    );
  if (api === 'xdp' && topo.xdpUnsupported) throw new Error(`--api xdp: ${topo.xdpUnsupported}`);
}

/** One sender/receiver pair per flow, all at once, with the datapath's drop counters around them. */
export async function runFlows(
  topo: Topology,
  given: StreamParams,
  print: (line: string) => void = () => {},
  onInterval?: (flow: number, ev: IntervalEvent) => void,
): Promise<StreamResultOutcome> {
  checkRaw(topo, given.api);
  // A DPDK engine moves bursts, as every DPDK application does, unless --burst says otherwise.
  const burst = getDatapath(topo.datapath).defaultBurst;
  const p = burst && !given.burstGiven ? { ...given, burst } : given;
  const before = await readDropCounters(topo);
  const live = p.liveEverySeconds ? new LiveLines(p.flows, p.liveEverySeconds, print, p.api === 'tcp') : null;
  const flows = await Promise.all(
    topo.pairs.slice(0, p.flows).map((pair, flow) =>
      runStream(pair.client, pair.server, p, {
        ...(topo.service ? { service: topo.service } : {}),
        ...(live || onInterval
          ? {
              onEngine: (e: EngineProcess) =>
                e.onEvent((ev) => {
                  if (ev.event === 'interval') {
                    live?.add(flow, ev);
                    onInterval?.(flow, ev);
                  } else if (ev.event === 'result' && ev.role === 'stream-tx') live?.senderDone(flow);
                }),
            }
          : {}),
      }),
    ),
  );
  return streamOutcomeOf(p, flows, before, await readDropCounters(topo));
}

/** The parameters of a stream as stored and printed in --json. */
export function streamRecord(p: StreamParams): Record<string, unknown> {
  return {
    api: p.api,
    ...commonRecord(p),
    burst: p.burst,
    rate_pps: p.ratePps,
    duration_ns: p.durationNs,
    warmup_ns: p.warmupNs,
    qdisc_bypass: p.qdiscBypass,
    flows: p.flows,
    rcvbuf: p.rcvbuf ?? null,
    ...(p.sndbuf ? { sndbuf: p.sndbuf } : {}),
    ...(p.zerocopy ? { zerocopy: true } : {}),
    ...(p.congestion ? { congestion: p.congestion } : {}),
  };
}

/** The receiver's and sender's command lines of the first flow, as a run of `p` runs them. */
export function streamCommands(topo: Topology, p: StreamParams): EngineCommand[] {
  const { client, server } = topo.endpoints;
  return [
    { argv: streamRxCommand(server, p, topo.service) },
    {
      argv: streamTxCommand(client, server, 0, p, isRawApi(p.api) ? `MAC-OF-${server.dev}` : null, topo.service),
      ...(topo.service ? {} : { note: 'port: the one the receiver reports' }),
    },
  ];
}

/** Roughly how many packets a stream carries. */
export const streamPackets = (p: Pick<StreamParams, 'ratePps' | 'durationNs' | 'flows'>) =>
  ((p.ratePps || 1_000_000) * p.durationNs * p.flows) / 1e9;

export const streamWorkload: Workload<StreamParams, StreamResultOutcome> = {
  name: 'stream',
  description: 'packet rate / bulk throughput with one or more sending APIs (seeds 001, 002, 004)',
  parse: (v) => streamParams(v, 'one'),
  pairsNeeded: (p) => p.flows,
  transport: (p) => (p.api === 'tcp' ? 'tcp' : 'udp'),
  serviceUnsupported: (p) =>
    isRawApi(p.api)
      ? `--api ${p.api}: frames built by cnperf are addressed to the server itself, past the Service's ` +
        `ClusterIP; use send, sendmmsg or tcp`
      : p.flows > 1
        ? "--flows with --service-proxy: each flow has its own server, and the Service's endpoints are the " +
          "first one's (not built)"
        : null,
  rawApi: (p) => (isRawApi(p.api) ? p.api : null),
  cpus: (p) => p.cpus,
  expectedPackets: streamPackets,
  describe: (p) =>
    `streaming ${p.api}, ` +
    `${p.size} B, burst ${p.burst}, ` +
    `${p.ratePps ? `${p.ratePps} pps` : 'as fast as possible'}, for ${p.durationNs / 1e9} s`,
  footer: (p) =>
    `${p.durationNs / 1e9} s each, first ` +
    `${p.warmupNs / 1e9} s discarded, ` +
    (p.ratePps
      ? `offered ${p.ratePps} pps (pace ${p.pace}: --json's stream.spin_share is its CPU cost)`
      : 'as fast as possible'),
  record: streamRecord,
  commands: streamCommands,
  run: (topo, p, ctx) => runFlows(topo, p, ctx.progress, ctx.onInterval),
};
