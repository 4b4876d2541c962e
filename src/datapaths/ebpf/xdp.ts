import { ownedName } from '../../topology/well-formed.js';
import { BPF_DATAPATH, bpfLoad, pairMac, setVethMacs } from './ebpf.js';
import { addVethContainer, complete, draftTopology, endpointOf, type Pair } from '../nodes.js';
import { pairIps, type Datapath } from '../types.js';

/**
 * The bridge's job done by XDP (engine/bpf/fwd_xdp.bpf.c): each container's veth ends in the node,
 * whose end runs an XDP program that switches frames by destination MAC with bpf_redirect_map into
 * the destination's node-side end. No bridge, no skb and no backlog queue on the node: the frame
 * goes from one veth's NAPI poll straight into the other veth's ring. Broadcasts (ARP) are flooded
 * to the other ports. The plan gives every end its MAC, so the MAC table is filled before traffic.
 *
 * What it sets, and why: an XDP_PASS program on each container's end (a veth accepts redirected
 * frames only when its peer runs XDP or has GRO on), and TX checksum offload off on every end
 * (frames leave the skb world at the node's XDP hook, so a checksum left for "the device" to fill
 * would arrive unfilled: the sender's stack computes it instead).
 */
export const xdp: Datapath = {
  name: 'xdp',
  description:
    'container veths whose node-side ends switch by MAC in XDP (bpf_redirect_map into a DEVMAP): no bridge; ' +
    'sets XDP_PASS on container ends, TX checksum offload off',
  noVm: 'its BPF programs redirect between veths by ifindex: a tap is not one',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  ...BPF_DATAPATH,
  // it switches by MAC: IPv6 as IPv4, neighbour solicitations (multicast) flooded as ARP is
  ipv6: true,
  plan(ctx) {
    const { runId, pairs = 1 } = ctx;
    const t = draftTopology(runId, 'xdp');
    const node = ownedName(runId, 'n');
    t.namespaces.push({ name: node, role: 'node' });
    const load = bpfLoad(ctx, node, 'fwd_xdp');
    const out: Pair[] = [];
    let summary = '';
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const end = (side: 'c' | 's', addr: string) => {
        const e = addVethContainer(t, runId, i, side, node, `${addr}/16`, 'x');
        const mac = pairMac(i, side, true);
        setVethMacs(t, e.netns, e.dev, mac, pairMac(i, side, false));
        load.requests.push(
          ['xdp', node, e.peer, 'xdp_fwd'],
          ['xdp', e.netns, e.dev, 'xdp_peer'],
          ['port', node, e.peer],
          ['fdb', node, mac, e.peer],
        );
        return e;
      };
      const c = end('c', ip.client);
      const s = end('s', ip.server);
      out.push({ client: endpointOf(c), server: endpointOf(s) });
      if (i === 0)
        summary =
          `${c.netns} ` + `[${c.dev}] ═veth═ [${c.peer}] XDP redirect@${node} [${s.peer}] ═veth═ [${s.dev}] ${s.netns}`;
    }
    t.bpf = [load];
    t.offload = { tx: 'off' };
    t.xdpUnsupported =
      'the xdp datapath runs its own XDP program on every container end (a veth takes redirected frames ' +
      'only then): an AF_XDP receiver needs that hook for its own';
    return complete(t, out, summary);
  },
};
