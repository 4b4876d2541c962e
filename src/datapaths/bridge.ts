import { ownedName, type Topology } from '../topology/model.js';
import { addNetfilter } from './netfilter.js';
import { addNodes } from './nodes.js';
import { pairIps, pairSuffix, type Datapath } from './types.js';

/**
 * What docker0, the CNI bridge plugin and Weave Net's same-node path build: each container's veth
 * ends on a Linux bridge in the node's namespace, so a packet crosses two veth pairs and the
 * bridge (seed 000, Figure 2 right). With several pairs, every container hangs off the same bridge,
 * in one layer-2 segment (a /16 of the benchmarking range). Cross-node (seed 004's "switched"): each
 * node has its bridge with its NIC enslaved, and the wire joins the two bridges into one segment.
 */
export const bridge: Datapath = {
  name: 'bridge',
  description: 'two namespaces, each with a veth to a Linux bridge in a third (node) namespace',
  placements: ['same-node', 'cross-node'],
  takes: ['netfilter'],
  plan(ctx) {
    const { runId, pairs = 1, placement = 'same-node' } = ctx;
    const t: Topology = { runId, datapath: 'bridge', summary: '', namespaces: [], links: [], ports: [], addresses: [], endpoints: undefined!, pairs: [] };
    let nodes: Array<{ netns: string; tag: string }>;
    if (placement === 'cross-node') {
      const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric);
      nodes = [a, b];
      for (const n of [a, b]) {
        const br = ownedName(runId, n.tag ? `b${n.tag}` : 'br');
        t.links.push({ kind: 'bridge', name: br, netns: n.netns });
        t.ports.push({ netns: n.netns, dev: n.nic, master: br });
      }
      // The NICs are bridge ports: their underlay addresses would only confuse; layer 2 is enough.
      t.addresses = [];
    } else {
      const node = ownedName(runId, 'n');
      t.namespaces.push({ name: node, role: 'node' });
      t.links.push({ kind: 'bridge', name: ownedName(runId, 'br'), netns: node });
      nodes = [{ netns: node, tag: '' }, { netns: node, tag: '' }];
    }
    const bridgeOf = (n: { tag: string }) => ownedName(runId, n.tag ? `b${n.tag}` : 'br');
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const ip = pairIps(i);
      const ends = (side: 'c' | 's', addr: string, node: { netns: string; tag: string }) => {
        const ns = ownedName(runId, `${side}${x}`);
        const dev = ownedName(runId, i ? `${side}${x}e` : `${side}0`);
        const port = ownedName(runId, `${side}${x}b`);
        t.namespaces.push({ name: ns, role: side === 'c' ? 'client' : 'server' });
        t.links.push({ kind: 'veth', name: dev, netns: ns, peer: port, peerNetns: node.netns });
        t.ports.push({ netns: node.netns, dev: port, master: bridgeOf(node) });
        t.addresses.push({ netns: ns, dev, cidr: `${addr}/16` });
        return { netns: ns, ip: addr, dev, port };
      };
      const c = ends('c', ip.client, nodes[0]!);
      const s = ends('s', ip.server, nodes[1]!);
      t.pairs.push({ client: { netns: c.netns, ip: c.ip, dev: c.dev }, server: { netns: s.netns, ip: s.ip, dev: s.dev } });
      if (i === 0) {
        t.summary =
          placement === 'cross-node'
            ? `${c.netns} ═veth═ ${bridgeOf(nodes[0]!)}@${nodes[0]!.netns} ─wire─ ${bridgeOf(nodes[1]!)}@${nodes[1]!.netns} ═veth═ ${s.netns}`
            : `${c.netns} [${c.dev}] ═veth═ [${c.port}] ${bridgeOf(nodes[0]!)}@${nodes[0]!.netns} [${s.port}] ═veth═ [${s.dev}] ${s.netns}`;
      }
    }
    if (pairs > 1) t.summary += ` (×${pairs} pairs)`;
    t.endpoints = t.pairs[0]!;
    if (ctx.netfilter) addNetfilter(t, ctx.netfilter, true);
    return t;
  },
};
