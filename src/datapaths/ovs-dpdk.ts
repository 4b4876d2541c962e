import { existsSync } from 'node:fs';
import { hugepagesUnavailable } from '../dpdk/hugepages.js';
import { ovsBridge, OVS_VSWITCHD_DPDK, startOvsDpdk } from '../dpdk/ovs-dpdk.js';
import { planBypass } from './testpmd.js';
import type { Datapath } from './types.js';

/**
 * Kernel bypass through Open vSwitch's DPDK datapath (seed 001's OVS-DPDK): the testpmd datapath's two
 * containers and DPDK engines, with OVS-DPDK switching between their vhost-user ports (a netdev bridge,
 * MAC learning: the engines' MACs are fixed and known to each other). OVS's PMD thread polls the last
 * CPU; the engines share the first and yield.
 */
export const ovsDpdk: Datapath = {
  name: 'ovs-dpdk',
  description: "Open vSwitch's DPDK datapath as the switch: each container's DPDK engine on a dpdkvhostuserclient port of a netdev bridge",
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['switch-cpu'],
  tools: [
    { tool: OVS_VSWITCHD_DPDK, package: 'openvswitch-switch-dpdk' },
    ...['ovsdb-tool', 'ovsdb-server', 'ovs-vsctl'].map((tool) => ({ tool, package: 'openvswitch-switch' })),
  ],
  refuse: ({ pairs = 1 }) =>
    hugepagesUnavailable() ??
    (!existsSync(OVS_VSWITCHD_DPDK) ? `OVS's DPDK build (${OVS_VSWITCHD_DPDK}) is not installed: apt-get install openvswitch-switch-dpdk (scripts/setup.sh does; the host's ovs-vswitchd alternative stays as it is)` : null) ??
    (pairs > 1 ? 'one client/server pair for now' : null),
  plan: (ctx) => planBypass('ovs-dpdk', ctx, (c, s, plan) => `${c} [virtio-user] ═vhost-user═ OVS-DPDK ${ovsBridge(plan)} (netdev, PMD on CPU ${plan.switchCpus.join(',')})@${plan.node} ═vhost-user═ [virtio-user] ${s}`),
  attach: (t, ctx) => startOvsDpdk(t, ctx),
};
