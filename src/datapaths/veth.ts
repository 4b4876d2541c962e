import { ownedName } from '../topology/well-formed.js';
import { complete, draftTopology, type Pair } from './nodes.js';
import { PREFIX, pairIps, pairSuffix, type Datapath } from './types.js';

/** Two namespaces joined by one veth pair: one namespace crossing, no forwarding. With several
 * pairs, each pair has its own two namespaces and its own veth. */
export const veth: Datapath = {
  name: 'veth',
  description: 'client and server in two namespaces joined by one veth pair',
  noVm:
    'its two namespaces are joined by one veth pair directly: a VM needs a tap on a bridge or a ' +
    'router (use bridge or routed)',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: [],
  ipv6: true,
  plan({ runId, pairs = 1 }) {
    const t = draftTopology(runId, 'veth');
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const c = ownedName(runId, `c${x}`);
      const s = ownedName(runId, `s${x}`);
      const cDev = ownedName(runId, i ? `c${x}e` : 'c0');
      const sDev = ownedName(runId, i ? `s${x}e` : 's0');
      const ip = pairIps(i);
      t.namespaces.push({ name: c, role: 'client' }, { name: s, role: 'server' });
      t.links.push({ kind: 'veth', name: cDev, netns: c, peer: sDev, peerNetns: s });
      t.addresses.push(
        { netns: c, dev: cDev, cidr: `${ip.client}/${PREFIX}` },
        { netns: s, dev: sDev, cidr: `${ip.server}/${PREFIX}` },
      );
      out.push({ client: { netns: c, ip: ip.client, dev: cDev }, server: { netns: s, ip: ip.server, dev: sDev } });
    }
    const first = out[0]!;
    return complete(
      t,
      out,
      `${first.client.netns} [${first.client.dev}] ═veth═ [${first.server.dev}] ${first.server.netns}`,
    );
  },
};
