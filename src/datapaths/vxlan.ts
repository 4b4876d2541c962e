import { ownedName } from '../topology/well-formed.js';
import { addNodes, addVethContainer, complete, draftTopology, endpointOf, type Pair } from './nodes.js';
import { PREFIX, pairIps, type Datapath } from './types.js';
import { addServices } from './service.js';

/** VXLAN over IPv4 adds 50 bytes: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;
/** Over an IPv6 underlay 70: the outer IP header is 40 bytes. */
export const VXLAN6_OVERHEAD = 70;
export const VXLAN_VARIANTS = ['host', 'bridge'] as const;

/**
 * An overlay across two simulated nodes (seed 002). `host`: a VXLAN device in each node, the
 * applications in the node namespaces ("Linux overlay"). `bridge`: Docker's overlay — container veth
 * → bridge → VXLAN device → node NIC → wire → the same on the other node. The inner MTU is the
 * underlay's minus the encapsulation.
 */
export const vxlan: Datapath = {
  name: 'vxlan',
  description: 'an overlay between two nodes (--variant host: apps on the nodes; bridge: Docker overlay)',
  noVm: (ctx) =>
    (ctx.variant ?? 'host') !== 'bridge'
      ? 'with --variant host the endpoints are the nodes themselves, which carry the VXLAN device; ' +
        '--variant bridge puts them behind a bridge, where a tap can take their place'
      : null,
  placements: ['cross-node'],
  defaultPlacement: 'cross-node',
  kernelFailures: [{ match: /type vxlan.*Unknown device type/s, meaning: 'this kernel has no VXLAN (CONFIG_VXLAN)' }],
  takes: ['variant', 'vni', 'vxlan-port', 'underlay', 'service-proxy', 'vm-endpoint', 'hosts'],
  variants: VXLAN_VARIANTS,
  plansMtu: true,
  refuse: ({ pairs = 1, variant = 'host', service, hosts, mtu }) =>
    hosts?.length && mtu !== undefined
      ? "vxlan over real hosts (--hosts) runs on their NICs, whose MTU sets the overlay's: --mtu is not taken"
      : variant === 'host' && pairs > 1
        ? 'vxlan --variant host puts the applications on the nodes: one pair only (use --variant bridge for several)'
        : variant === 'host' && service && service.proxy !== 'none'
          ? 'vxlan --variant host puts the applications on the nodes, with no pod network for a Service to ' +
            'front: use --variant bridge with --service-proxy'
          : null,
  // --ip 6: overlay and underlay both IPv6 (the underlay's addresses and the tunnel's ends by their twins);
  // --underlay sets the underlay's family apart (an IPv6 overlay over IPv4, or the reverse)
  ipv6: true,
  plan({
    runId,
    pairs = 1,
    variant = 'host',
    vni = 42,
    vxlanPort = 4789,
    mtu: given,
    fabric,
    service,
    hosts,
    ip,
    underlay = ip ?? 4,
  }) {
    const t = draftTopology(runId, 'vxlan');
    // over real hosts, the underlay is their NICs: the smaller MTU of the two carries the overlay
    const mtu = hosts?.length ? Math.min(...hosts.slice(0, 2).map((h) => h.mtu)) : (given ?? 1500);
    const [a, b] = addNodes(t, runId, 'cross-node', hosts?.length ? undefined : mtu, fabric, hosts);
    const inner = mtu - (underlay === 6 ? VXLAN6_OVERHEAD : VXLAN_OVERHEAD);
    const vx = (n: typeof a, other: typeof a) => {
      const name = ownedName(runId, n.tag ? `v${n.tag}` : 'vx');
      t.links.push({
        kind: 'vxlan',
        name,
        netns: n.netns,
        vni,
        port: vxlanPort,
        local: n.underlayIp,
        remote: other.underlayIp,
        dev: n.nic,
        mtu: inner,
      });
      return name;
    };
    const va = vx(a, b);
    const vb = vx(b, a);
    if (variant === 'host') {
      const ip = pairIps(0);
      t.addresses.push(
        { netns: a.netns, dev: va, cidr: `${ip.client}/${PREFIX}` },
        { netns: b.netns, dev: vb, cidr: `${ip.server}/${PREFIX}` },
      );
      const pair = {
        client: { netns: a.netns, ip: ip.client, dev: va },
        server: { netns: b.netns, ip: ip.server, dev: vb },
      };
      return complete(
        t,
        [pair],
        `${a.netns} [` +
          `${va}, VNI ` +
          `${vni}] ` +
          `─udp/${vxlanPort} over ${hosts?.length ? a.nic : 'wire'}─ [${vb}] ${b.netns} (inner MTU ${inner})`,
      );
    }
    const bridges = [a, b].map((n, k) => {
      const br = ownedName(runId, n.tag ? `b${n.tag}` : 'br');
      t.links.push({ kind: 'bridge', name: br, netns: n.netns, mtu: inner });
      t.ports.push({ netns: n.netns, dev: k === 0 ? va : vb, master: br });
      return br;
    });
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const attach = (side: 'c' | 's', node: typeof a, br: string, addr: string) => {
        const e = addVethContainer(t, runId, i, side, node.netns, `${addr}/16`, 'b', inner);
        t.ports.push({ netns: node.netns, dev: e.peer, master: br });
        return endpointOf(e);
      };
      out.push({ client: attach('c', a, bridges[0]!, ip.client), server: attach('s', b, bridges[1]!, ip.server) });
    }
    if (service) {
      // as on the bridge datapath: each node's bridge is its containers' gateway; the client's node DNATs
      const gateways = [a, b].map((n, k) => ({
        netns: n.netns,
        dev: bridges[k]!,
        cidr: `198.18.255.${254 - k}/16`,
        clients: k === 0 ? out.map((p) => ({ netns: p.client.netns, dev: p.client.dev })) : [],
      }));
      addServices(t, out[0]!.server, service, true, gateways, ip ?? 4);
    }
    const { client, server } = out[0]!;
    return complete(
      t,
      out,
      `${client.netns} ═veth═ ` +
        `${bridges[0]}+${va}@` +
        `${a.netns} ─udp/${vxlanPort} VNI ` +
        `${vni} over ${hosts?.length ? a.nic : 'wire'}─ ` +
        `${vb}+${bridges[1]}@${b.netns} ═veth═ ${server.netns} (inner MTU ${inner})`,
    );
  },
};
