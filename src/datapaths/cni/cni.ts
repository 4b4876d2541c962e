import { attachCni } from './attach.js';
import { CNI_PART, type CniPlan } from './cni-plan.js';
import { readNetworkConfig } from './config.js';
import { remotePlugins } from './cni-remote.js';
import { findPlugin } from './plugin.js';
import { ownedName } from '../../topology/well-formed.js';
import { addNodes, complete, draftTopology, nicTakeoverRefusal, type Pair } from '../nodes.js';
import { ownOptions, pairSuffix, type Datapath } from '../types.js';

/**
 * Real CNI plugins, run the way a container runtime runs them (src/datapaths/cni/): the containers are
 * namespaces of the run, the plugins run inside a simulated node (its namespace has a NIC named eth0
 * for plugins that need a master: macvlan, ipvlan), and the addresses the plugins return become the
 * endpoints. Everything the plugins create on their "host" side lives in the node's namespace; the
 * IPAM state of host-local goes to the run's directory unless the configuration names a dataDir.
 */
export const cni: Datapath = {
  name: 'cni',
  description: 'containers wired by real CNI plugins (--cni-config FILE), the way a container runtime does',
  noVm: "the CNI plugins make the endpoints' interfaces themselves, inside namespaces",
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['cni-config', 'hosts'],
  // the plugins give the addresses: over IPv6 those of the configuration's IPv6 range (its own to choose)
  ipv6: true,
  kernelFailures: [
    {
      match: /plugin 'ipvlan' failed.*failed to create ipvlan: operation not supported/s,
      meaning: 'this kernel has no ipvlan (CONFIG_IPVLAN), which the CNI ipvlan plugin needs',
    },
  ],
  readOptions(option) {
    const file = option('cni-config');
    return typeof file === 'string' ? readNetworkConfig(file) : undefined;
  },
  refuse(ctx) {
    const network = networkOf(ctx);
    if (!network)
      return 'the cni datapath needs --cni-config FILE (a .conflist or .conf; examples in experiments/cni/)';
    // on a real host the plugins act on the host itself: none may take over the NIC it is reached by
    const hosts = ctx.hosts ?? [];
    for (const p of hosts.length ? network.plugins : []) {
      const nic = hosts[0]!.nic;
      if (p.type === 'host-device' && (p.device === undefined || p.device === nic))
        return nicTakeoverRefusal(hosts, 1, `the host-device plugin (device ${String(p.device ?? 'unnamed')})`);
      if (p.type === 'host-device')
        return (
          `the host-device plugin would move host ` +
          `${hosts[0]!.name}'s device ` +
          `${String(p.device)} into a container: cnperf checks only the inventory's interface: ` +
          `(${nic}) for the host's address — name that device there`
        );
      if (p.type === 'macvlan' && p.mode === 'passthru' && (p.master === undefined || p.master === nic))
        return nicTakeoverRefusal(hosts, 1, 'the macvlan plugin in passthru mode');
      if (p.type === 'macvlan' && p.mode === 'passthru')
        return (
          `the macvlan plugin in passthru mode takes over host ` +
          `${hosts[0]!.name}'s ` +
          `${String(p.master)}: cnperf checks only the inventory's interface: ` +
          `(${nic}) for the host's address — use that NIC as master`
        );
    }
    return null;
  },
  plan(ctx) {
    const { runId, pairs = 1 } = ctx;
    const network = networkOf(ctx)!;
    const t = draftTopology(runId, 'cni');
    let node = ownedName(runId, 'n');
    if (ctx.hosts?.length) {
      // on a real host the plugins run in the host's own namespace, as its container runtime runs them
      node = addNodes(t, runId, 'same-node', undefined, undefined, ctx.hosts)[0].netns;
    } else {
      const stub = ownedName(runId, 'w');
      t.namespaces.push({ name: node, role: 'node' }, { name: stub, role: 'wire' });
      // The node's NIC, as plugins expect one (macvlan/ipvlan masters): eth0 inside the node.
      t.links.push({ kind: 'veth', name: 'eth0', netns: node, peer: ownedName(runId, 'we'), peerNetns: stub });
    }
    const containers: Array<{ netns: string; ifname: string; containerId: string }> = [];
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const ends = (side: 'c' | 's') => {
        const netns = ownedName(runId, `${side}${x}`);
        t.namespaces.push({ name: netns, role: side === 'c' ? 'client' : 'server' });
        containers.push({ netns, ifname: 'eth0', containerId: `cnperf-${runId}-${side}${x}` });
        // The address is the plugin's to give: filled in by attach, after ADD (of the family measured).
        return { netns, ip: ctx.ip === 6 ? '::' : '0.0.0.0', dev: 'eth0', devFrom: 'attach' as const };
      };
      out.push({ client: ends('c'), server: ends('s') });
    }
    CNI_PART.set(t, { network, node, containers });
    t.rawUnsupported = "raw frames need the next hop's MAC, which a CNI network decides: use send, sendmmsg or tcp";
    const { client, server } = out[0]!;
    return complete(
      t,
      out,
      `${client.netns} [eth0] ═CNI ` +
        `${network.name}: ${network.plugins.map((p) => p.type).join(' → ')}@${node}═ [eth0] ${server.netns}`,
    );
  },
  attach: (t, { journal, runDir, host }) =>
    attachCni(t, runDir, journal, host ? remotePlugins(host.run, host.name) : undefined),
  // Built from the user's own configuration: what can be checked without one is the plugins.
  doctor: () => `plugins in ${findPlugin('bridge').replace(/\/bridge$/, '')}`,
  // the containers are wired by the plugins, which run in the node: they are on its host
  colocated: (t) => (CNI_PART.of(t)?.containers ?? []).map((c): [string, string] => [c.netns, CNI_PART.of(t)!.node]),
  readiness(t) {
    const plan = CNI_PART.of(t)!;
    return {
      // the plugins made the containers' interfaces and the node's bridge ports: wait for all of them
      conditions: [
        ...plan.containers.map((c) => ({ op: 'wait-carrier' as const, netns: c.netns, dev: c.ifname })),
        { op: 'wait-ports', netns: plan.node },
      ],
      // in a host's own namespace, only the network's bridges count (the host has bridges of its own)
      ...(t.namespaces.find((n) => n.name === plan.node)?.root
        ? {
            bridges: plan.network.plugins
              .filter((p) => p.type === 'bridge')
              .map((p) => (typeof p.bridge === 'string' ? p.bridge : 'cni0')),
          }
        : {}),
    };
  },
  // tracepoints name devices: those the plugins name (eth0, veth*, the network's bridges)
  probeTargets: (t) => ({
    traceDevices: [
      'eth0',
      'veth*',
      ...CNI_PART.of(t)!
        .network.plugins.map((p) => p.bridge)
        .filter((b): b is string => typeof b === 'string'),
    ],
  }),
};

/** The network configuration --cni-config gave (read by readOptions). */
function networkOf(ctx: { own?: Record<string, unknown> }): CniPlan['network'] | undefined {
  return ownOptions<CniPlan['network']>(ctx, 'cni');
}
