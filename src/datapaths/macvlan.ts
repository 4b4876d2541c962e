import { type IpvlanMode, type MacvlanMode } from '../topology/model.js';
import { ownedName } from '../topology/well-formed.js';
import { addNodes, complete, draftTopology, nicTakeoverRefusal, type Pair } from './nodes.js';
import { pairIps, pairSuffix, type Datapath, type PlanContext } from './types.js';

export const MACVLAN_MODES: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];
export const IPVLAN_MODES: readonly IpvlanMode[] = ['l2', 'l3', 'l3s'];

/** Why a macvlan mode cannot carry traffic between two containers of one node, by design. */
function macvlanRefuse({ placement = 'same-node', mode = 'bridge', pairs = 1, hosts }: PlanContext): string | null {
  if (mode === 'passthru' && hosts?.length) {
    const takeover = nicTakeoverRefusal(hosts, placement === 'cross-node' ? 2 : 1, 'macvlan --mode passthru');
    if (takeover) return takeover;
  }
  if (placement !== 'same-node')
    return mode === 'passthru' && pairs > 1
      ? 'macvlan passthru takes one macvlan per lower device: one pair only'
      : null;
  const why: Record<string, string | undefined> = {
    private: 'macvlan private mode forbids traffic between macvlans of one lower device',
    vepa:
      'macvlan vepa mode sends local traffic to the external switch, which must reflect it (hairpin); ' +
      'the wire of a simulated node does not',
    passthru: 'macvlan passthru mode allows one macvlan per lower device, and two containers need two',
  };
  const reason = why[mode];
  return reason ? `${reason}: use --placement cross-node, or --mode bridge` : null;
}

/**
 * Containers with macvlan (or ipvlan) devices on their node's NIC (seed 004): no veth, no bridge.
 * Same-node, both share node 0's NIC; cross-node, each sits on its node's NIC and the wire joins them.
 */
function plan(kind: 'macvlan' | 'ipvlan', ctx: PlanContext) {
  const { runId, pairs = 1, placement = 'same-node' } = ctx;
  const mode = (ctx.mode ?? (kind === 'macvlan' ? 'bridge' : 'l2')) as MacvlanMode & IpvlanMode;
  const t = draftTopology(runId, kind);
  const out: Pair[] = [];
  let summary = '';
  const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric, ctx.hosts);
  const letter = kind === 'macvlan' ? 'm' : 'i';
  for (let i = 0; i < pairs; i++) {
    const x = pairSuffix(i);
    const ip = pairIps(i);
    const attach = (side: 'c' | 's', addr: string, node: typeof a) => {
      const ns = ownedName(runId, `${side}${x}`);
      const dev = ownedName(runId, `${side}${x}${letter}`);
      t.namespaces.push({ name: ns, role: side === 'c' ? 'client' : 'server' });
      t.links.push({ kind, name: dev, netns: ns, lower: node.nic, lowerNetns: node.netns, mode });
      t.addresses.push({ netns: ns, dev, cidr: `${addr}/16` });
      return { netns: ns, ip: addr, dev };
    };
    const c = attach('c', ip.client, a);
    const s = attach('s', ip.server, b);
    out.push({ client: c, server: s });
    if (i === 0)
      summary =
        `${c.netns} ` +
        `[${kind} ${mode} on ` +
        `${a.nic}]${
          placement === 'cross-node' ? (ctx.hosts?.length ? ' ─network─ ' : ' ─wire─ ') : ' ↔ '
        }[${kind} ${mode} on ${b.nic}] ${s.netns}`;
  }
  if (kind === 'ipvlan')
    t.rawUnsupported = "ipvlan slaves share their lower device's MAC; raw frames are not supported on it yet";
  return complete(t, out, summary);
}

export const macvlan: Datapath = {
  name: 'macvlan',
  description: "containers with macvlan devices on their node's NIC (--mode bridge|private|vepa|passthru)",
  noVm: "its endpoints are macvlan devices of the node's NIC: a VM needs a macvtap (use the macvtap datapath)",
  placements: ['same-node', 'cross-node'],
  defaultPlacement: 'same-node',
  takes: ['mode', 'hosts'],
  // addresses and endpoints only (the nodes' wire included): carried over IPv6 as planned
  ipv6: true,
  modes: MACVLAN_MODES,
  kernelFailures: [
    { match: /type macvlan.*Unknown device type/s, meaning: 'this kernel has no macvlan (CONFIG_MACVLAN)' },
    {
      match: /type macvlan mode passthru.*Invalid argument/s,
      meaning:
        "macvlan passthru needs a lower device that supports it (a physical NIC); the simulated node's veth " +
        'NIC does not',
    },
  ],
  refuse: macvlanRefuse,
  plan: (ctx) => plan('macvlan', ctx),
};

export const ipvlan: Datapath = {
  name: 'ipvlan',
  description: "containers with ipvlan devices on their node's NIC (--mode l2|l3|l3s); needs CONFIG_IPVLAN",
  noVm: "its endpoints are ipvlan devices of the node's NIC: there is no tap for a VM",
  placements: ['same-node', 'cross-node'],
  defaultPlacement: 'same-node',
  takes: ['mode', 'hosts'],
  modes: IPVLAN_MODES,
  kernelFailures: [
    {
      match: /type ipvlan.*Unknown device type/s,
      meaning: 'this kernel has no ipvlan (CONFIG_IPVLAN is not built or its module cannot be loaded)',
    },
  ],
  plan: (ctx) => plan('ipvlan', ctx),
};
