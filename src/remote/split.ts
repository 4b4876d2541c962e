/**
 * Which host each part of a plan is built on. A datapath across hosts plans as it does across
 * simulated nodes; its nodes are the hosts' own namespaces (Namespace.on, .root). Everything else
 * lands where it is wired: a container's namespace on the host its veth (or macvlan's lower device)
 * ends in. Each host then gets the topology of its own part. Pure.
 */
import { getDatapath } from '../datapaths/registry.js';
import type { Topology } from '../topology/model.js';
import { VM_PART } from '../topology/guests.js';

/** What a plan across hosts cannot have yet, each with why. */
function unsupported(t: Topology, datapath: ReturnType<typeof getDatapath>): string | null {
  if (t.rulesets?.length || t.service)
    return 'firewall rules and Services (--netfilter, --service-proxy) are not built on real hosts yet';
  if (datapath.notAcrossHosts) return `datapath ${t.datapath}: ${datapath.notAcrossHosts}`;
  if (t.daemons?.length || t.bpf?.length)
    return `datapath ${t.datapath}'s daemons or programs are not built on real hosts yet`;
  if (VM_PART.of(t)) return 'VM endpoints are not built on real hosts yet';
  if (t.links.some((l) => l.kind === 'tap')) return 'taps are not built on real hosts yet';
  return null;
}

/** host name → the part of t built there (namespaces carry `on`). Throws what cannot be split. */
export function splitByHost(t: Topology): Map<string, Topology> {
  const datapath = getDatapath(t.datapath);
  const why = unsupported(t, datapath);
  if (why) throw new Error(why);
  const on = new Map<string, string>();
  for (const ns of t.namespaces) if (ns.on) on.set(ns.name, ns.on);
  // a namespace joins the host of whatever it is wired to, until nothing changes
  const joins: Array<[string, string]> = t.links.flatMap((l): Array<[string, string]> =>
    l.kind === 'veth'
      ? [[l.netns, l.peerNetns]]
      : l.kind === 'macvlan' || l.kind === 'ipvlan'
        ? [[l.netns, l.lowerNetns]]
        : [],
  );
  // what the datapath wires outside the plan's links (CNI's plugins, on the node they run in)
  joins.push(...(datapath.colocated?.(t) ?? []));
  for (let changed = true; changed;) {
    changed = false;
    for (const [a, b] of joins) {
      const ha = on.get(a);
      const hb = on.get(b);
      if (ha && hb && ha !== hb)
        throw new Error(`internal: ${a} (host ${ha}) and ${b} (host ${hb}) are wired directly across hosts`);
      if (ha && !hb) (on.set(b, ha), (changed = true));
      if (hb && !ha) (on.set(a, hb), (changed = true));
    }
  }
  const lost = t.namespaces.filter((n) => !on.has(n.name));
  if (lost.length)
    throw new Error(
      `internal: ${lost.map((n) => n.name).join(', ')} ${lost.length > 1 ? 'are' : 'is'} wired to no host`,
    );
  const parts = new Map<string, Topology>();
  for (const host of new Set(on.values())) {
    const here = (netns: string) => on.get(netns) === host;
    parts.set(host, {
      ...t,
      namespaces: t.namespaces.filter((n) => here(n.name)).map((n) => ({ ...n, on: host })),
      links: t.links.filter((l) => here(l.netns)),
      ports: t.ports.filter((p) => here(p.netns)),
      addresses: t.addresses.filter((a) => here(a.netns)),
      routes: (t.routes ?? []).filter((r) => here(r.netns)),
      sysctls: (t.sysctls ?? []).filter((s) => here(s.netns)),
    });
  }
  return parts;
}
