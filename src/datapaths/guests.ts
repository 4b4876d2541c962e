/**
 * VM endpoints (--endpoint vm, --client-endpoint, --server-endpoint; seed 003): the datapath plans
 * containers as always, then each endpoint chosen to be a VM trades its veth for a tap. The veth's
 * node end — a bridge port, or the device a node routes through — becomes a tap of the same name in
 * the same place, and what the endpoint's namespace held (its address, its routes) moves into the
 * guest's eth0, a virtio-net NIC behind that tap. Everything between the two endpoints stays as the
 * datapath planned it. Pure.
 */
import { createHash } from 'node:crypto';
import type { Guest, Link, Topology } from '../topology/model.js';
import { VM_PART, type VmPlan } from '../topology/guests.js';
import { UserError } from '../util/errors.js';

export type EndpointKind = 'container' | 'vm';

export interface VmOptions {
  endpoints: { client: EndpointKind; server: EndpointKind };
  accel?: VmPlan['accel'];
  vhost?: boolean;
  /** --cpus: the client's and the server's CPU (each guest's qemu is pinned to its role's) */
  cpus?: [number, number];
}

/** Guests get one vCPU and this much memory: enough for the engine and the kernel, small for TCG. */
export const GUEST_VCPUS = 1;
export const GUEST_MEMORY_MB = 256;

/** Why a datapath's endpoints cannot be VMs: its own reason (`noVm`), said before anything is built. */
export function vmRefusal(
  d: { name: string; takes: readonly string[]; noVm?: string | ((ctx: { variant?: string }) => string | null) },
  ctx: { variant?: string } = {},
): string | null {
  const own = typeof d.noVm === 'function' ? d.noVm(ctx) : d.noVm;
  if (own) return own;
  if (d.takes.includes('vm-endpoint')) return null;
  return `${d.name} does not place its endpoints on a link a VM's tap could take`;
}

function macFor(runId: string, netns: string): string {
  const h = createHash('sha256').update(`${runId}/${netns}`).digest();
  // 52:54:00 is qemu's prefix, locally administered
  return `52:54:00:${[h[0], h[1], h[2]].map((b) => b!.toString(16).padStart(2, '0')).join(':')}`;
}

/** How the run's guests boot, from the VM options. */
export function vmPlanOf(o: VmOptions): VmPlan {
  return {
    accel: o.accel ?? 'auto',
    vcpus: GUEST_VCPUS,
    memory_mb: GUEST_MEMORY_MB,
    net_backend: 'tap',
    vhost: o.vhost ?? false,
    endpoints: o.endpoints,
  };
}

/** The plan with the chosen endpoints as VMs; throws a UserError naming what stands in the way. */
export function placeGuests(t: Topology, o: VmOptions): Topology {
  const roles = (['client', 'server'] as const).filter((r) => o.endpoints[r] === 'vm');
  if (roles.length === 0) return t;
  const links = [...t.links];
  const guests = new Map<string, Guest>();
  for (const pair of t.pairs) {
    for (const role of roles) {
      const ep = pair[role];
      const ns = ep.netns;
      const flag = `--${role}-endpoint vm`;
      const touching = links.filter(
        (l) =>
          l.netns === ns ||
          (l.kind === 'veth' && l.peerNetns === ns) ||
          ((l.kind === 'macvlan' || l.kind === 'ipvlan') && l.lowerNetns === ns),
      );
      const veth = touching.find(
        (l): l is Extract<Link, { kind: 'veth' }> =>
          l.kind === 'veth' && ((l.netns === ns && l.name === ep.dev) || (l.peerNetns === ns && l.peer === ep.dev)),
      );
      if (!veth || touching.length !== 1)
        throw new UserError(
          `${flag}: ${t.datapath}'s ${role} is not a namespace with one veth, which a VM's tap would replace`,
        );
      const others = [
        // router advertisements off on the endpoint's device over IPv6: the guest's init does it for its eth0
        ...(t.sysctls ?? [])
          .filter((s) => s.netns === ns && s.key !== `net.ipv6.conf.${ep.dev}.accept_ra`)
          .map((s) => `sysctl ${s.key}`),
        ...(t.rulesets ?? []).filter((r) => r.netns === ns).map(() => 'firewall rules'),
        ...(t.daemons ?? []).filter((d) => d.netns === ns).map((d) => `daemon ${d.comm}`),
        ...(t.bpf ?? []).filter((b) => b.netns === ns).map((b) => `BPF ${b.object}`),
        ...t.addresses.filter((a) => a.netns === ns && a.dev !== ep.dev).map((a) => `address ${a.cidr} on ${a.dev}`),
      ];
      if (others.length)
        throw new UserError(
          `${flag}: ${t.datapath} puts ` +
            `${others.join(', ')} into the ${role}'s namespace, which a guest does not carry over`,
        );
      const host =
        veth.netns === ns ? { netns: veth.peerNetns, dev: veth.peer } : { netns: veth.netns, dev: veth.name };
      links[links.indexOf(veth)] = {
        kind: 'tap',
        name: host.dev,
        netns: host.netns,
        ...(veth.mtu ? { mtu: veth.mtu } : {}),
      };
      const cpu = o.cpus?.[role === 'client' ? 0 : 1];
      guests.set(ns, {
        hostNetns: host.netns,
        tap: host.dev,
        mac: macFor(t.runId, ns),
        addresses: t.addresses.filter((a) => a.netns === ns).map((a) => a.cidr),
        routes: (t.routes ?? [])
          .filter((r) => r.netns === ns)
          .map((r) => ({ dst: r.dst, ...(r.via ? { via: r.via } : {}), ...(r.onlink ? { onlink: true } : {}) })),
        ...(veth.mtu ? { mtu: veth.mtu } : {}),
        ...(cpu !== undefined ? { cpu } : {}),
      });
    }
  }
  const inGuest = (ns: string) => guests.has(ns);
  const endpoint = <E extends { netns: string; dev: string }>(e: E): E =>
    inGuest(e.netns) ? { ...e, dev: 'eth0' } : e;
  const pairs = t.pairs.map((p) => ({ client: endpoint(p.client), server: endpoint(p.server) }));
  return {
    ...t,
    // The datapath's own summary still says "veth" at the guests' ends: say what replaced them.
    summary:
      `${t.summary} — VMs behind taps: ` +
      `${[...guests].map(([ns, g]) => `${ns} (tap ${g.tap}@${g.hostNetns})`).join(', ')}`,
    namespaces: t.namespaces.map((n) => (guests.has(n.name) ? { ...n, guest: guests.get(n.name)! } : n)),
    links,
    addresses: t.addresses.filter((a) => !inGuest(a.netns)),
    routes: (t.routes ?? []).filter((r) => !inGuest(r.netns)),
    sysctls: (t.sysctls ?? []).filter((s) => !inGuest(s.netns)),
    parts: { ...t.parts, [VM_PART.name]: vmPlanOf(o) },
    endpoints: pairs[0]!,
    pairs,
  };
}
