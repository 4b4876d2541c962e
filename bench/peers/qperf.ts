/** Parses `qperf HOST -vu udp_lat` output: its latency is one-way (RTT/2), in ns here. */
export function parseQperfUdpLat(text: string): number {
  const m = /latency\s*=\s*([\d.]+)\s*(ns|us|ms|sec)\b/.exec(text);
  if (!m) throw new Error('qperf output has no "latency =" line: did the run fail?');
  return Number(m[1]) * { ns: 1, us: 1e3, ms: 1e6, sec: 1e9 }[m[2] as 'ns' | 'us' | 'ms' | 'sec'];
}
