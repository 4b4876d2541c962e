import { partKey } from '../../topology/parts.js';

/**
 * A userspace switch joined to DPDK engines over vhost-user (this folder): each endpoint namespace (a
 * container) holds no kernel interface, only its engine's virtio-user port on a socket of the switch.
 */
export interface DpdkPlan {
  switch: 'testpmd' | 'ovs-dpdk';
  /** the namespace the switch runs in */
  node: string;
  /** the run's hugetlbfs mount, and the 2 MB pages the run reserves for the switch and the engines */
  hugeDir: string;
  hugepages: number;
  /** the switch's DPDK memory (MB) and, for testpmd, its mbufs: sized by its ports' rings */
  switchMemMb: number;
  switchMbufs: number;
  /** every DPDK process's --file-prefix starts with it (its runtime files: /var/run/dpdk/<prefix>) */
  prefix: string;
  /**
   * Two vhost-user ports per endpoint namespace — one for its round trips, one for its streams (a load
   * runs both at once, and a DPDK port has one owner): the socket, the MAC and the peer's
   */
  ports: Array<{ netns: string; use: 'rtt' | 'stream'; socket: string; mac: string; peerMac: string }>;
  /** the CPUs the switch polls on; the engines default to the others (--cpus overrides) */
  switchCpus: number[];
  engineCpu: number;
}

/** The kernel-bypass datapaths' part of a topology (testpmd, ovs-dpdk). */
export const DPDK_PART = partKey<DpdkPlan>('dpdk');
