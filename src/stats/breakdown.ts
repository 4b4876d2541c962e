/**
 * The round-trip breakdown: each RTT split into six consecutive parts from the stamps both engine
 * ends kept (engine/stamps.h). All stamps are CLOCK_REALTIME on one host, so every part is a plain
 * difference and the parts of a round trip add up to it (up to the two clock reads that bracket it).
 *
 *   client user send ─client_send─▶ client kernel TX ─forward_path─▶ server kernel RX
 *   ─server_wakeup─▶ server user recv ─server_turnaround─▶ server kernel TX ─return_path─▶
 *   client kernel RX ─client_wakeup─▶ client user recv
 *
 * "kernel RX" is where the receiving device hands the packet to the stack (netif_rx/netif_receive_skb
 * in the receiver's namespace), so forward_path holds the sender's device and everything between
 * (a bridge, a VXLAN tunnel), and server_wakeup the last softirq, the socket and the scheduler.
 */
import type { StampRows } from '../engine-client/protocol.js';
import { Histogram } from './histogram.js';

export const COMPONENTS = [
  'client_send',
  'forward_path',
  'server_wakeup',
  'server_turnaround',
  'return_path',
  'client_wakeup',
] as const;
export type Component = (typeof COMPONENTS)[number];

/** Column indexes of the stamp rows (engine/stamps.h). */
const C = { userSend: 0, kernelTx: 1, kernelRx: 2, userRecv: 3 } as const;
const S = { kernelRx: 0, userRecv: 1, userSend: 2, kernelTx: 3 } as const;

export interface ComponentStats {
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export interface BreakdownSummary {
  /** round trips split into all six parts */
  samples: number;
  /** received round trips lacking a stamp (the device gave no TX stamp, the server's row was full) */
  missing: number;
  /** round trips whose stamps were out of order (a clock step): left out */
  inconsistent: number;
  components: Record<Component, ComponentStats>;
  /** the largest |sum of the parts − RTT| over all split round trips */
  max_sum_error_ns: number;
  /** round trips whose parts miss their RTT by more than 1 % or 1 µs (whichever is larger) */
  over_tolerance: number;
  /** the worst round trips (the slowest 1 %, at least one): which part grew most over its median */
  tail: {
    samples: number;
    grew: Partial<Record<Component, number>>;
    dominant: Component | null;
    mean_excess_ns: Record<Component, number>;
  };
}

/** The six parts of round trip `seq`, or null when a stamp is missing. Pure. */
export function splitRoundTrip(client: StampRows, server: StampRows, seq: number): number[] | null {
  if (seq >= client.rows || seq >= server.rows) return null;
  // Wall-clock nanoseconds (~1.8e18) exceed 2^53: subtract as bigint, convert the small differences.
  const c = (f: number) => client.data[seq * client.fields + f]!;
  const s = (f: number) => server.data[seq * server.fields + f]!;
  const chain = [
    c(C.userSend),
    c(C.kernelTx),
    s(S.kernelRx),
    s(S.userRecv),
    s(S.kernelTx),
    c(C.kernelRx),
    c(C.userRecv),
  ];
  if (chain.some((t) => t === 0n)) return null;
  return chain.slice(1).map((t, i) => Number(t - chain[i]!));
}

/**
 * Splits every received round trip. `rtts` are the measured RTTs (engine raw file: -1 = lost), the
 * first of them being sequence number `warmup`.
 */
export function breakdownRoundTrips(
  client: StampRows,
  server: StampRows,
  rtts: BigInt64Array,
  warmup: number,
): BreakdownSummary | null {
  const hists = COMPONENTS.map(() => new Histogram());
  const sums = COMPONENTS.map(() => 0);
  const kept: Array<{ rtt: number; parts: number[] }> = [];
  let missing = 0;
  let inconsistent = 0;
  let maxErr = 0;
  let overTolerance = 0;
  for (let k = 0; k < rtts.length; k++) {
    const rtt = Number(rtts[k]);
    if (rtt < 0) continue;
    const parts = splitRoundTrip(client, server, k + warmup);
    if (!parts) {
      missing++;
      continue;
    }
    if (parts.some((p) => p < 0)) {
      inconsistent++;
      continue;
    }
    parts.forEach((p, i) => {
      hists[i]!.record(p);
      sums[i]! += p;
    });
    const err = Math.abs(parts.reduce((a, b) => a + b, 0) - rtt);
    maxErr = Math.max(maxErr, err);
    if (err > Math.max(1000, rtt / 100)) overTolerance++;
    kept.push({ rtt, parts });
  }
  if (!kept.length) return null;
  const components = Object.fromEntries(
    COMPONENTS.map((name, i) => [
      name,
      {
        p50: hists[i]!.valueAtQuantile(0.5),
        p99: hists[i]!.valueAtQuantile(0.99),
        max: hists[i]!.max,
        mean: Math.round(sums[i]! / kept.length),
      },
    ]),
  ) as Record<Component, ComponentStats>;

  const worst = kept.sort((a, b) => b.rtt - a.rtt).slice(0, Math.max(1, Math.floor(kept.length / 100)));
  const grew: Partial<Record<Component, number>> = {};
  const excess = COMPONENTS.map(() => 0);
  for (const w of worst) {
    const over = w.parts.map((p, i) => p - components[COMPONENTS[i]!].p50);
    over.forEach((o, i) => (excess[i]! += o));
    const top = COMPONENTS[over.indexOf(Math.max(...over))]!;
    grew[top] = (grew[top] ?? 0) + 1;
  }
  const dominant = (Object.entries(grew) as Array<[Component, number]>).sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  return {
    samples: kept.length,
    missing,
    inconsistent,
    components,
    max_sum_error_ns: maxErr,
    over_tolerance: overTolerance,
    tail: {
      samples: worst.length,
      grew,
      dominant,
      mean_excess_ns: Object.fromEntries(
        COMPONENTS.map((n, i) => [n, Math.round(excess[i]! / worst.length)]),
      ) as Record<Component, number>,
    },
  };
}
