import { ownedName } from '../topology/well-formed.js';
import { complete, draftTopology } from './nodes.js';
import type { Datapath } from './types.js';

/**
 * Seed 000's baseline: both processes in one (fresh) namespace, talking over `lo`. Several pairs
 * share the namespace (there is only one `lo`); each flow has its own ports.
 */
export const loopback: Datapath = {
  name: 'loopback',
  description: 'client and server in one namespace, over lo',
  noVm: "both endpoints share one namespace's loopback: there is no link a VM could sit on",
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: [],
  ipv6: true,
  plan({ runId, pairs = 1 }) {
    const host = ownedName(runId, 'h');
    const t = draftTopology(runId, 'loopback');
    t.namespaces.push({ name: host, role: 'host' });
    // Frames a packet socket sends on lo are counted by lo but never reach IP (measured, 6.18).
    t.rawUnsupported =
      'the raw APIs send Ethernet frames, and frames sent on lo never reach the IP layer; use veth or bridge';
    const ep = { netns: host, ip: '127.0.0.1', dev: 'lo' };
    const all = Array.from({ length: pairs }, () => ({ client: ep, server: ep }));
    return {
      ...complete(t, all, `${host}: client ─lo─ server`),
      summary: `${host}: client ─lo─ server${pairs > 1 ? ` (×${pairs})` : ''}`,
    };
  },
};
