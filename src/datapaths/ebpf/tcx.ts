import { BPF_DATAPATH, bpfLoad, pairMac, setVethMacs } from './ebpf.js';
import { addNodes, addVethContainer, complete, draftTopology, endpointOf, type Pair } from '../nodes.js';
import { GATEWAY, GATEWAY6 } from '../routed.js';
import { ipv6Twin } from '../../topology/family.js';
import { pairIps, type Datapath } from '../types.js';

/**
 * Cilium's host routing (engine/bpf/fwd_tc.bpf.c): containers are wired as in `routed` (a /32, a
 * default route to a link-local gateway on the node's end of their veth), but the node neither
 * forwards nor holds routes to them. A program at the tcx ingress of every node-side end looks the
 * destination up and hands the packet with bpf_redirect_peer straight to the destination
 * container's own end, in its namespace: one pass through a network stack on the way instead of
 * the bridge's two. Across nodes, the egress side uses bpf_redirect_neigh towards the other node's
 * underlay address and that node's NIC ingress redirects to the container's peer (native routing).
 * On kernels before 6.6 (no tcx) the programs sit at a clsact qdisc's ingress.
 *
 * Over IPv6 (--ip 6) the programs look the destination up in their IPv6 table; the containers' gateway
 * is link-local (fe80::1, answered by the node's stack as its ARP is), and across nodes each NIC has a
 * link-local address of its own: the kernel solicits bpf_redirect_neigh's next hop from it.
 */
export const tcx: Datapath = {
  name: 'tcx',
  description:
    'routed container veths, forwarded by a tcx ingress program with bpf_redirect_peer (and ' +
    'bpf_redirect_neigh across nodes), as Cilium does; no ip_forward',
  noVm: 'bpf_redirect_peer needs a veth peer: a tap has none',
  placements: ['same-node', 'cross-node'],
  defaultPlacement: 'same-node',
  ...BPF_DATAPATH,
  ipv6: true,
  plan(ctx) {
    const { runId, pairs = 1, placement = 'same-node' } = ctx;
    const v6 = ctx.ip === 6;
    // the programs' tables are filled with the addresses of the family measured (the plan's are
    // carried over by the planner, these requests are the datapath's own)
    const inFamily = (ip: string) => (v6 ? ipv6Twin(ip)! : ip);
    const gateway = v6 ? GATEWAY6 : GATEWAY;
    const t = draftTopology(runId, 'tcx');
    const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric);
    const cross = placement === 'cross-node';
    const loadA = bpfLoad(ctx, a.netns, 'fwd_tc');
    const loadB = cross ? bpfLoad(ctx, b.netns, 'fwd_tc') : loadA;
    if (cross)
      for (const [n, load] of [
        [a, loadA],
        [b, loadB],
      ] as const)
        load.requests.push(['tc', n.netns, n.nic, 'tc_fwd']);
    if (cross && v6)
      for (const [k, n] of [a, b].entries())
        t.addresses.push({ netns: n.netns, dev: n.nic, cidr: `fe80::b:${k + 1}/64` });
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const end = (side: 'c' | 's', addr: string, node: typeof a, load: typeof loadA) => {
        const e = addVethContainer(t, runId, i, side, node.netns, `${addr}/32`, 'v');
        const [mac, nodeMac] = [pairMac(i, side, true), pairMac(i, side, false)];
        setVethMacs(t, e.netns, e.dev, mac, nodeMac);
        t.addresses.push({ netns: node.netns, dev: e.peer, cidr: `${gateway}/${v6 ? 64 : 32}` });
        t.routes!.push({ netns: e.netns, dst: 'default', via: gateway, dev: e.dev, onlink: true });
        load.requests.push(
          ['tc', node.netns, e.peer, 'tc_fwd'],
          ['local', node.netns, inFamily(addr), e.peer, mac, nodeMac],
        );
        return e;
      };
      const c = end('c', ip.client, a, loadA);
      const s = end('s', ip.server, b, loadB);
      if (cross)
        (loadA.requests.push(['remote', a.netns, inFamily(ip.server), a.nic, inFamily(b.underlayIp)]),
          loadB.requests.push(['remote', b.netns, inFamily(ip.client), b.nic, inFamily(a.underlayIp)]));
      out.push({ client: endpointOf(c), server: endpointOf(s) });
    }
    t.bpf = cross ? [loadA, loadB] : [loadA];
    // (Generic-mode XDP would see them: it runs again for the peer; the engine attaches natively.)
    t.xdpUnsupported =
      "bpf_redirect_peer hands packets to the container's device past its native XDP hook (the veth's NAPI " +
      "poll), where the engine's AF_XDP program runs: it would see none";
    const { client, server } = out[0]!;
    const summary = cross
      ? `${client.netns} ═veth═ tcx@${a.netns} ─redirect_neigh─ wire ─tcx@${b.netns} redirect_peer═ ${server.netns}`
      : `${client.netns} ═veth═ tcx@${a.netns} ─redirect_peer═ ${server.netns}`;
    return complete(t, out, summary);
  },
};
