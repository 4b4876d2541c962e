/**
 * Parses `sockperf ping-pong` output. sockperf reports one-way latency (RTT/2) unless run with
 * --full-rtt; both forms are recognised and returned as full round trips in nanoseconds.
 */
export interface SockperfResult {
  /** true when sockperf printed round trips (--full-rtt); false when it printed RTT/2, doubled here */
  fullRtt: boolean;
  samples: number;
  dropped: number;
  mean: number;
  min: number;
  max: number;
  /** percentile (as printed, e.g. "99.900") -> RTT ns */
  percentiles: Record<string, number>;
}

export function parseSockperfPingPong(text: string): SockperfResult {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const avg = /====> avg-(rtt|latency)=\s*([\d.]+)/.exec(clean);
  if (!avg) throw new Error('sockperf output has no "avg-rtt" or "avg-latency" line: did the run fail?');
  const fullRtt = avg[1] === 'rtt';
  const k = (fullRtt ? 1 : 2) * 1000; // µs → ns, and RTT/2 → RTT
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(clean);
    if (!m) throw new Error(`sockperf output has no ${what}`);
    return Number(m[1]);
  };
  const percentiles: Record<string, number> = {};
  for (const m of clean.matchAll(/---> percentile ([\d.]+) =\s*([\d.]+)/g))
    percentiles[m[1]!] = Math.round(Number(m[2]) * k);
  return {
    fullRtt,
    samples: num(/Total (\d+) observations/, 'observation count'),
    dropped: num(/# dropped messages = (\d+)/, 'dropped count'),
    mean: Math.round(Number(avg[2]) * k),
    min: Math.round(num(/<MIN> observation =\s*([\d.]+)/, 'MIN') * k),
    max: Math.round(num(/<MAX> observation =\s*([\d.]+)/, 'MAX') * k),
    percentiles,
  };
}

/** Parses `sockperf throughput` client output: the rate it sent (sockperf reports no receive side). */
export function parseSockperfThroughput(text: string): { txPps: number; messages: number; seconds: number } {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total of (\d+) messages sent in ([\d.]+) sec/.exec(clean);
  const rate = /Message Rate is (\d+) \[msg\/sec\]/.exec(clean);
  if (!total || !rate) throw new Error('sockperf output has no "Message Rate" summary: did the run fail?');
  return { txPps: Number(rate[1]), messages: Number(total[1]), seconds: Number(total[2]) };
}
