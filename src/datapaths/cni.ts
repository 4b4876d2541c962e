import { ownedName, type Topology } from '../topology/model.js';
import { pairSuffix, type Datapath } from './types.js';

/**
 * Real CNI plugins, run the way a container runtime runs them (src/cni/): the containers are
 * namespaces of the run, the plugins run inside a simulated node (its namespace has a NIC named eth0
 * for plugins that need a master: macvlan, ipvlan), and the addresses the plugins return become the
 * endpoints. Everything the plugins create on their "host" side lives in the node's namespace; the
 * IPAM state of host-local goes to the run's directory unless the configuration names a dataDir.
 */
export const cni: Datapath = {
  name: 'cni',
  description: 'containers wired by real CNI plugins (--cni-config FILE), the way a container runtime does',
  placements: ['same-node'],
  takes: ['cni-config'],
  refuse(ctx) {
    return ctx.cni ? null : 'the cni datapath needs --cni-config FILE (a .conflist or .conf; examples in experiments/cni/)';
  },
  plan(ctx) {
    const { runId, pairs = 1 } = ctx;
    const network = ctx.cni!;
    const node = ownedName(runId, 'n');
    const stub = ownedName(runId, 'w');
    const t: Topology = { runId, datapath: 'cni', summary: '', namespaces: [{ name: node, role: 'node' }, { name: stub, role: 'wire' }], links: [], ports: [], addresses: [], endpoints: undefined!, pairs: [] };
    // The node's NIC, as plugins expect one (macvlan/ipvlan masters): eth0 inside the node.
    t.links.push({ kind: 'veth', name: 'eth0', netns: node, peer: ownedName(runId, 'we'), peerNetns: stub });
    const containers: NonNullable<Topology['cni']>['containers'] = [];
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const ends = (side: 'c' | 's') => {
        const netns = ownedName(runId, `${side}${x}`);
        t.namespaces.push({ name: netns, role: side === 'c' ? 'client' : 'server' });
        containers.push({ netns, ifname: 'eth0', containerId: `cnperf-${runId}-${side}${x}` });
        // The address is the plugin's to give: filled in after ADD.
        return { netns, ip: '0.0.0.0', dev: 'eth0' };
      };
      const c = ends('c');
      const s = ends('s');
      t.pairs.push({ client: c, server: s });
    }
    t.cni = { network, node, containers };
    t.endpoints = t.pairs[0]!;
    t.summary = `${t.pairs[0]!.client.netns} [eth0] ═CNI ${network.name}: ${network.plugins.map((p) => p.type).join(' → ')}@${node}═ [eth0] ${t.pairs[0]!.server.netns}${pairs > 1 ? ` (×${pairs} pairs)` : ''}`;
    t.rawUnsupported = 'raw frames need the next hop\'s MAC, which a CNI network decides: use send, sendmmsg or tcp';
    return t;
  },
};
