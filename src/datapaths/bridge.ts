import { ownedName } from '../topology/well-formed.js';
import { addNetfilter } from './netfilter.js';
import { addServices } from './service.js';
import { addNodes, addVethContainer, complete, draftTopology, endpointOf, type Pair } from './nodes.js';
import { pairIps, type Datapath } from './types.js';

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
  defaultPlacement: 'same-node',
  takes: ['netfilter', 'service-proxy', 'vm-endpoint'],
  ipv6: true,
  plan(ctx) {
    const { runId, pairs = 1, placement = 'same-node' } = ctx;
    const t = draftTopology(runId, 'bridge');
    let nodes: Array<{ netns: string; tag: string }>;
    const bridgeOf = (n: { tag: string }) => ownedName(runId, n.tag ? `b${n.tag}` : 'br');
    if (placement === 'cross-node') {
      const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric);
      nodes = [a, b];
      for (const n of [a, b]) {
        t.links.push({ kind: 'bridge', name: bridgeOf(n), netns: n.netns });
        t.ports.push({ netns: n.netns, dev: n.nic, master: bridgeOf(n) });
      }
      // The NICs are bridge ports: their underlay addresses would only confuse; layer 2 is enough.
      t.addresses = [];
    } else {
      const node = ownedName(runId, 'n');
      t.namespaces.push({ name: node, role: 'node' });
      t.links.push({ kind: 'bridge', name: bridgeOf({ tag: '' }), netns: node });
      nodes = [
        { netns: node, tag: '' },
        { netns: node, tag: '' },
      ];
    }
    const out: Pair[] = [];
    let summary = '';
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const ends = (side: 'c' | 's', addr: string, node: { netns: string; tag: string }) => {
        const e = addVethContainer(t, runId, i, side, node.netns, `${addr}/16`, 'b');
        t.ports.push({ netns: node.netns, dev: e.peer, master: bridgeOf(node) });
        return e;
      };
      const c = ends('c', ip.client, nodes[0]!);
      const s = ends('s', ip.server, nodes[1]!);
      out.push({ client: endpointOf(c), server: endpointOf(s) });
      if (i === 0) {
        summary =
          placement === 'cross-node'
            ? `${c.netns} ═veth═ ` +
              `${bridgeOf(nodes[0]!)}@` +
              `${nodes[0]!.netns} ─wire─ ${bridgeOf(nodes[1]!)}@${nodes[1]!.netns} ═veth═ ${s.netns}`
            : `${c.netns} ` +
              `[${c.dev}] ═veth═ ` +
              `[${c.peer}] ${bridgeOf(nodes[0]!)}@${nodes[0]!.netns} [${s.peer}] ═veth═ [${s.dev}] ${s.netns}`;
      }
    }
    if (ctx.netfilter) addNetfilter(t, ctx.netfilter, true, ctx.ip ?? 4);
    if (ctx.service) {
      // The bridge of each node becomes the containers' gateway (as the CNI bridge plugin's isGateway
      // does): the client routes the Service range to its node, which DNATs and forwards.
      const distinct = nodes.filter((n, i) => nodes.findIndex((m) => m.netns === n.netns) === i);
      const gateways = distinct.map((n, i) => ({
        netns: n.netns,
        dev: bridgeOf(n),
        cidr: `198.18.255.${254 - i}/16`,
        clients: i === 0 ? out.map((p) => ({ netns: p.client.netns, dev: p.client.dev })) : [],
      }));
      addServices(t, out[0]!.server, ctx.service, true, gateways, ctx.ip ?? 4);
    }
    return complete(t, out, summary);
  },
};
