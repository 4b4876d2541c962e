/**
 * Simulated nodes: a node is a namespace with its own "physical" NIC. Two nodes are joined by a wire
 * (a veth between their NICs, underlay 198.19.0.0/24). A single node's NIC is wired to a stub
 * namespace so that it has carrier, as a host NIC plugged into a switch has.
 */
import { ownedName, type Topology } from '../topology/model.js';
import type { Placement } from './types.js';

export interface SimNode {
  netns: string;
  nic: string;
  underlayIp: string;
  /** suffix for per-node names: '' for the first node, '1' for the second */
  tag: string;
}

export const UNDERLAY_PREFIX = 24;

/** Adds the nodes to t and returns [client's node, server's node] (the same node twice for same-node). */
export function addNodes(t: Topology, runId: string, placement: Placement, mtu?: number): [SimNode, SimNode] {
  const n0: SimNode = { netns: ownedName(runId, 'n'), nic: ownedName(runId, 'ne'), underlayIp: '198.19.0.1', tag: '' };
  t.namespaces.push({ name: n0.netns, role: 'node' });
  let n1 = n0;
  if (placement === 'cross-node') {
    n1 = { netns: ownedName(runId, 'n1'), nic: ownedName(runId, 'n1e'), underlayIp: '198.19.0.2', tag: '1' };
    t.namespaces.push({ name: n1.netns, role: 'node' });
    t.links.push({ kind: 'veth', name: n0.nic, netns: n0.netns, peer: n1.nic, peerNetns: n1.netns, ...(mtu ? { mtu } : {}) });
    t.addresses.push({ netns: n1.netns, dev: n1.nic, cidr: `${n1.underlayIp}/${UNDERLAY_PREFIX}` });
  } else {
    const stub = ownedName(runId, 'w');
    t.namespaces.push({ name: stub, role: 'wire' });
    t.links.push({ kind: 'veth', name: n0.nic, netns: n0.netns, peer: ownedName(runId, 'we'), peerNetns: stub, ...(mtu ? { mtu } : {}) });
  }
  t.addresses.push({ netns: n0.netns, dev: n0.nic, cidr: `${n0.underlayIp}/${UNDERLAY_PREFIX}` });
  return [n0, n1];
}

/** An empty topology to fill in. */
export function emptyTopology(runId: string, datapath: string): Topology {
  return { runId, datapath, summary: '', namespaces: [], links: [], ports: [], addresses: [], routes: [], sysctls: [], endpoints: undefined!, pairs: [] };
}
