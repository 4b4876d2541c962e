/**
 * Simulated nodes: a node is a namespace with its own "physical" NIC. Two nodes are joined by a wire
 * (a veth between their NICs, underlay 198.19.0.0/24) or, with --fabric switch, by a switch: a bridge
 * in a fabric namespace with each NIC's peer as a port. A single node's NIC is wired to a stub
 * namespace (or to the switch) so that it has carrier, as a host NIC plugged into a switch has.
 */
import { type Endpoint, type Topology } from '../topology/model.js';
import { partKey } from '../topology/parts.js';
import { ownedName } from '../topology/well-formed.js';

/** A real host a plan runs on (--hosts), as connecting to it found it. */
export interface PlanHost {
  name: string;
  /** its address: what cnperf connects to, and its underlay address */
  address: string;
  /** the NIC the datapath uses (the inventory's, or the one routing to the other host) */
  nic: string;
  /** that NIC's MTU */
  mtu: number;
  /**
   * Whether that NIC carries the host's address (the one cnperf — and usually everyone else — reaches
   * the host by): true, false, or undefined while unknown (the inventory names a NIC; connecting tells).
   * A datapath that would take the NIC over refuses a host where this is not false.
   */
  nicCarriesAddress?: boolean;
}

/** Across real hosts (--hosts): the hosts, in the order the plan uses them (client's first). */
export const HOSTS_PART = partKey<PlanHost[]>('hosts');

export interface SimNode {
  netns: string;
  nic: string;
  underlayIp: string;
  /** suffix for per-node names: '' for the first node, '1' for the second */
  tag: string;
}

export const UNDERLAY_PREFIX = 24;

export type Fabric = 'wire' | 'switch';
export const FABRICS: readonly Fabric[] = ['wire', 'switch'];

/** Where the two endpoints sit: one simulated node, or one node each (joined by a wire or a switch). */
export type Placement = 'same-node' | 'cross-node';
export const PLACEMENTS: readonly Placement[] = ['same-node', 'cross-node'];

/**
 * Adds the nodes to t and returns [client's node, server's node] (the same node twice for same-node).
 * With real hosts, a node is a host's own namespace and its NIC the host's: nothing is wired.
 */
export function addNodes(
  t: TopologyDraft,
  runId: string,
  placement: Placement,
  mtu?: number,
  fabric: Fabric = 'wire',
  hosts?: readonly PlanHost[],
): [SimNode, SimNode] {
  if (hosts?.length) return addHostNodes(t, runId, placement, hosts);
  const n0: SimNode = { netns: ownedName(runId, 'n'), nic: ownedName(runId, 'ne'), underlayIp: '198.19.0.1', tag: '' };
  t.namespaces.push({ name: n0.netns, role: 'node' });
  const m = mtu ? { mtu } : {};
  t.fabric = fabric;
  if (fabric === 'switch') {
    const f = ownedName(runId, 'f');
    const sw = ownedName(runId, 'fsw');
    t.namespaces.push({ name: f, role: 'fabric' });
    t.links.push({ kind: 'bridge', name: sw, netns: f, ...m });
    const nodes =
      placement === 'cross-node'
        ? [n0, { netns: ownedName(runId, 'n1'), nic: ownedName(runId, 'n1e'), underlayIp: '198.19.0.2', tag: '1' }]
        : [n0];
    for (const n of nodes) {
      if (n !== n0) t.namespaces.push({ name: n.netns, role: 'node' });
      const port = ownedName(runId, `n${n.tag}f`);
      t.links.push({ kind: 'veth', name: n.nic, netns: n.netns, peer: port, peerNetns: f, ...m });
      t.ports.push({ netns: f, dev: port, master: sw });
      t.addresses.push({ netns: n.netns, dev: n.nic, cidr: `${n.underlayIp}/${UNDERLAY_PREFIX}` });
    }
    return [nodes[0]!, nodes[nodes.length - 1]!];
  }
  let n1 = n0;
  if (placement === 'cross-node') {
    n1 = { netns: ownedName(runId, 'n1'), nic: ownedName(runId, 'n1e'), underlayIp: '198.19.0.2', tag: '1' };
    t.namespaces.push({ name: n1.netns, role: 'node' });
    t.links.push({
      kind: 'veth',
      name: n0.nic,
      netns: n0.netns,
      peer: n1.nic,
      peerNetns: n1.netns,
      ...(mtu ? { mtu } : {}),
    });
    t.addresses.push({ netns: n1.netns, dev: n1.nic, cidr: `${n1.underlayIp}/${UNDERLAY_PREFIX}` });
  } else {
    const stub = ownedName(runId, 'w');
    t.namespaces.push({ name: stub, role: 'wire' });
    t.links.push({
      kind: 'veth',
      name: n0.nic,
      netns: n0.netns,
      peer: ownedName(runId, 'we'),
      peerNetns: stub,
      ...(mtu ? { mtu } : {}),
    });
  }
  t.addresses.push({ netns: n0.netns, dev: n0.nic, cidr: `${n0.underlayIp}/${UNDERLAY_PREFIX}` });
  return [n0, n1];
}

/** Real hosts as nodes: each host's own namespace (named for the run), its NIC, its address. */
function addHostNodes(
  t: TopologyDraft,
  runId: string,
  placement: Placement,
  hosts: readonly PlanHost[],
): [SimNode, SimNode] {
  const used = placement === 'cross-node' ? hosts.slice(0, 2) : hosts.slice(0, 1);
  if (used.length < (placement === 'cross-node' ? 2 : 1))
    throw new Error(
      `internal: ${placement} needs ${placement === 'cross-node' ? 2 : 1} hosts, the inventory has ${hosts.length}`,
    );
  const nodes = used.map((h, k): SimNode => ({
    netns: ownedName(runId, k ? 'h1' : 'h'),
    nic: h.nic,
    underlayIp: h.address,
    tag: k ? '1' : '',
  }));
  used.forEach((h, k) => t.namespaces.push({ name: nodes[k]!.netns, role: 'node', on: h.name, root: { nic: h.nic } }));
  HOSTS_PART.set(t, [...used]);
  return [nodes[0]!, nodes[nodes.length - 1]!];
}

/** A topology being planned: everything but its pairs, which complete() adds. */
export type TopologyDraft = Omit<Topology, 'endpoints' | 'pairs' | 'summary'>;

export type Pair = { client: Endpoint; server: Endpoint };

/** An empty topology to fill in. */
export function draftTopology(runId: string, datapath: string): TopologyDraft {
  return { runId, datapath, namespaces: [], links: [], ports: [], addresses: [], routes: [], sysctls: [] };
}

/** The finished plan: its pairs (the first is every workload's endpoints) and its one-line summary. */
export function complete(t: TopologyDraft, pairs: Pair[], summary: string): Topology {
  if (pairs.length === 0) throw new Error(`internal: datapath ${t.datapath} planned no pair`);
  return {
    ...t,
    summary: pairs.length > 1 ? `${summary} (×${pairs.length} pairs)` : summary,
    endpoints: pairs[0]!,
    pairs,
  };
}

/**
 * A container of pair i on side c or s: its namespace, and a veth whose other end (named with
 * `peerTag`, e.g. 'b' for a bridge port) lies in the node. Returns the endpoint and that other end.
 */
export function addVethContainer(
  t: TopologyDraft,
  runId: string,
  i: number,
  side: 'c' | 's',
  node: string,
  cidr: string,
  peerTag: string,
  mtu?: number,
): Endpoint & { peer: string } {
  const x = i === 0 ? '' : String(i);
  const netns = ownedName(runId, `${side}${x}`);
  const dev = ownedName(runId, i ? `${side}${x}e` : `${side}0`);
  const peer = ownedName(runId, `${side}${x}${peerTag}`);
  t.namespaces.push({ name: netns, role: side === 'c' ? 'client' : 'server' });
  t.links.push({ kind: 'veth', name: dev, netns, peer, peerNetns: node, ...(mtu ? { mtu } : {}) });
  t.addresses.push({ netns, dev, cidr });
  return { netns, ip: cidr.split('/')[0]!, dev, peer };
}

/** The endpoint part of what addVethContainer returns. */
export const endpointOf = ({ netns, ip, dev }: Endpoint): Endpoint => ({ netns, ip, dev });

/**
 * Why a datapath must not take over a real host's NIC, or null: taken over (macvlan passthru hands it
 * every frame; host-device moves it away) the NIC that carries the host's address stops answering for
 * the host — ssh, cnperf's keeper and the teardown with it — and nothing can undo the run from here.
 * Refused, before any change, on every host whose NIC carries that address: before connecting, where
 * the inventory names no NIC (cnperf would take the one routing to the other host); on connecting,
 * where the NIC named carries it (src/remote/remote-host.ts looks).
 */
export function nicTakeoverRefusal(hosts: readonly PlanHost[] | undefined, used: number, what: string): string | null {
  for (const h of (hosts ?? []).slice(0, used)) {
    if (h.nicCarriesAddress !== true) continue;
    const which =
      h.nic === 'NIC'
        ? `would be the one routing to the other host, as a rule the one carrying ${h.address}`
        : `carries ${h.address}`;
    return (
      `${what} takes over host ` +
      `${h.name}'s NIC (${h.nic === 'NIC' ? 'none named in the ' + 'inventory' : h.nic}), which ` +
      `${which}, the address cnperf reaches it at: the host would stop answering (ssh, the run's teardown) — name ` +
      `a second NIC, without that address, with interface: in the inventory`
    );
  }
  return null;
}
