/**
 * Packet, byte and drop counters of every interface of a namespace (`ip -s -j link`): what each
 * device of the datapath carried and dropped during a run.
 */
import { runCommand } from '../local/command.js';

export interface DeviceCounters {
  rx_packets: number;
  tx_packets: number;
  rx_bytes: number;
  tx_bytes: number;
  rx_dropped: number;
  tx_dropped: number;
}

/** Parses `ip -s -j link show` into device → counters. Pure. */
export function parseLinkStats(json: string): Record<string, DeviceCounters> {
  const out: Record<string, DeviceCounters> = {};
  for (const l of JSON.parse(json) as Array<{
    ifname: string;
    stats64?: { rx: Record<string, number>; tx: Record<string, number> };
  }>) {
    const s = l.stats64;
    if (!s) continue;
    out[l.ifname] = {
      rx_packets: s.rx.packets ?? 0,
      tx_packets: s.tx.packets ?? 0,
      rx_bytes: s.rx.bytes ?? 0,
      tx_bytes: s.tx.bytes ?? 0,
      rx_dropped: s.rx.dropped ?? 0,
      tx_dropped: s.tx.dropped ?? 0,
    };
  }
  return out;
}

export function deviceDelta(before: DeviceCounters | undefined, after: DeviceCounters): DeviceCounters {
  const d = (k: keyof DeviceCounters) => after[k] - (before?.[k] ?? 0);
  return {
    rx_packets: d('rx_packets'),
    tx_packets: d('tx_packets'),
    rx_bytes: d('rx_bytes'),
    tx_bytes: d('tx_bytes'),
    rx_dropped: d('rx_dropped'),
    tx_dropped: d('tx_dropped'),
  };
}

export async function readLinkStats(netns: string): Promise<Record<string, DeviceCounters>> {
  const { stdout } = await runCommand(['ip', '-n', netns, '-s', '-j', 'link', 'show']);
  return parseLinkStats(stdout);
}
