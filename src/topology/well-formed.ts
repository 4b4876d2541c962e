/**
 * A topology checked before anything is built: names the kernel accepts, addresses that parse, and
 * every reference (a link's namespace, an address's device) to something the plan has; the run's names. Pure.
 */
import { isIPv6 } from 'node:net';
import { UserError } from '../util/errors.js';
import type { Topology } from './model.js';

export const IFNAME_MAX = 15;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NETNS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function validIfName(name: string): boolean {
  return name.length <= IFNAME_MAX && IFNAME_RE.test(name);
}

export function validNetnsName(name: string): boolean {
  return NETNS_RE.test(name) && name !== '.' && name !== '..';
}

/** Checks a topology for internal consistency. Returns the problems; empty means valid. */
export function validateTopology(t: Topology): string[] {
  const problems: string[] = [];
  const nsNames = new Set<string>();
  for (const ns of t.namespaces) {
    if (!validNetnsName(ns.name)) problems.push(`namespace name '${ns.name}' is not valid`);
    if (nsNames.has(ns.name)) problems.push(`namespace '${ns.name}' declared twice`);
    nsNames.add(ns.name);
  }
  const devs = new Set<string>();
  const addDev = (netns: string, name: string) => {
    if (!nsNames.has(netns)) problems.push(`device '${name}' is in undeclared namespace '${netns}'`);
    if (!validIfName(name))
      problems.push(`interface name '${name}' is not valid (at most ${IFNAME_MAX} characters of [A-Za-z0-9_.-])`);
    const key = `${netns}/${name}`;
    if (devs.has(key)) problems.push(`device '${name}' declared twice in '${netns}'`);
    devs.add(key);
  };
  // a host's NIC exists already: links and routes may name it
  for (const ns of t.namespaces) if (ns.root) devs.add(`${ns.name}/${ns.root.nic}`);
  for (const l of t.links) {
    addDev(l.netns, l.name);
    if (l.kind === 'veth') addDev(l.peerNetns, l.peer);
    if ((l.kind === 'macvlan' || l.kind === 'ipvlan') && !devs.has(`${l.lowerNetns}/${l.lower}`))
      problems.push(
        `${l.kind} '${l.name}': lower device '${l.lower}' is not declared (before it) in '${l.lowerNetns}'`,
      );
    if (l.kind === 'vxlan' && !devs.has(`${l.netns}/${l.dev}`))
      problems.push(`vxlan '${l.name}': underlay device '${l.dev}' is not declared (before it) in '${l.netns}'`);
  }
  for (const r of t.routes ?? []) {
    if (!nsNames.has(r.netns)) problems.push(`route to ${r.dst} is in undeclared namespace '${r.netns}'`);
    if (r.dev && !devs.has(`${r.netns}/${r.dev}`))
      problems.push(`route to ${r.dst} uses undeclared device '${r.dev}' in '${r.netns}'`);
  }
  for (const c of t.sysctls ?? []) {
    if (!nsNames.has(c.netns)) problems.push(`sysctl ${c.key} is in undeclared namespace '${c.netns}'`);
    if (!/^net\.[a-z0-9_.-]+$/.test(c.key)) problems.push(`sysctl '${c.key}': only net.* keys, inside our namespaces`);
  }
  for (const b of t.bpf ?? []) {
    if (!nsNames.has(b.netns)) problems.push(`BPF object ${b.object} is loaded for undeclared namespace '${b.netns}'`);
    if (!b.pinDir.startsWith(b.root + '/'))
      problems.push(`BPF pins '${b.pinDir}' lie outside the run's bpffs '${b.root}'`);
    for (const r of b.requests) {
      // every request names a namespace, then the device: right after it, or after a MAC or an IP
      const ns = r[1] ?? '';
      const dev = (r[0] === 'fdb' || r[0] === 'local' || r[0] === 'remote' ? r[3] : r[2]) ?? '';
      if (!nsNames.has(ns)) problems.push(`BPF request '${r.join(' ')}' names undeclared namespace '${ns}'`);
      else if (!devs.has(`${ns}/${dev}`))
        problems.push(`BPF request '${r.join(' ')}' names undeclared device '${dev}' in '${ns}'`);
    }
  }
  for (const p of t.ports) {
    if (!devs.has(`${p.netns}/${p.dev}`)) problems.push(`port '${p.dev}' is not a declared device in '${p.netns}'`);
    const master = t.links.find((l) => l.kind === 'bridge' && l.netns === p.netns && l.name === p.master);
    if (!master) problems.push(`port '${p.dev}': no bridge '${p.master}' in '${p.netns}'`);
  }
  for (const a of t.addresses) {
    if (a.dev !== 'lo' && !devs.has(`${a.netns}/${a.dev}`))
      problems.push(`address ${a.cidr} is on undeclared device '${a.dev}' in '${a.netns}'`);
    const m = CIDR_RE.exec(a.cidr);
    const [ip6, len6] = a.cidr.split('/');
    const v6 = isIPv6(ip6 ?? '') && /^\d{1,3}$/.test(len6 ?? '') && Number(len6) <= 128;
    if (!v6 && (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32))
      problems.push(`address '${a.cidr}' is not an IPv4 or IPv6 CIDR`);
  }
  if (t.pairs.length === 0 || t.pairs[0]!.client !== t.endpoints.client || t.pairs[0]!.server !== t.endpoints.server)
    problems.push('the first pair must be the endpoints');
  t.pairs.forEach((pair, i) => {
    for (const [role, ep] of Object.entries(pair)) {
      if (!nsNames.has(ep.netns)) problems.push(`pair ${i} ${role} is in undeclared namespace '${ep.netns}'`);
      // an adopted namespace's devices are its own, and a guest's are inside it: nothing here declares them
      const adopted = t.namespaces.some((n) => n.name === ep.netns && (n.adopted || n.guest));
      if (ep.dev !== 'lo' && !ep.devFrom && !adopted && !devs.has(`${ep.netns}/${ep.dev}`))
        problems.push(`pair ${i} ${role}'s device '${ep.dev}' is not declared in '${ep.netns}'`);
    }
  });
  return problems;
}

export function assertValidTopology(t: Topology): Topology {
  const problems = validateTopology(t);
  if (problems.length)
    throw new UserError(`datapath '${t.datapath}' planned an invalid topology:\n  ${problems.join('\n  ')}`);
  return t;
}

/** Namespace and interface names of a run: `cnp<id>-<role>`, within IFNAME_MAX. */
export function ownedName(runId: string, role: string): string {
  const name = `cnp${runId}-${role}`;
  if (name.length > IFNAME_MAX) throw new Error(`internal: name '${name}' longer than ${IFNAME_MAX} characters`);
  return name;
}
