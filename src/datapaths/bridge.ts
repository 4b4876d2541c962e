import { ownedName, type Topology } from '../topology/model.js';
import { pairIps, pairSuffix, type Datapath } from './types.js';

/**
 * What docker0, the CNI bridge plugin and Weave Net's same-node path build: each container's veth
 * ends on a Linux bridge in the node's namespace, so a packet crosses two veth pairs and the
 * bridge (seed 000, Figure 2 right). With several pairs, every container hangs off the same bridge,
 * in one layer-2 segment (a /16 of the benchmarking range).
 */
export const bridge: Datapath = {
  name: 'bridge',
  description: 'two namespaces, each with a veth to a Linux bridge in a third (node) namespace',
  plan({ runId, pairs = 1 }) {
    const node = ownedName(runId, 'n');
    const br = ownedName(runId, 'br');
    const t: Topology = {
      runId,
      datapath: 'bridge',
      summary: '',
      namespaces: [{ name: node, role: 'node' }],
      links: [{ kind: 'bridge', name: br, netns: node }],
      ports: [],
      addresses: [],
      endpoints: undefined!,
      pairs: [],
    };
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const ip = pairIps(i);
      const ends = (side: 'c' | 's', addr: string) => {
        const ns = ownedName(runId, `${side}${x}`);
        const dev = ownedName(runId, i ? `${side}${x}e` : `${side}0`);
        const port = ownedName(runId, `${side}${x}b`);
        t.namespaces.push({ name: ns, role: side === 'c' ? 'client' : 'server' });
        t.links.push({ kind: 'veth', name: dev, netns: ns, peer: port, peerNetns: node });
        t.ports.push({ netns: node, dev: port, master: br });
        t.addresses.push({ netns: ns, dev, cidr: `${addr}/16` });
        return { netns: ns, ip: addr, dev, port };
      };
      const c = ends('c', ip.client);
      const s = ends('s', ip.server);
      t.pairs.push({ client: { netns: c.netns, ip: c.ip, dev: c.dev }, server: { netns: s.netns, ip: s.ip, dev: s.dev } });
      if (i === 0) t.summary = `${c.netns} [${c.dev}] ═veth═ [${c.port}] ${br}@${node} [${s.port}] ═veth═ [${s.dev}] ${s.netns}`;
    }
    if (pairs > 1) t.summary += ` (×${pairs} pairs)`;
    t.endpoints = t.pairs[0]!;
    return t;
  },
};
