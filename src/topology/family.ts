/**
 * IPv6 for the datapaths that plan in IPv4: every address a plan gives out is in the benchmarking range
 * 198.18.0.0/15 (RFC 2544), and its twin in 2001:2::/48 (RFC 5180, the IPv6 benchmarking range) is
 * fixed by one rule, so subnets stay subnets and a route still covers what it covered:
 *
 *   198.(18+a).b.c/p  →  2001:2:0:X::Y/q   with X = a·256 + b (hex), Y = c (hex),
 *                                           q = p + 40 for p ≤ 24 (the /24s are /64s), p + 96 beyond
 *
 * 127.0.0.1 is ::1. Anything else has no twin here, and a plan that holds one cannot take --ip 6.
 */
import type { Topology } from './model.js';

export type IpFamily = 4 | 6;

const V4 = /^198\.(18|19)\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4 address's IPv6 twin; null when it has none (outside 198.18.0.0/15 and loopback). */
export function ipv6Twin(ip: string): string | null {
  if (ip === '127.0.0.1') return '::1';
  const m = V4.exec(ip);
  if (!m) return null;
  const [a, b, c] = [Number(m[1]) - 18, Number(m[2]), Number(m[3])];
  if (b > 255 || c > 255) return null;
  return canonical([0x2001, 2, 0, a * 256 + b, 0, 0, 0, c]);
}

/** RFC 5952's text: the longest run of two or more zero groups (the first of equals) as "::". */
function canonical(groups: number[]): string {
  let best = { at: -1, len: 1 };
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** "198.18.1.2/24" → "2001:2:0:1::2/64"; a bare address keeps no prefix; "default" stays. */
export function cidrTwin(cidr: string): string | null {
  if (cidr === 'default') return cidr;
  const [ip, p] = cidr.split('/') as [string, string | undefined];
  const twin = ipv6Twin(ip);
  if (twin === null) return null;
  if (p === undefined) return twin;
  const len = Number(p);
  return `${twin}/${len <= 24 ? len + 40 : len + 96}`;
}

/** Thrown when a plan holds an address without a twin: the datapath names what it could not carry. */
export class NoIpv6Twin extends Error {
  constructor(readonly address: string) {
    super(`${address} has no IPv6 twin in 2001:2::/48`);
  }
}

// what a datapath planned in IPv6 itself (routed's link-local gateway) stays as it is
const twin = (s: string): string => {
  if (s.includes(':')) return s;
  const t = cidrTwin(s);
  if (t === null) throw new NoIpv6Twin(s);
  return t;
};

/**
 * The same plan over IPv6: addresses, routes and endpoints by their twins, IPv4 forwarding as IPv6
 * forwarding, and router advertisements refused on every device that has an address (nothing of ours
 * sends one; a host's would not be measured). Devices already get no link-local address
 * (addrgenmode none, src/local/steps.ts), and the wire adds addresses without DAD.
 */
export function toIpv6(t: Topology, keep: { underlay?: 4 } = {}): Topology {
  // --underlay 4: the tunnels' outer side (their ends, and the devices that carry them) stays IPv4
  const under = keep.underlay === 4 ? tunnelCarriers(t) : new Set<string>();
  const sysctls = (t.sysctls ?? []).map((s) =>
    s.key === 'net.ipv4.ip_forward' || s.key === 'net.ipv4.conf.all.forwarding'
      ? { ...s, key: 'net.ipv6.conf.all.forwarding' }
      : s,
  );
  // once per device, however many addresses it has
  for (const d of new Set(t.addresses.map((a) => `${a.netns}/${a.dev}`).filter((d) => !under.has(d)))) {
    const [netns, dev] = d.split('/') as [string, string];
    sysctls.push({ netns, key: `net.ipv6.conf.${dev}.accept_ra`, value: '0' });
  }
  const addresses = t.addresses.map((a) => (under.has(`${a.netns}/${a.dev}`) ? a : { ...a, cidr: twin(a.cidr) }));
  // A namespace that forwards solicits a forwarded packet's next hop from the link-local address of the
  // device it leaves by: the kernel sends no neighbour solicitation from a device without one (addrgenmode
  // none gives none), so every addressed device of a forwarding namespace gets one of its own.
  const forwarding = new Set(sysctls.filter((s) => s.key === 'net.ipv6.conf.all.forwarding').map((s) => s.netns));
  const linked = new Set(addresses.filter((a) => a.cidr.startsWith('fe80:')).map((a) => `${a.netns}/${a.dev}`));
  const devs = [...new Set(addresses.filter((a) => forwarding.has(a.netns)).map((a) => `${a.netns}/${a.dev}`))];
  devs
    .filter((d) => !linked.has(d))
    .forEach((d, i) => {
      const [netns, dev] = d.split('/') as [string, string];
      addresses.push({ netns, dev, cidr: `fe80::a:${(i + 1).toString(16)}/64` });
    });
  const ep = <E extends { ip: string }>(e: E): E => ({ ...e, ip: twin(e.ip) });
  // the first pair is the endpoints, the same objects (assertValidTopology holds plans to it)
  const pairs = t.pairs.map((p) => ({ client: ep(p.client), server: ep(p.server) }));
  return {
    ...t,
    // a tunnel's ends are addresses too (VXLAN's local and remote: the underlay's)
    links: t.links.map((l) =>
      l.kind === 'vxlan' && keep.underlay !== 4 ? { ...l, local: twin(l.local), remote: twin(l.remote) } : l,
    ),
    addresses,
    ...(t.routes
      ? { routes: t.routes.map((r) => ({ ...r, dst: twin(r.dst), ...(r.via ? { via: twin(r.via) } : {}) })) }
      : {}),
    sysctls,
    endpoints: pairs[0] ?? { client: ep(t.endpoints.client), server: ep(t.endpoints.server) },
    pairs,
  };
}

/** The devices that carry a tunnel (VXLAN's `dev`: a node's NIC), as "netns/dev". */
function tunnelCarriers(t: Topology): Set<string> {
  return new Set(t.links.flatMap((l) => (l.kind === 'vxlan' ? [`${l.netns}/${l.dev}`] : [])));
}

/**
 * --underlay 6 under an IPv4 overlay: only the tunnels' outer side by its twins — their ends and the
 * addresses of the devices that carry them — with router advertisements refused there.
 */
export function underlayToIpv6(t: Topology): Topology {
  const under = tunnelCarriers(t);
  return {
    ...t,
    links: t.links.map((l) => (l.kind === 'vxlan' ? { ...l, local: twin(l.local), remote: twin(l.remote) } : l)),
    addresses: t.addresses.map((a) => (under.has(`${a.netns}/${a.dev}`) ? { ...a, cidr: twin(a.cidr) } : a)),
    sysctls: [
      ...(t.sysctls ?? []),
      ...[...under].map((d) => {
        const [netns, dev] = d.split('/') as [string, string];
        return { netns, key: `net.ipv6.conf.${dev}.accept_ra`, value: '0' };
      }),
    ],
  };
}
