import { ownedName } from '../topology/model.js';
import { addNodes, emptyTopology } from './nodes.js';
import { type Datapath } from './types.js';

/** VXLAN over IPv4 adds 50 bytes: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD = 50;
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
  placements: ['cross-node'],
  takes: ['variant', 'vni', 'vxlan-port'],
  variants: VXLAN_VARIANTS,
  plansMtu: true,
  refuse: ({ pairs = 1, variant = 'host' }) => (variant === 'host' && pairs > 1 ? 'vxlan --variant host puts the applications on the nodes: one pair only (use --variant bridge for several)' : null),
  plan({ runId, pairs = 1, variant = 'host', vni = 42, vxlanPort = 4789, mtu = 1500, fabric }) {
    const t = emptyTopology(runId, 'vxlan');
    const [a, b] = addNodes(t, runId, 'cross-node', mtu, fabric);
    const inner = mtu - VXLAN_OVERHEAD;
    const vx = (n: typeof a, other: typeof a) => {
      const name = ownedName(runId, n.tag ? `v${n.tag}` : 'vx');
      t.links.push({ kind: 'vxlan', name, netns: n.netns, vni, port: vxlanPort, local: n.underlayIp, remote: other.underlayIp, dev: n.nic, mtu: inner });
      return name;
    };
    const va = vx(a, b);
    const vb = vx(b, a);
    if (variant === 'host') {
      t.addresses.push({ netns: a.netns, dev: va, cidr: '198.18.0.1/24' }, { netns: b.netns, dev: vb, cidr: '198.18.0.2/24' });
      t.endpoints = { client: { netns: a.netns, ip: '198.18.0.1', dev: va }, server: { netns: b.netns, ip: '198.18.0.2', dev: vb } };
      t.pairs = [t.endpoints];
      t.summary = `${a.netns} [${va}, VNI ${vni}] ─udp/${vxlanPort} over wire─ [${vb}] ${b.netns} (inner MTU ${inner})`;
      return t;
    }
    const bridges = [a, b].map((n, k) => {
      const br = ownedName(runId, n.tag ? `b${n.tag}` : 'br');
      t.links.push({ kind: 'bridge', name: br, netns: n.netns, mtu: inner });
      t.ports.push({ netns: n.netns, dev: k === 0 ? va : vb, master: br });
      return br;
    });
    for (let i = 0; i < pairs; i++) {
      const x = i === 0 ? '' : String(i);
      const attach = (side: 'c' | 's', node: typeof a, br: string, addr: string) => {
        const ns = ownedName(runId, `${side}${x}`);
        const dev = ownedName(runId, i ? `${side}${x}e` : `${side}0`);
        const port = ownedName(runId, `${side}${x}b`);
        t.namespaces.push({ name: ns, role: side === 'c' ? 'client' : 'server' });
        t.links.push({ kind: 'veth', name: dev, netns: ns, peer: port, peerNetns: node.netns, mtu: inner });
        t.ports.push({ netns: node.netns, dev: port, master: br });
        t.addresses.push({ netns: ns, dev, cidr: `${addr}/16` });
        return { netns: ns, ip: addr, dev };
      };
      const c = attach('c', a, bridges[0]!, `198.18.${i}.1`);
      const s = attach('s', b, bridges[1]!, `198.18.${i}.2`);
      t.pairs.push({ client: c, server: s });
    }
    t.endpoints = t.pairs[0]!;
    t.summary = `${t.endpoints.client.netns} ═veth═ ${bridges[0]}+${va}@${a.netns} ─udp/${vxlanPort} VNI ${vni} over wire─ ${vb}+${bridges[1]}@${b.netns} ═veth═ ${t.endpoints.server.netns} (inner MTU ${inner})${pairs > 1 ? ` (×${pairs} pairs)` : ''}`;
    return t;
  },
};
