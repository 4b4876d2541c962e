import { createHash } from 'node:crypto';
import { partKey } from '../../topology/parts.js';

/** One macvtap the run makes: on `lower` (in lowerNetns), then moved into `netns` unless a VM's. */
export interface Macvtap {
  name: string;
  /** where it ends up: a container's namespace, or (a VM's) the node's */
  netns: string;
  lower: string;
  lowerNetns: string;
  /** its MAC: a macvtap passes on only the frames for its own, so a VM's NIC has this one */
  mac: string;
  /** a container's address on it (a VM's is set inside the guest) */
  cidr?: string;
  /** a VM's: the character device made for it in the run's directory (its /dev/tapN), which qemu opens */
  tapDevice?: string;
  /**
   * a VM's over IPv6: every multicast frame passed to the guest. A macvtap passes on only the multicast
   * groups joined on it, and the guest joins its solicited-node groups inside, where the host's device
   * never hears of it: neighbour solicitations would stop there (libvirt's trustGuestRxFilters syncs the
   * guest's list instead)
   */
  allmulticast?: true;
}

/** The macvtap datapath's part of a topology: its macvtaps, client's and server's of each pair in turn. */
export const MACVTAP_PART = partKey<Macvtap[]>('macvtap');

/** A locally administered unicast MAC for pair i's side, distinct per run. */
export function macFor(runId: string, i: number, side: 'c' | 's'): string {
  const h = createHash('sha256').update(`${runId}/${i}/${side}`).digest();
  return ['02', ...[h[0], h[1], h[2], h[3], h[4]].map((b) => b!.toString(16).padStart(2, '0'))].join(':');
}
