/**
 * Firewall rules on a datapath's forwarding path, the way kube-proxy or Weave Net fill tables (seed 000
 * traced part of the bridge's cost to Weave Net's rules): N rules that never match our traffic, then
 * one counting rule that matches it — its counter proves every packet walked past all N. The rules live
 * in a table (nft `cnp<id>`) or chain (iptables `CNP<id>`) of the run's own, inside the node's namespace.
 * Over IPv6 the same rules match IPv6 (nft `ip6 saddr`, ip6tables-restore), with the bridge's IPv6 hook.
 */
import type { Ruleset, Sysctl } from '../topology/model.js';
import type { TopologyDraft } from './nodes.js';
import { UserError } from '../util/errors.js';
import type { IpFamily } from '../topology/family.js';

export type Netfilter = 'none' | 'iptables' | 'nftables';
export const NETFILTERS: readonly Netfilter[] = ['none', 'iptables', 'nftables'];
export const MAX_RULES = 100_000;

export interface NetfilterOptions {
  netfilter?: Netfilter;
  rules?: number;
  conntrack?: 'on' | 'off';
  /** bridge: whether bridged frames go through the IP hooks (net.bridge.bridge-nf-call-iptables) */
  brNetfilter?: 'on' | 'off';
}

/**
 * The n-th rule that never matches: sources in 198.51.100.0/24 (TEST-NET-2) or, over IPv6, 2001:db8::/32
 * (the documentation prefix, RFC 3849), which cnperf never uses.
 */
function nonMatching(k: number, ip: IpFamily): { src: string; host: string; port: number } {
  const port = 1024 + Math.floor(k / 256);
  return ip === 6
    ? { src: `2001:db8::${(k % 256).toString(16)}`, host: '/128', port }
    : { src: `198.51.100.${k % 256}`, host: '/32', port };
}

/** Our traffic: the benchmarking range every datapath's endpoints use (its IPv6 twin over IPv6). */
const OURS = { 4: '198.18.0.0/15', 6: '2001:2::/48' } as const;
/** nft's match of an IPv4 or IPv6 source address */
const SADDR = { 4: 'ip saddr', 6: 'ip6 saddr' } as const;

export function nftRuleset(
  runId: string,
  family: 'inet' | 'bridge',
  rules: number,
  conntrack: boolean,
  ip: IpFamily = 4,
): string {
  const lines = [
    `table ${family} cnp${runId} {`,
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
  ];
  // `ct state invalid` matches nothing valid but makes every packet go through conntrack.
  if (conntrack) lines.push('    ct state invalid drop');
  for (let k = 0; k < rules; k++) {
    const r = nonMatching(k, ip);
    lines.push(`    ${SADDR[ip]} ${r.src} udp dport ${r.port} drop`);
  }
  lines.push(`    ${SADDR[ip]} ${OURS[ip]} counter comment "cnperf run ${runId}: reached the end"`, '  }', '}');
  return lines.join('\n') + '\n';
}

/** iptables-restore's input, or ip6tables-restore's over IPv6 (the same syntax). */
export function iptablesRuleset(runId: string, rules: number, conntrack: boolean, ip: IpFamily = 4): string {
  const chain = `CNP${runId.toUpperCase()}`;
  const lines = ['*filter', `:${chain} - [0:0]`, `-A FORWARD -m comment --comment "cnperf run ${runId}" -j ${chain}`];
  if (conntrack) lines.push(`-A ${chain} -m conntrack --ctstate INVALID -j DROP`);
  for (let k = 0; k < rules; k++) {
    const r = nonMatching(k, ip);
    lines.push(`-A ${chain} -s ${r.src}${r.host} -p udp -m udp --dport ${r.port} -j DROP`);
  }
  lines.push(`-A ${chain} -s ${OURS[ip]} -m comment --comment "cnperf run ${runId}: reached the end"`, 'COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * Adds the rules (and the bridge sysctl) to every forwarding node of t. `bridged`: traffic crosses a
 * Linux bridge there, so the IP hooks see it only through br_netfilter.
 */
export function addNetfilter(t: TopologyDraft, o: NetfilterOptions, bridged: boolean, ip: IpFamily = 4): void {
  const netfilter = o.netfilter ?? 'none';
  const rules = o.rules ?? 0;
  const conntrack = o.conntrack === 'on';
  if (netfilter === 'none' && (rules > 0 || conntrack))
    throw new UserError('--rules and --conntrack need --netfilter iptables or nftables');
  if (!bridged && o.brNetfilter !== undefined)
    throw new UserError(`--br-netfilter applies to bridged datapaths, not ${t.datapath}`);
  const brOn = (o.brNetfilter ?? 'on') === 'on';
  if (bridged && netfilter === 'iptables' && !brOn)
    throw new UserError(
      'iptables sees bridged frames only through br_netfilter: drop --br-netfilter off, or use --netfilter nftables',
    );
  if (bridged && netfilter === 'nftables' && !brOn && conntrack)
    throw new UserError(
      '--conntrack on needs --br-netfilter on for bridged frames (cnperf does not use bridge-family conntrack)',
    );
  const nodes = t.namespaces.filter((n) => n.role === 'node').map((n) => n.name);
  const rulesets: Ruleset[] = [];
  const sysctls: Sysctl[] = [];
  for (const netns of nodes) {
    // Set it either way: the kernel's default differs between kernels and distributions.
    if (bridged)
      sysctls.push({
        netns,
        key: ip === 6 ? 'net.bridge.bridge-nf-call-ip6tables' : 'net.bridge.bridge-nf-call-iptables',
        value: brOn ? '1' : '0',
      });
    if (netfilter === 'nftables')
      rulesets.push({
        netns,
        tool: 'nft',
        text: nftRuleset(t.runId, bridged && !brOn ? 'bridge' : 'inet', rules, conntrack, ip),
      });
    if (netfilter === 'iptables')
      rulesets.push({
        netns,
        tool: ip === 6 ? 'ip6tables' : 'iptables',
        text: iptablesRuleset(t.runId, rules, conntrack, ip),
      });
  }
  t.rulesets = [...(t.rulesets ?? []), ...rulesets];
  t.sysctls = [...(t.sysctls ?? []), ...sysctls];
}
