/** The options the workloads take, each naming which (part of OPTIONS). */
import { MAX_FLOWS } from '../datapaths/types.js';
import { MAX_TCP_WRITE, MAX_UDP_PAYLOAD } from '../engine-client/apis.js';
import { UserError } from '../util/errors.js';
import { parseBytes, parsePercent } from '../util/units.js';
import {
  ALL,
  PROBE,
  TCP_TRANSACTIONS,
  STREAMS,
  oneOf,
  intIn,
  powerOfTwo,
  durationIn,
  text,
  def,
  parseCpus,
} from './option-kit.js';

export const WORKLOAD_OPTIONS = {
  // Round trips (rtt, and the load workload's probe).
  count: def<number>({
    type: 'string',
    for: PROBE,
    value: 'N',
    help: 'round trips (default 10000)',
    parse: intIn(1, 100_000_000),
  }),
  interval: def<number>({
    type: 'string',
    for: PROBE,
    value: '1ms|0',
    help: 'send period (0: back to back)',
    parse: durationIn(0, 60e9, '0..60s'),
  }),
  timeout: def<number>({
    type: 'string',
    for: PROBE,
    value: 'DURATION',
    help: 'a reply later than this is lost (default 200ms)',
    parse: durationIn(1000, 60e9, '1us..60s'),
  }),
  'max-consecutive-lost': def<number>({
    type: 'string',
    for: PROBE,
    value: 'N',
    help: 'give up after this many losses in a row (0: never)',
    parse: intIn(0, 100_000_000),
  }),
  'response-size': def<number>({
    type: 'string',
    for: TCP_TRANSACTIONS,
    value: 'BYTES',
    help: 'bytes of each response (default: as --size; both default 1 B, as netperf)',
    parse: intIn(1, MAX_UDP_PAYLOAD),
  }),
  raw: def({ type: 'boolean', for: ['rtt'], help: 'keep every RTT, not only the histogram' }),
  breakdown: def({
    type: 'boolean',
    for: ['rtt'],
    help: 'split every RTT into send, forward path, server wake-up, turnaround, return path, wake-up',
  }),

  // Every workload.
  size: def<number>({
    type: 'string',
    for: ALL,
    value: 'BYTES',
    help:
      'UDP payload, 16..65507 (a TCP stream: bytes per write, ..1048576, default 128 KiB; rr/crr: of each ' +
      'request, 1..65507; load: of the load)',
    parse: intIn(1, MAX_TCP_WRITE),
  }),
  wait: def<'block' | 'spin'>({
    type: 'string',
    for: ALL,
    value: 'block|spin',
    help: 'how the engines wait for packets',
    parse: oneOf(['block', 'spin'] as const, 'block or spin'),
  }),
  pace: def<'sleep' | 'spin' | 'auto'>({
    type: 'string',
    for: ['rtt', 'stream', 'sweep', 'load'],
    value: 'auto|sleep|spin',
    help:
      'how senders wait for their next send time (streams and sweeps default auto: sleep to a margin the ' +
      "timer's lateness sets, then spin; rtt and a load's sender: sleep; a load's probe: spin)",
    parse: oneOf(
      ['sleep', 'spin', 'auto'] as const,
      'sleep (clock_nanosleep), spin (busy-wait on the clock) or auto (sleep, then spin the last stretch)',
    ),
  }),
  cpus: def<[number, number]>({
    type: 'string',
    for: ALL,
    value: 'CLIENT,SERVER',
    help: 'pin the engines',
    parse: parseCpus,
  }),
  'rt-prio': def<number>({
    type: 'string',
    for: ALL,
    value: '1..99',
    help: 'SCHED_FIFO priority of the engines',
    parse: intIn(1, 99),
  }),
  warmup: def<string>({
    type: 'string',
    for: ALL,
    value: 'N|DURATION',
    help: 'rtt/load: round trips discarded (default 1); stream/sweep: seconds discarded (default 2s)',
    parse: text,
  }),

  // Streams (stream, sweep, and the load workload's load).
  api: def<string>({
    type: 'string',
    for: [...STREAMS, 'rtt'],
    value: 'send,sendmmsg,gso,raw,raw-mmsg,raw-ring,xdp,tcp',
    help: 'sending APIs, one run each (default send; rtt: send or xdp)',
    parse: text,
  }),
  'xdp-frames': def<number>({
    type: 'string',
    for: [...STREAMS, 'rtt'],
    value: 'N',
    help: '--api xdp: UMEM frames of 2 KiB, a power of two (default 4096)',
    parse: powerOfTwo(64, 1 << 20),
  }),
  'xdp-ring': def<number>({
    type: 'string',
    for: [...STREAMS, 'rtt'],
    value: 'N',
    help: '--api xdp: entries of each AF_XDP ring, a power of two below --xdp-frames (default 2048)',
    parse: powerOfTwo(64, 1 << 19),
  }),
  burst: def<number>({
    type: 'string',
    for: STREAMS,
    value: 'N',
    help: 'datagrams per send call or paced burst (gso: as many as one send carries, up to 64)',
    parse: intIn(1, 1024),
  }),
  rate: def<string>({
    type: 'string',
    for: STREAMS,
    value: 'PPS|0',
    help: 'offered packets per second per flow (0: as fast as possible); sweep: a list 50k,100k or a range 50k..400k:8',
    parse: text,
  }),
  duration: def<number>({
    type: 'string',
    for: ['stream', 'sweep'],
    value: 'DURATION',
    help: 'how long each stream runs (default 10s)',
    parse: durationIn(1e9, 86400e9, '1s..24h'),
  }),
  live: def({
    type: 'boolean',
    for: ['stream'],
    help: 'a line per second on stderr while the stream runs (as iperf3 prints; the final table unchanged)',
    experiment: false,
  }),
  'live-interval': def<number>({
    type: 'string',
    short: 'i',
    for: ['stream'],
    value: 'DURATION',
    help: '--live with a line every DURATION (whole seconds: the engines count seconds), e.g. -i 2s',
    experiment: false,
    parse: (t, f) => {
      const ns = durationIn(1e9, 3600e9, '1s..1h')(t, f);
      if (ns % 1e9) throw new UserError(`${f} ${t}: a whole number of seconds (the engines report whole seconds)`);
      return ns / 1e9;
    },
  }),
  'qdisc-bypass': def({
    type: 'boolean',
    for: STREAMS,
    help: 'raw APIs (raw, raw-mmsg, raw-ring): PACKET_QDISC_BYPASS',
  }),
  zerocopy: def({
    type: 'boolean',
    for: STREAMS,
    help: '--api tcp: send with MSG_ZEROCOPY; the result says how many sends the kernel copied after all',
  }),
  congestion: def<string>({
    type: 'string',
    for: STREAMS,
    value: 'NAME',
    help: "a TCP stream's congestion control (TCP_CONGESTION: cubic, bbr, reno... as this kernel has them)",
    parse: (t, f) => {
      if (!/^[a-z0-9_]{1,15}$/.test(t))
        throw new UserError(`${f} '${t}': expected a congestion control's name (1..15 of a-z, 0-9, _)`);
      return t;
    },
  }),
  rcvbuf: def<number>({
    type: 'string',
    for: STREAMS,
    value: 'BYTES',
    help: "the receiver's socket buffer (SO_RCVBUFFORCE; default: the kernel's)",
    parse: (t, f) => parseBytes(t, f, 4096, 2 ** 30),
  }),
  sndbuf: def<number>({
    type: 'string',
    for: STREAMS,
    value: 'BYTES',
    help: "the sender's socket buffer (SO_SNDBUFFORCE; send, sendmmsg, gso, tcp; default: the kernel's)",
    parse: (t, f) => parseBytes(t, f, 4096, 2 ** 30),
  }),
  flows: def<number>({
    type: 'string',
    for: ['stream', ...TCP_TRANSACTIONS],
    value: 'N',
    help:
      'stream: sender/receiver pairs at once, each in its own namespaces; rr/crr: connections at once, ' +
      'one transaction in flight each',
    parse: intIn(1, MAX_FLOWS),
  }),
  'loss-threshold': def<number>({
    type: 'string',
    for: ['sweep'],
    value: 'PERCENT',
    help: 'the highest rate with less loss is the maximum sustained (default 0.1%)',
    parse: parsePercent,
  }),
  'sender-limit': def<number>({
    type: 'string',
    for: ['sweep'],
    value: 'PERCENT',
    help:
      'a point whose send rate falls more than this below the offered rate is sender-limited and never ' +
      'sustained (default 2%)',
    parse: parsePercent,
  }),
  settle: def<number>({
    type: 'string',
    for: ['load'],
    value: 'DURATION',
    help: 'how long the load runs before the probe starts (default 1s)',
    parse: durationIn(0, 60e9, '0..60s'),
  }),
  worst: def<number>({
    type: 'string',
    for: ['load'],
    value: 'N',
    help: 'how many of the worst RTTs to keep (default 5000)',
    parse: intIn(1, 1_000_000),
  }),
} as const;
