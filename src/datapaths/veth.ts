import { ownedName } from '../topology/model.js';
import { CLIENT_IP, PREFIX, SERVER_IP, type Datapath } from './types.js';

/** Two namespaces joined by one veth pair: one namespace crossing, no forwarding. */
export const veth: Datapath = {
  name: 'veth',
  description: 'client and server in two namespaces joined by one veth pair',
  plan({ runId }) {
    const c = ownedName(runId, 'c');
    const s = ownedName(runId, 's');
    const cDev = ownedName(runId, 'c0');
    const sDev = ownedName(runId, 's0');
    return {
      runId,
      datapath: 'veth',
      summary: `${c} [${cDev}] ═veth═ [${sDev}] ${s}`,
      namespaces: [
        { name: c, role: 'client' },
        { name: s, role: 'server' },
      ],
      links: [{ kind: 'veth', name: cDev, netns: c, peer: sDev, peerNetns: s }],
      ports: [],
      addresses: [
        { netns: c, dev: cDev, cidr: `${CLIENT_IP}/${PREFIX}` },
        { netns: s, dev: sDev, cidr: `${SERVER_IP}/${PREFIX}` },
      ],
      endpoints: { client: { netns: c, ip: CLIENT_IP, dev: cDev }, server: { netns: s, ip: SERVER_IP, dev: sDev } },
    };
  },
};
