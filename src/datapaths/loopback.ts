import { ownedName } from '../topology/model.js';
import type { Datapath } from './types.js';

/** Seed 000's baseline: both processes in one (fresh) namespace, talking over `lo`. */
export const loopback: Datapath = {
  name: 'loopback',
  description: 'client and server in one namespace, over lo',
  plan({ runId }) {
    const host = ownedName(runId, 'h');
    return {
      runId,
      datapath: 'loopback',
      summary: `${host}: client ─lo─ server`,
      namespaces: [{ name: host, role: 'host' }],
      links: [],
      ports: [],
      addresses: [],
      endpoints: { client: { netns: host, ip: '127.0.0.1', dev: 'lo' }, server: { netns: host, ip: '127.0.0.1', dev: 'lo' } },
    };
  },
};
