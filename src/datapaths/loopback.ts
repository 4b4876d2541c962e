import { ownedName } from '../topology/model.js';
import type { Datapath } from './types.js';

/**
 * Seed 000's baseline: both processes in one (fresh) namespace, talking over `lo`. Several pairs
 * share the namespace (there is only one `lo`); each flow has its own ports.
 */
export const loopback: Datapath = {
  name: 'loopback',
  description: 'client and server in one namespace, over lo',
  placements: ['same-node'],
  takes: [],
  plan({ runId, pairs = 1 }) {
    const host = ownedName(runId, 'h');
    const ep = { netns: host, ip: '127.0.0.1', dev: 'lo' };
    const endpoints = { client: ep, server: ep };
    return {
      runId,
      datapath: 'loopback',
      summary: `${host}: client ─lo─ server${pairs > 1 ? ` (×${pairs})` : ''}`,
      namespaces: [{ name: host, role: 'host' }],
      links: [],
      ports: [],
      addresses: [],
      endpoints,
      // Frames a packet socket sends on lo are counted by lo but never reach IP (measured, 6.18).
      rawUnsupported: 'the raw APIs send Ethernet frames, and frames sent on lo never reach the IP layer; use veth or bridge',
      pairs: [endpoints, ...Array.from({ length: pairs - 1 }, () => ({ client: ep, server: ep }))],
    };
  },
};
