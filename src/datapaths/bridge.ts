import { ownedName } from '../topology/model.js';
import { CLIENT_IP, PREFIX, SERVER_IP, type Datapath } from './types.js';

/**
 * What docker0, the CNI bridge plugin and Weave Net's same-node path build: each container's veth
 * ends on a Linux bridge in the node's namespace, so a packet crosses two veth pairs and the
 * bridge (seed 000, Figure 2 right).
 */
export const bridge: Datapath = {
  name: 'bridge',
  description: 'two namespaces, each with a veth to a Linux bridge in a third (node) namespace',
  plan({ runId }) {
    const node = ownedName(runId, 'n');
    const c = ownedName(runId, 'c');
    const s = ownedName(runId, 's');
    const br = ownedName(runId, 'br');
    const cDev = ownedName(runId, 'c0');
    const sDev = ownedName(runId, 's0');
    const cPort = ownedName(runId, 'cb');
    const sPort = ownedName(runId, 'sb');
    return {
      runId,
      datapath: 'bridge',
      summary: `${c} [${cDev}] ═veth═ [${cPort}] ${br}@${node} [${sPort}] ═veth═ [${sDev}] ${s}`,
      namespaces: [
        { name: node, role: 'node' },
        { name: c, role: 'client' },
        { name: s, role: 'server' },
      ],
      links: [
        { kind: 'bridge', name: br, netns: node },
        { kind: 'veth', name: cDev, netns: c, peer: cPort, peerNetns: node },
        { kind: 'veth', name: sDev, netns: s, peer: sPort, peerNetns: node },
      ],
      ports: [
        { netns: node, dev: cPort, master: br },
        { netns: node, dev: sPort, master: br },
      ],
      addresses: [
        { netns: c, dev: cDev, cidr: `${CLIENT_IP}/${PREFIX}` },
        { netns: s, dev: sDev, cidr: `${SERVER_IP}/${PREFIX}` },
      ],
      endpoints: { client: { netns: c, ip: CLIENT_IP, dev: cDev }, server: { netns: s, ip: SERVER_IP, dev: sDev } },
    };
  },
};
