/** Parses `iperf3 -u --json` client output: sent and received datagram rates (the receiver's view
 * comes back to the client in end.sum_received). */
export interface Iperf3Udp {
  txPps: number;
  rxPps: number;
  lossRatio: number;
  seconds: number;
}

interface Sum {
  seconds: number;
  packets: number;
  lost_packets: number;
}

export function parseIperf3Udp(json: string): Iperf3Udp {
  const doc = JSON.parse(json) as { error?: string; end?: { sum_sent?: Sum; sum_received?: Sum } };
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const sent = doc.end?.sum_sent;
  const got = doc.end?.sum_received;
  if (!sent || !got || typeof sent.packets !== 'number')
    throw new Error('iperf3 output has no UDP sums (was it run with -u --json?)');
  return {
    txPps: sent.packets / sent.seconds,
    rxPps: (got.packets - got.lost_packets) / got.seconds,
    lossRatio: got.packets ? got.lost_packets / got.packets : 0,
    seconds: got.seconds,
  };
}

/** Parses `iperf3 --json` TCP client output: what the receiver got, in Gbit/s. */
export function parseIperf3Tcp(json: string): { rxGbps: number; txGbps: number; retransmits: number } {
  const doc = JSON.parse(json) as {
    error?: string;
    end?: { sum_sent?: { bits_per_second: number; retransmits?: number }; sum_received?: { bits_per_second: number } };
  };
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const sent = doc.end?.sum_sent;
  const got = doc.end?.sum_received;
  if (!sent || !got) throw new Error('iperf3 output has no TCP sums (was it run with --json, without -u?)');
  return { rxGbps: got.bits_per_second / 1e9, txGbps: sent.bits_per_second / 1e9, retransmits: sent.retransmits ?? 0 };
}
