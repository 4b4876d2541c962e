import { existsSync } from 'node:fs';
import { ovsBridge, OVS_VSWITCHD_DPDK, startOvsDpdk } from './ovs-dpdk-switch.js';
import { BYPASS_HOOKS } from './bypass.js';
import { bypassRefusal, planBypass } from './testpmd.js';
import type { Datapath } from '../types.js';
import { installHint } from '../../tools/table.js';

/**
 * Kernel bypass through Open vSwitch's DPDK datapath (seed 001's OVS-DPDK): the testpmd datapath's
 * containers and DPDK engines, with OVS-DPDK switching between their vhost-user ports (a netdev bridge,
 * MAC learning: the engines' MACs are fixed, distinct per pair, and known to each other). OVS's PMD thread polls the
 * last
 * CPU; the engines share the first and yield.
 */
export const ovsDpdk: Datapath = {
  name: 'ovs-dpdk',
  description:
    "Open vSwitch's DPDK datapath as the switch: each container's DPDK engine on a dpdkvhostuserclient port " +
    'of a netdev bridge',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['switch-cpu'],
  tools: [OVS_VSWITCHD_DPDK, 'ovsdb-tool', 'ovsdb-server', 'ovs-vsctl'],
  // the engines build IPv6 frames as IPv4 ones; the bridge's NORMAL action switches either by MAC
  ipv6: true,
  refuse: (ctx) =>
    (!existsSync(OVS_VSWITCHD_DPDK)
      ? `OVS's DPDK build ` +
        `(${OVS_VSWITCHD_DPDK}) is not installed: ` +
        `${installHint(OVS_VSWITCHD_DPDK)} (scripts/setup.sh does; the host's ovs-vswitchd alternative ` +
        `stays as it is)`
      : null) ?? bypassRefusal(ctx),
  plan: (ctx) =>
    planBypass(
      'ovs-dpdk',
      ctx,
      (c, s, plan) =>
        `${c} [virtio-user] ═vhost-user═ OVS-DPDK ` +
        `${ovsBridge(plan)} (netdev, PMD on CPU ` +
        `${plan.switchCpus.join(',')})@${plan.node} ═vhost-user═ [virtio-user] ${s}`,
    ),
  attach: (t, ctx) => startOvsDpdk(t, ctx),
  ...BYPASS_HOOKS,
};
