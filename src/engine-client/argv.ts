/**
 * The engine's command lines, built from typed options (src/engine-client/protocol.ts has the events they
 * answer with; engine/args.c parses them).
 */
import type { STREAM_APIS } from './apis.js';

/** The engine's ADDR:PORT: an IPv6 address in brackets ([2001:2::1]:9000), as in a URL. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

type StreamApi = (typeof STREAM_APIS)[number];

export type WaitMode = 'block' | 'spin';
/** sleep (clock_nanosleep), spin (busy-wait on the clock), auto (sleep to a learned margin, then spin) */
export type PaceMode = 'sleep' | 'spin' | 'auto';

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

export function rttServerArgv(
  o: ProcessOptions & { bind: string; port?: number; stamps?: { out: string; rows: number }; xdpDev?: string },
): string[] {
  const a = ['rtt-server', '--bind', hostPort(o.bind, o.port ?? 0), ...processArgs(o)];
  if (o.xdpDev) a.push('--api', 'xdp', '--dev', o.xdpDev);
  // The server keeps one row per sequence number: it must know how many (warm-up + count).
  if (o.stamps) a.push('--stamps-out', o.stamps.out, '--count', String(o.stamps.rows), '--warmup', '0');
  return a;
}

export function rttClientArgv(o: RttClientArgs): string[] {
  const a = [
    'rtt-client',
    '--server',
    hostPort(o.server, o.port),
    '--count',
    String(o.count),
    '--warmup',
    String(o.warmup),
    '--interval-ns',
    String(o.intervalNs),
    '--timeout-ns',
    String(o.timeoutNs),
    '--size',
    String(o.size),
    '--pace',
    o.pace,
    '--max-consecutive-lost',
    String(o.maxConsecutiveLost),
    ...processArgs(o),
  ];
  if (o.openLoop) a.push('--open-loop');
  if (o.rawOut) a.push('--raw-out', o.rawOut);
  if (o.stampsOut) a.push('--stamps-out', o.stampsOut);
  if (o.xdp) a.push('--api', 'xdp', '--dev', o.xdp.dev, '--dst-mac', o.xdp.dstMac, '--src', hostPort(o.xdp.src, 0));
  return a;
}

export interface StreamRxArgs extends ProcessOptions {
  /** SO_RCVBUFFORCE bytes (0 or absent: the kernel default) */
  rcvbuf?: number;
  /** raw-ring, xdp: the device the receiver's packet ring or AF_XDP socket reads */
  dev?: string;
  bind: string;
  /** 0 or absent: the kernel picks (reported by `ready`) */
  port?: number;
  api: StreamApi;
  burst: number;
  size: number;
  /** the receiver stops by itself after this long (the supervisor normally stops it first) */
  maxDurationNs: number;
}

export function streamRxArgv(o: StreamRxArgs): string[] {
  return [
    'stream-rx',
    '--bind',
    hostPort(o.bind, o.port ?? 0),
    '--api',
    o.api,
    '--burst',
    String(o.burst),
    '--size',
    String(o.size),
    '--duration-ns',
    String(o.maxDurationNs),
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
  /** --api tcp: the connection's congestion control (TCP_CONGESTION) */
  congestion?: string;
  /** SO_SNDBUFFORCE bytes (absent: the kernel default) */
  sndbuf?: number;
  /** --api tcp: send with MSG_ZEROCOPY */
  zerocopy?: boolean;
  /** raw APIs and xdp: where frames leave, the next hop's MAC, and the source written into them */
  raw?: { dev: string; dstMac: string; src: string; qdiscBypass: boolean };
}

export function streamTxArgv(o: StreamTxArgs): string[] {
  const a = [
    'stream-tx',
    '--server',
    hostPort(o.server, o.port),
    '--api',
    o.api,
    '--size',
    String(o.size),
    '--burst',
    String(o.burst),
    '--rate',
    String(o.ratePps),
    '--duration-ns',
    String(o.durationNs),
    '--pace',
    o.pace,
    ...processArgs(o),
    ...(o.congestion ? ['--congestion', o.congestion] : []),
    ...(o.sndbuf ? ['--sndbuf', String(o.sndbuf)] : []),
    ...(o.zerocopy ? ['--zerocopy'] : []),
  ];
  if (o.raw) {
    a.push('--dev', o.raw.dev, '--dst-mac', o.raw.dstMac, '--src', hostPort(o.raw.src, 9));
    if (o.raw.qdiscBypass) a.push('--qdisc-bypass');
  }
  return a;
}

export interface RrArgs extends ProcessOptions {
  /** request and response bytes: the server counts whole requests by the request size */
  size: number;
  responseSize: number;
}

/** `port` 0: the kernel picks one (reported by `ready`); a Service's target port is fixed. */
export function rrServerArgv(o: RrArgs & { bind: string; port?: number }): string[] {
  return [
    'rr-server',
    '--bind',
    hostPort(o.bind, o.port ?? 0),
    '--size',
    String(o.size),
    '--response-size',
    String(o.responseSize),
    ...processArgs(o),
  ];
}

export interface RrClientArgs extends RrArgs {
  server: string;
  port: number;
  crr: boolean;
  flows: number;
  count: number;
  warmup: number;
  intervalNs: number;
  timeoutNs: number;
  maxConsecutiveLost: number;
  rawOut?: string;
}

export function rrClientArgv(o: RrClientArgs): string[] {
  const a = [
    'rr-client',
    '--server',
    hostPort(o.server, o.port),
    '--flows',
    String(o.flows),
    '--count',
    String(o.count),
    '--warmup',
    String(o.warmup),
    '--interval-ns',
    String(o.intervalNs),
    '--timeout-ns',
    String(o.timeoutNs),
    '--size',
    String(o.size),
    '--response-size',
    String(o.responseSize),
    '--max-consecutive-lost',
    String(o.maxConsecutiveLost),
    ...processArgs(o),
  ];
  if (o.crr) a.push('--crr');
  if (o.rawOut) a.push('--raw-out', o.rawOut);
  return a;
}
