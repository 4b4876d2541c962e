/**
 * kube-proxy's rules for N ClusterIP Services, written by cnperf (structure after kube-proxy's
 * iptables and nftables proxiers; no code of theirs). Pure text generation, unit-tested:
 *
 * - iptables mode: nat PREROUTING/OUTPUT → KUBE-SERVICES, one rule per Service port matching ClusterIP,
 *   protocol and port (a linear list walked by every new connection) → KUBE-SVC-<hash> (masquerade mark
 *   for traffic from outside the cluster CIDR, `statistic --mode random` over the endpoints) →
 *   KUBE-SEP-<hash> (hairpin mark, DNAT); KUBE-POSTROUTING masquerades what was marked; the filter
 *   table's KUBE-FORWARD drops INVALID and accepts marked and ESTABLISHED traffic.
 * - nftables mode: `table ip kube-proxy`, the `services` chain one verdict-map lookup keyed by
 *   daddr . l4proto . dport (flat in N), `service-<hash>-…` chains with `numgen random mod K vmap`,
 *   `endpoint-<hash>-…` chains that DNAT.
 *
 * Over IPv6 (--ip 6) the same rules as kube-proxy's IPv6 proxier writes them: ip6tables-restore input, or
 * `table ip6 kube-proxy` — every address the twin of its IPv4 one in 2001:2::/48 (src/topology/family.ts).
 * Addresses: ClusterIPs in 198.19.128.0/17 (beyond 32 766 Services the port moves on: 80, 81, …);
 * the Services that are not measured get endpoints in 198.19.64.0/18, which nothing answers (their
 * rules are the load, never the path); the cluster CIDR is 198.18.0.0/16, the pods' range.
 */
import { cidrTwin } from '../topology/family.js';
import { createHash } from 'node:crypto';

export type ServiceProxy = 'none' | 'iptables' | 'nftables';
export const SERVICE_PROXIES: readonly ServiceProxy[] = ['none', 'iptables', 'nftables'];
export const MAX_SERVICES = 100_000;
export const MAX_ENDPOINTS_PER_SERVICE = 100;
/** Services × endpoints: the rules grow with the product (1000 × 100 is already ~44 MB of iptables rules). */
export const MAX_SERVICE_ENDPOINTS = 100_000;

export const CLUSTER_CIDR = '198.18.0.0/16';
export const SERVICE_CIDR = '198.19.128.0/17';
/** The port the measured Service's endpoints listen on (the engines' server binds it). */
export const TARGET_PORT = 8080;
/** kube-proxy's masquerade mark bit */
const MASQ = '0x4000';

const CLUSTER_IPS = 32766; // 198.19.128.1 .. 198.19.255.254
const FAKE_EPS = 16382; // 198.19.64.1 .. 198.19.127.254

function ipPlus(base: [number, number, number, number], n: number): string {
  const v = ((base[0] << 24) >>> 0) + (base[1] << 16) + (base[2] << 8) + base[3] + n;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** Service k's ClusterIP and port. */
export function clusterIpOf(k: number): { ip: string; port: number } {
  return { ip: ipPlus([198, 19, 128, 0], 1 + (k % CLUSTER_IPS)), port: 80 + Math.floor(k / CLUSTER_IPS) };
}

/** Endpoint e of an unmeasured Service k (K per Service): an address nothing answers. */
export function fakeEndpointOf(k: number, e: number, perService: number): { ip: string; port: number } {
  const j = k * perService + e;
  return { ip: ipPlus([198, 19, 64, 0], 1 + (j % FAKE_EPS)), port: TARGET_PORT + Math.floor(j / FAKE_EPS) };
}

/** The measured Service's extra endpoint addresses (endpoint 0 is the server's own address): on the server, beside it.
 * */
export function extraEndpointIp(e: number): string {
  return `198.18.255.${9 + e}`;
}

export interface ServiceSet {
  proxy: Exclude<ServiceProxy, 'none'>;
  /** 6: every address its twin in 2001:2::/48, the rules for ip6tables or nft's ip6 family */
  family?: 4 | 6;
  protocol: 'tcp' | 'udp';
  services: number;
  endpointsPerService: number;
  /** the measured Service's index (0-based) */
  measured: number;
  /** its endpoints: the server's address(es), at TARGET_PORT */
  measuredEndpoints: string[];
}

/** kube-proxy names chains by a hash of the service port name and protocol: 16 base32 characters of SHA-256. */
export function chainHash(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('')).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
    if (out.length === 16) break;
  }
  return out;
}

interface Svc {
  name: string;
  ip: string;
  port: number;
  endpoints: Array<{ ip: string; port: number }>;
}

/** What differs between the families in the rules' text. */
interface Family {
  /** an address in the family (its twin over IPv6) */
  ip: (v4: string) => string;
  host: string;
  /** ADDR:PORT as DNAT writes it */
  hostPort: (ip: string, port: number) => string;
  /** nft's family, its address match and address type */
  nft: 'ip' | 'ip6';
  addrType: string;
}

function familyOf(s: Pick<ServiceSet, 'family'>): Family {
  if (s.family !== 6)
    return { ip: (a) => a, host: '/32', hostPort: (a, p) => `${a}:${p}`, nft: 'ip', addrType: 'ipv4_addr' };
  const ip = (a: string) => cidrTwin(a) ?? a;
  return { ip, host: '/128', hostPort: (a, p) => `[${a}]:${p}`, nft: 'ip6', addrType: 'ipv6_addr' };
}

function servicesOf(s: ServiceSet): Svc[] {
  const f = familyOf(s);
  const out: Svc[] = [];
  for (let k = 0; k < s.services; k++) {
    const { ip, port } = clusterIpOf(k);
    const endpoints =
      k === s.measured
        ? s.measuredEndpoints.map((e) => ({ ip: f.ip(e), port: TARGET_PORT }))
        : Array.from({ length: s.endpointsPerService }, (_, e) => fakeEndpointOf(k, e, s.endpointsPerService)).map(
            (e) => ({ ...e, ip: f.ip(e.ip) }),
          );
    out.push({ name: `cnperf/svc-${k}:p`, ip: f.ip(ip), port, endpoints });
  }
  return out;
}

/** One `iptables-restore --noflush` input: the filter and nat tables as kube-proxy's iptables mode fills them. */
export function iptablesServices(s: ServiceSet): string {
  const p = s.protocol;
  const f = familyOf(s);
  const cluster = f.ip(CLUSTER_CIDR);
  const svcs = servicesOf(s);
  const chains: string[] = [];
  const rules: string[] = [];
  const svcRules: string[] = [];
  for (const v of svcs) {
    const svc = `KUBE-SVC-${chainHash(v.name, p)}`;
    chains.push(`:${svc} - [0:0]`);
    rules.push(
      `-A KUBE-SERVICES -d ` +
        `${v.ip}${f.host} -p ${p} -m comment --comment "${v.name} cluster IP" -m ${p} --dport ${v.port} -j ${svc}`,
    );
    svcRules.push(
      `-A ${svc} ! -s ` +
        `${cluster} -d ${v.ip}${f.host} -p ` +
        `${p} -m comment --comment "${v.name} cluster IP" -m ${p} --dport ${v.port} -j KUBE-MARK-MASQ`,
    );
    v.endpoints.forEach((e, i) => {
      const sep = `KUBE-SEP-${chainHash(v.name, p, f.hostPort(e.ip, e.port))}`;
      chains.push(`:${sep} - [0:0]`);
      const left = v.endpoints.length - i;
      // each rule takes its share of what the rules before it left: 1/left, the last one the rest
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      const to = f.hostPort(e.ip, e.port);
      svcRules.push(`-A ${svc} -m comment --comment "${v.name} -> ${to}"${pick} -j ${sep}`);
      svcRules.push(`-A ${sep} -s ${e.ip}${f.host} -m comment --comment "${v.name}" -j KUBE-MARK-MASQ`);
      svcRules.push(`-A ${sep} -p ${p} -m comment --comment "${v.name}" -m ${p} -j DNAT --to-destination ${to}`);
    });
  }
  return [
    '*filter',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-EXTERNAL-SERVICES - [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j ' +
      'KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service ' +
      'portals" -j KUBE-EXTERNAL-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j ' +
      'KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service ' +
      'portals" -j KUBE-EXTERNAL-SERVICES',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j ' +
      'KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${MASQ}/${MASQ} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate ' +
      'RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ...chains,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ}/${MASQ} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ}`,
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ}`,
    ...rules,
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule ' +
      'in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ...svcRules,
    'COMMIT',
    '',
  ].join('\n');
}

/** One `nft -f -` input: `table ip kube-proxy` as kube-proxy's nftables mode fills it. */
export function nftablesServices(s: ServiceSet): string {
  const p = s.protocol;
  const f = familyOf(s);
  const [fam, addr, type] = [f.nft, `${f.nft} daddr`, f.addrType];
  const cluster = f.ip(CLUSTER_CIDR);
  const svcs = servicesOf(s);
  const chains: string[] = [];
  const elements: string[] = [];
  for (const v of svcs) {
    // as kube-proxy: service-<hash>-<namespace>/<name>/<protocol>/<port name>, endpoint-<hash>-…__<ip>/<port>
    const tail = `${v.name.replace(/:p$/, '')}/${p}/p`;
    const svc = `service-${chainHash(v.name, p).slice(0, 8)}-${tail}`;
    const eps = v.endpoints.map(
      // nft takes no colon in a chain's name: an IPv6 endpoint's is written with dots there
      (e) =>
        `endpoint-${chainHash(v.name, p, f.hostPort(e.ip, e.port)).slice(0, 8)}-${tail}__` +
        `${e.ip.replace(/:/g, '.')}/${e.port}`,
    );
    elements.push(`    ${v.ip} . ${p} . ${v.port} : goto ${svc}`);
    chains.push(
      `  chain ${svc} {`,
      `    ${addr} ${v.ip} ${p} dport ${v.port} ${fam} saddr != ${cluster} jump mark-for-masquerade`,
      `    numgen random mod ${eps.length} vmap { ${eps.map((c, i) => `${i} : goto ${c}`).join(', ')} }`,
      '  }',
    );
    v.endpoints.forEach((e, i) => {
      chains.push(
        `  chain ${eps[i]} {`,
        `    ${fam} saddr ${e.ip} jump mark-for-masquerade`,
        `    meta l4proto ${p} dnat to ${f.hostPort(e.ip, e.port)}`,
        '  }',
      );
    });
  }
  return [
    `table ${fam} kube-proxy {`,
    '  comment "rules for kube-proxy (written by cnperf)"',
    '  map service-ips {',
    `    type ${type} . inet_proto . inet_service : verdict`,
    '    comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"',
    '  }',
    '  map no-endpoint-services {',
    `    type ${type} . inet_proto . inet_service : verdict`,
    '  }',
    '  set cluster-ips {',
    `    type ${type}`,
    '    comment "Active ClusterIPs"',
    '  }',
    `  chain mark-for-masquerade {`,
    `    mark set mark or ${MASQ}`,
    '  }',
    '  chain masquerading {',
    `    mark and ${MASQ} == 0 return`,
    `    mark set mark xor ${MASQ}`,
    '    masquerade fully-random',
    '  }',
    '  chain services {',
    `    ${addr} . meta l4proto . th dport vmap @service-ips`,
    '  }',
    '  chain service-endpoints-check {',
    `    ${addr} . meta l4proto . th dport vmap @no-endpoint-services`,
    '  }',
    '  chain cluster-ips-check {',
    `    ${addr} @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `    ${addr} ${f.ip(SERVICE_CIDR)} drop comment "Drop traffic to unallocated ClusterIPs"`,
    '  }',
    '  chain filter-forward {',
    '    type filter hook forward priority -110;',
    '    ct state new jump service-endpoints-check',
    '    ct state new jump cluster-ips-check',
    '  }',
    '  chain filter-output {',
    '    type filter hook output priority -110;',
    '    ct state new jump service-endpoints-check',
    '  }',
    '  chain nat-prerouting {',
    '    type nat hook prerouting priority -100;',
    '    jump services',
    '  }',
    '  chain nat-output {',
    '    type nat hook output priority -100;',
    '    jump services',
    '  }',
    '  chain nat-postrouting {',
    '    type nat hook postrouting priority 100;',
    '    jump masquerading',
    '  }',
    ...chains,
    '}',
    `add element ${fam} kube-proxy cluster-ips { ${[...new Set(svcs.map((v) => v.ip))].join(', ')} }`,
    `add element ${fam} kube-proxy service-ips {`,
    elements.join(',\n'),
    '}',
    '',
  ].join('\n');
}
