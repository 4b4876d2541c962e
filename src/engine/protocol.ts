/**
 * The engine's protocol, in one place: the arguments cnperf passes and the NDJSON events the
 * engine prints on stdout (engine/main.c, rtt.c, out.c are the other side). Every line is checked
 * against these schemas; an engine that says anything else is refused.
 */
import { z } from 'zod';

const u64 = z.number().int().nonnegative();

export const HelloEvent = z.object({
  event: z.literal('hello'),
  version: z.string(),
  proto: u64,
  role: z.string(),
  pid: z.number().int(),
});

export const ReadyEvent = z.object({
  event: z.literal('ready'),
  role: z.string(),
  addr: z.string(),
  port: u64,
  wait: z.enum(['block', 'spin']),
  cpu: z.number().int(),
  rt_prio: u64,
});

export const ErrorEvent = z.object({
  event: z.literal('error'),
  code: z.string(),
  message: z.string(),
});

export const HistogramPayload = z.object({
  sub_bits: z.number().int().min(1).max(20),
  buckets: z.array(z.tuple([u64, u64])),
});

export const RttClientResult = z.object({
  event: z.literal('result'),
  role: z.literal('rtt-client'),
  wait: z.enum(['block', 'spin']),
  pace: z.enum(['sleep', 'spin']),
  /** 'send': ping-pong, each RTT from its send; 'open-loop': probes on schedule, replies matched by sequence */
  timing: z.enum(['send', 'open-loop']),
  size: u64,
  count: u64,
  warmup: u64,
  interval_ns: u64,
  timeout_ns: u64,
  sent: u64,
  attempted: u64,
  received: u64,
  lost: u64,
  warmup_lost: u64,
  late: u64,
  refused: u64,
  send_errors: u64,
  recv_errors: u64,
  schedule_misses: u64,
  duration_ns: u64,
  min_ns: u64,
  max_ns: u64,
  mean_ns: z.number().nullable(),
  stddev_ns: z.number().nullable(),
  aborted: z.enum(['signal', 'peer-unresponsive']).nullable(),
  hist: HistogramPayload,
  /** --api xdp: the round trip over AF_XDP sockets, and the mode the client's XDP program ran in */
  api: z.literal('xdp').optional(),
  xdp_mode: z.enum(['native', 'generic']).optional(),
  /** open loop: replies seen twice, datagrams not of this run, the sender's lateness against its schedule */
  duplicates: u64.optional(),
  stray: u64.optional(),
  lateness_max_ns: u64.optional(),
  lateness_hist: HistogramPayload.optional(),
});

export const RttServerResult = z.object({
  event: z.literal('result'),
  role: z.literal('rtt-server'),
  echoed: u64,
  send_errors: u64,
  /** echoes whose timestamps were kept (breakdown mode) */
  stamped: u64,
  /** --api xdp: the mode the server's XDP program ran in */
  xdp_mode: z.enum(['native', 'generic']).optional(),
});

/** Seed 001's ladder of kernel APIs, socket to bypass: send < sendmmsg < raw < raw-mmsg < raw-ring < xdp; and TCP. */
export const StreamApi = z.enum(['send', 'sendmmsg', 'raw', 'raw-mmsg', 'raw-ring', 'xdp', 'tcp']);

/** Per-second counters of one end of a stream (deltas; `ns` is the exact length of the interval). */
export const IntervalEvent = z.object({
  event: z.literal('interval'),
  role: z.enum(['stream-tx', 'stream-rx']),
  t: u64,
  /** CLOCK_MONOTONIC ns at the interval's start: flows on one host share the clock */
  start: u64,
  ns: u64,
  packets: u64,
  bytes: u64,
  errors: u64,
  drops: u64,
});

export const StreamTxResult = z.object({
  event: z.literal('result'),
  role: z.literal('stream-tx'),
  api: StreamApi,
  size: u64,
  frame_bytes: u64,
  burst: u64,
  rate_pps: u64,
  pace: z.enum(['sleep', 'spin']),
  qdisc_bypass: u64,
  /** xdp: how the AF_XDP socket was bound (veth: copy mode) */
  xdp_bind: z.literal('copy').optional(),
  packets: u64,
  bytes: u64,
  errors: u64,
  short_sends: u64,
  /** paced slots skipped after the sender fell behind (a stall), instead of sent as a catch-up burst */
  missed_slots: u64,
  duration_ns: u64,
  stopped: z.literal('signal').nullable(),
});

export const StreamRxResult = z.object({
  event: z.literal('result'),
  role: z.literal('stream-rx'),
  call: z.enum(['recvmsg', 'recvmmsg', 'read', 'TPACKET_V3', 'AF_XDP']),
  /** xdp: the mode the receiver's XDP program ran in (native where the driver has it) */
  xdp_mode: z.enum(['native', 'generic']).optional(),
  packets: u64,
  bytes: u64,
  duration_ns: u64,
  socket_drops: u64,
  /** -1: not available (TCP, or /proc/net/snmp unreadable) */
  snmp_rcvbuf_errors: z.number().int(),
  snmp_in_errors: z.number().int(),
  rcvbuf: u64,
});

export const CalibrateClockResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-clock'),
  reads: u64,
  monotonic_ns: z.number(),
  realtime_ns: z.number(),
});

export const CalibrateTimerResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-timer'),
  interval_ns: u64,
  wakeups: u64,
  max_ns: u64,
  hist: HistogramPayload,
});

export const CalibrateNoiseResult = z.object({
  event: z.literal('result'),
  role: z.literal('calibrate-noise'),
  duration_ns: u64,
  threshold_ns: u64,
  gaps: u64,
  stolen_ns: u64,
  max_ns: u64,
  hist: HistogramPayload,
});

export const EngineEvent = z.union([
  HelloEvent,
  ReadyEvent,
  ErrorEvent,
  IntervalEvent,
  RttClientResult,
  RttServerResult,
  StreamTxResult,
  StreamRxResult,
  CalibrateClockResult,
  CalibrateTimerResult,
  CalibrateNoiseResult,
]);
export type CalibrateClockResult = z.infer<typeof CalibrateClockResult>;
export type CalibrateTimerResult = z.infer<typeof CalibrateTimerResult>;
export type CalibrateNoiseResult = z.infer<typeof CalibrateNoiseResult>;

export type HelloEvent = z.infer<typeof HelloEvent>;
export type ReadyEvent = z.infer<typeof ReadyEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;
export type RttClientResult = z.infer<typeof RttClientResult>;
export type RttServerResult = z.infer<typeof RttServerResult>;
export type EngineEvent = z.infer<typeof EngineEvent>;
export type StreamApi = z.infer<typeof StreamApi>;
export type IntervalEvent = z.infer<typeof IntervalEvent>;
export type StreamTxResult = z.infer<typeof StreamTxResult>;
export type StreamRxResult = z.infer<typeof StreamRxResult>;

export class ProtocolError extends Error {
  constructor(message: string, readonly line: string) {
    super(`${message}: ${line.length > 200 ? line.slice(0, 200) + '…' : line}`);
    this.name = 'ProtocolError';
  }
}

/** Parses one stdout line of the engine. Throws ProtocolError on anything not in the contract. */
export function parseEngineLine(line: string): EngineEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new ProtocolError('engine printed a line that is not JSON', line);
  }
  const r = EngineEvent.safeParse(json);
  if (!r.success) {
    const ev = typeof json === 'object' && json !== null ? (json as { event?: unknown }).event : undefined;
    throw new ProtocolError(`engine event ${JSON.stringify(ev)} does not match the protocol`, line);
  }
  return r.data;
}

export type WaitMode = 'block' | 'spin';
export type PaceMode = 'sleep' | 'spin';

export interface ProcessOptions {
  netns?: string;
  cpu?: number;
  rtPrio?: number;
  wait: WaitMode;
  /** --api xdp: UMEM frames and ring entries */
  xdpSizes?: { frames?: number; ring?: number };
}

/** The engine options shared by every subcommand. */
export function processArgs(o: ProcessOptions): string[] {
  const a: string[] = [];
  if (o.netns) a.push('--netns', o.netns);
  if (o.cpu !== undefined) a.push('--cpu', String(o.cpu));
  if (o.rtPrio) a.push('--rt-prio', String(o.rtPrio));
  a.push('--wait', o.wait);
  if (o.xdpSizes?.frames) a.push('--xdp-frames', String(o.xdpSizes.frames));
  if (o.xdpSizes?.ring) a.push('--xdp-ring', String(o.xdpSizes.ring));
  return a;
}

export interface RttClientArgs extends ProcessOptions {
  server: string;
  port: number;
  count: number;
  warmup: number;
  intervalNs: number;
  timeoutNs: number;
  size: number;
  pace: PaceMode;
  maxConsecutiveLost: number;
  /** send on schedule without waiting for replies (latency under load) */
  openLoop?: boolean;
  rawOut?: string;
  /** per-packet timestamps for the round-trip breakdown */
  stampsOut?: string;
  /** --api xdp: the client's device, the server's MAC, and its own address (port picked by the kernel) */
  xdp?: { dev: string; dstMac: string; src: string };
}

export function rttServerArgv(o: ProcessOptions & { bind: string; stamps?: { out: string; rows: number }; xdpDev?: string }): string[] {
  const a = ['rtt-server', '--bind', `${o.bind}:0`, ...processArgs(o)];
  if (o.xdpDev) a.push('--api', 'xdp', '--dev', o.xdpDev);
  // The server keeps one row per sequence number: it must know how many (warm-up + count).
  if (o.stamps) a.push('--stamps-out', o.stamps.out, '--count', String(o.stamps.rows), '--warmup', '0');
  return a;
}

export function rttClientArgv(o: RttClientArgs): string[] {
  const a = [
    'rtt-client',
    '--server', `${o.server}:${o.port}`,
    '--count', String(o.count),
    '--warmup', String(o.warmup),
    '--interval-ns', String(o.intervalNs),
    '--timeout-ns', String(o.timeoutNs),
    '--size', String(o.size),
    '--pace', o.pace,
    '--max-consecutive-lost', String(o.maxConsecutiveLost),
    ...processArgs(o),
  ];
  if (o.openLoop) a.push('--open-loop');
  if (o.rawOut) a.push('--raw-out', o.rawOut);
  if (o.stampsOut) a.push('--stamps-out', o.stampsOut);
  if (o.xdp) a.push('--api', 'xdp', '--dev', o.xdp.dev, '--dst-mac', o.xdp.dstMac, '--src', `${o.xdp.src}:0`);
  return a;
}

export interface StreamRxArgs extends ProcessOptions {
  /** SO_RCVBUFFORCE bytes (0 or absent: the kernel default) */
  rcvbuf?: number;
  /** raw-ring, xdp: the device the receiver's packet ring or AF_XDP socket reads */
  dev?: string;
  bind: string;
  api: StreamApi;
  burst: number;
  size: number;
  /** the receiver stops by itself after this long (the supervisor normally stops it first) */
  maxDurationNs: number;
}

export function streamRxArgv(o: StreamRxArgs): string[] {
  return [
    'stream-rx',
    '--bind', `${o.bind}:0`,
    '--api', o.api,
    '--burst', String(o.burst),
    '--size', String(o.size),
    '--duration-ns', String(o.maxDurationNs),
    ...processArgs(o),
    ...(o.rcvbuf ? ['--rcvbuf', String(o.rcvbuf)] : []),
    ...(o.dev ? ['--dev', o.dev] : []),
  ];
}

export interface StreamTxArgs extends ProcessOptions {
  server: string;
  port: number;
  api: StreamApi;
  size: number;
  burst: number;
  ratePps: number;
  durationNs: number;
  pace: PaceMode;
  /** raw APIs and xdp: where frames leave, the next hop's MAC, and the source written into them */
  raw?: { dev: string; dstMac: string; src: string; qdiscBypass: boolean };
}

export function streamTxArgv(o: StreamTxArgs): string[] {
  const a = [
    'stream-tx',
    '--server', `${o.server}:${o.port}`,
    '--api', o.api,
    '--size', String(o.size),
    '--burst', String(o.burst),
    '--rate', String(o.ratePps),
    '--duration-ns', String(o.durationNs),
    '--pace', o.pace,
    ...processArgs(o),
  ];
  if (o.raw) {
    a.push('--dev', o.raw.dev, '--dst-mac', o.raw.dstMac, '--src', `${o.raw.src}:9`);
    if (o.raw.qdiscBypass) a.push('--qdisc-bypass');
  }
  return a;
}

/** Reads the engine's raw sample file: "CNPRAW01", u64 n, n × i64 RTT ns (-1 = lost). */
export function parseRawSamples(buf: Buffer): BigInt64Array {
  if (buf.length < 16 || buf.subarray(0, 8).toString('latin1') !== 'CNPRAW01') throw new Error('not a cnperf raw sample file');
  const n = Number(buf.readBigUInt64LE(8));
  if (buf.length !== 16 + n * 8) throw new Error(`raw sample file holds ${buf.length - 16} bytes, expected ${n * 8}`);
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readBigInt64LE(16 + i * 8);
  return out;
}

/** A stamps file (engine/stamps.h): rows of STAMP_FIELDS int64 ns, row i for sequence number i, 0 = missing. */
export interface StampRows {
  rows: number;
  fields: number;
  data: BigInt64Array;
}

export function parseStamps(buf: Buffer): StampRows {
  if (buf.length < 24 || buf.subarray(0, 8).toString('latin1') !== 'CNPSTMP1') throw new Error('not a cnperf timestamp file');
  const rows = Number(buf.readBigUInt64LE(8));
  const fields = Number(buf.readBigUInt64LE(16));
  if (buf.length !== 24 + rows * fields * 8) throw new Error(`timestamp file holds ${buf.length - 24} bytes, expected ${rows * fields * 8}`);
  const data = new BigInt64Array(rows * fields);
  for (let i = 0; i < data.length; i++) data[i] = buf.readBigInt64LE(24 + i * 8);
  return { rows, fields, data };
}
