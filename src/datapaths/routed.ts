import { addNetfilter } from './netfilter.js';
import { addServices } from './service.js';
import { addNodes, addVethContainer, complete, draftTopology, endpointOf, type Pair } from './nodes.js';
import { pairIps, type Datapath } from './types.js';

/** The gateway every container routes through, on the node's end of its veth (ptp plugin, Calico). */
export const GATEWAY = '169.254.1.1';
/** Over IPv6 a link-local one (Calico's is fe80::ecee:eeff:feee:eeee): the same on every node-side veth. */
export const GATEWAY6 = 'fe80::1';

/**
 * Layer-3 container networking, the way the CNI ptp plugin and Calico do it: each container's veth
 * ends in the node's namespace; the container has a /32 and a default route to a link-local gateway
 * that lives on the node's end of its veth; the node has a host route per container and forwards.
 * Cross-node, each node routes the other node's containers over the wire.
 */
export const routed: Datapath = {
  name: 'routed',
  description: 'each container veth ends in the node; /32 host routes, node forwards at layer 3 (ptp, Calico)',
  placements: ['same-node', 'cross-node'],
  defaultPlacement: 'same-node',
  takes: ['netfilter', 'service-proxy', 'vm-endpoint', 'hosts'],
  // its addresses and routes have twins but the gateway, which it plans link-local itself over IPv6
  ipv6: true,
  plan(ctx) {
    const { runId, pairs = 1, placement = 'same-node' } = ctx;
    const t = draftTopology(runId, 'routed');
    const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric, ctx.hosts);
    for (const n of placement === 'cross-node' ? [a, b] : [a])
      t.sysctls!.push({ netns: n.netns, key: 'net.ipv4.ip_forward', value: '1' });
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const attach = (side: 'c' | 's', addr: string, node: typeof a) => {
        const e = addVethContainer(t, runId, i, side, node.netns, `${addr}/32`, 'v');
        const gateway = ctx.ip === 6 ? GATEWAY6 : GATEWAY;
        t.addresses.push({ netns: node.netns, dev: e.peer, cidr: `${gateway}/${ctx.ip === 6 ? 64 : 32}` });
        t.routes!.push(
          { netns: e.netns, dst: 'default', via: gateway, dev: e.dev, onlink: true },
          { netns: node.netns, dst: `${addr}/32`, dev: e.peer },
        );
        return e;
      };
      const c = attach('c', ip.client, a);
      const s = attach('s', ip.server, b);
      if (placement === 'cross-node') {
        t.routes!.push(
          { netns: a.netns, dst: `${ip.server}/32`, via: b.underlayIp, dev: a.nic },
          { netns: b.netns, dst: `${ip.client}/32`, via: a.underlayIp, dev: b.nic },
        );
      }
      out.push({ client: endpointOf(c), server: endpointOf(s) });
    }
    // The client's next hop is the node, not the server: frames addressed to the server's MAC go nowhere.
    if (ctx.netfilter) addNetfilter(t, ctx.netfilter, false, ctx.ip ?? 4);
    // The containers' default route already leads to their node, where the Service's rules are.
    if (ctx.service) addServices(t, out[0]!.server, ctx.service, false, [], ctx.ip ?? 4);
    t.rawUnsupported =
      "routed: the next hop is the node, and cnperf addresses raw frames to the server's MAC; use veth, " +
      'bridge or macvlan';
    const { client, server } = out[0]!;
    const summary =
      placement === 'cross-node'
        ? `${client.netns} ═veth═ ` +
          `${a.netns} (routes) ` +
          `─${ctx.hosts?.length ? `${a.nic}: network` : 'wire'}─ ${b.netns} (routes) ═veth═ ${server.netns}`
        : `${client.netns} ═veth═ ${a.netns} (routes, forwards) ═veth═ ${server.netns}`;
    return complete(t, out, summary);
  },
};
