/**
 * Planning a datapath for a run: the datapath's own plan with the options every datapath shares
 * applied (placement default, pairs, --mtu, --offload, --rps/--xps), checked before anything is
 * built. Pure. And, after a build failed, what the kernel's or a tool's answer means to the user.
 */
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { stateDir } from '../paths.js';
import { NoIpv6Twin, toIpv6, underlayToIpv6 } from '../topology/family.js';
import { type Topology } from '../topology/model.js';
import { assertValidTopology } from '../topology/well-formed.js';
import { UserError } from '../util/errors.js';
import { newRunId } from '../util/ids.js';
import { placeGuests, vmPlanOf, vmRefusal } from './guests.js';
import { VM_PART } from '../topology/guests.js';
import { checkDatapathOptions, DATAPATHS, getDatapath } from './registry.js';
import type { Datapath, DatapathOptions, PlanContext } from './types.js';
import { findTool } from '../tools/table.js';

/** Tools that options of every datapath may need (rules, offloads, sysctls), as the tool table names them. */
export const OPTION_TOOLS: readonly string[] = [
  'ip',
  'nft',
  'iptables-restore',
  'ip6tables-restore',
  'ethtool',
  'sysctl',
];

export function planDatapath(name: string, runId = newRunId(), pairs = 1, options: DatapathOptions = {}): Topology {
  const d = getDatapath(name);
  const placement = options.placement ?? d.defaultPlacement;
  const ctx: PlanContext = {
    ...options,
    placement,
    runId,
    pairs: Math.max(pairs, options.pairs ?? 1),
    runDir: path.join(stateDir(), `cnp${runId}`),
  };
  checkDatapathOptions(d, ctx);
  if (options.ip === 6) refuseIpv6(d);
  refuseHostFamily(ctx, options.underlay ?? options.ip ?? 4);
  const planned = d.plan(ctx);
  const t = inFamilies(planned, options.ip ?? 4, options.underlay);
  if (options.ip === 6) refuseHostForwarding6(d, t);
  // --mtu: every link the datapath creates, unless its plan applies it itself (vxlan: the underlay).
  if (options.mtu && !d.plansMtu) for (const l of t.links) l.mtu = options.mtu;
  if (options.fabric && !t.fabric) {
    throw new UserError(
      `--fabric applies to datapaths with simulated nodes (routed, macvlan, ipvlan, vxlan, bridge ` +
        `--placement cross-node), not ${name}${ctx.placement === 'cross-node' ? '' : ' on one node'}`,
    );
  }
  if (options.offload) t.offload = { ...t.offload, ...options.offload };
  if (options.rps) t.rps = options.rps;
  if (options.xps) t.xps = options.xps;
  const vm = options.vm;
  if (vm && (vm.endpoints.client === 'vm' || vm.endpoints.server === 'vm')) {
    const why = vmRefusal(d, ctx);
    if (why)
      throw new UserError(
        `${name} cannot take a VM endpoint: ${why}`,
        `datapaths that can: ${DATAPATHS.filter((x) => !vmRefusal(x, { variant: 'bridge' }))
          .map((x) => (x.name === 'vxlan' ? 'vxlan --variant bridge' : x.name))
          .join(', ')}`,
      );
    // a datapath whose endpoints are made for a VM (a macvtap) places its guests itself (ctx.vm)
    if (d.placesGuests) {
      if (!VM_PART.of(t)) VM_PART.set(t, vmPlanOf(vm));
      return assertValidTopology(t);
    }
    return assertValidTopology(placeGuests(t, vm));
  }
  return assertValidTopology(t);
}

/** --ip 6 where it is not built: the datapath, or what of the run, does not carry IPv6 yet. */
function refuseIpv6(d: Datapath): void {
  const which = DATAPATHS.filter((x) => x.ipv6).map((x) => x.name);
  if (!d.ipv6)
    throw new UserError(`--ip 6: ${d.name} does not carry IPv6 yet`, `IPv6 is built for: ${which.join(', ')}`);
}

/** Across real hosts the underlay is the hosts' own addresses (the inventory's): of the family measured. */
function refuseHostFamily(ctx: PlanContext, ip: 4 | 6): void {
  const other = ctx.hosts?.find((h) => isIPv6(h.address) !== (ip === 6));
  if (other)
    throw new UserError(
      `host ${other.name}'s address ${other.address} is IPv${ip === 6 ? 4 : 6}, but the run's underlay is ` +
        `IPv${ip}: across hosts the hosts' own addresses carry it`,
      `give each host's IPv${ip} address in the inventory (address:)` +
        (ip === 4 ? ', or measure with --ip 6 (vxlan: --underlay 6 under an IPv4 overlay)' : ''),
    );
}

/**
 * IPv6 forwarding in a real host's own namespace would make the host a router: it stops accepting router
 * advertisements, so an address or default route it learned from them could expire mid-run. cnperf does
 * not do that to a host (IPv4 forwarding changes nothing of the kind).
 */
function refuseHostForwarding6(d: Datapath, t: Topology): void {
  const hostOwn = new Set(t.namespaces.filter((n) => n.on !== undefined && n.root).map((n) => n.name));
  if (t.sysctls?.some((s) => hostOwn.has(s.netns) && s.key === 'net.ipv6.conf.all.forwarding'))
    throw new UserError(
      `--ip 6: ${d.name} across hosts would turn on IPv6 forwarding in a host's own namespace: the host would ` +
        'stop accepting router advertisements, and an address or default route learned from them could expire',
      'across hosts over IPv6: host, vxlan (its containers route in namespaces of their own), macvlan',
    );
}

/** The IPv4 plan in the families asked for: the overlay's (--ip) and, for a tunnel, its underlay's. */
function inFamilies(t: Topology, ip: 4 | 6, underlay: 4 | 6 = ip): Topology {
  try {
    if (ip === 6) return toIpv6(t, underlay === 4 ? { underlay } : {});
    return underlay === 6 ? underlayToIpv6(t) : t;
  } catch (e) {
    if (e instanceof NoIpv6Twin)
      throw new UserError(`--ip 6: ${t.datapath}'s plan holds ${e.address}, which has no twin in 2001:2::/48`);
    throw e;
  }
}

/** A build failure in the user's terms: the kernel feature the datapath lacks, or the package to install. */
export function explainBuildFailure(d: Datapath, message: string): string {
  for (const f of d.kernelFailures ?? []) if (f.match.test(message)) return `${f.meaning} — ${message}`;
  const missing =
    /: (\S+) not found on PATH/.exec(message)?.[1] ?? /exec of "([^"]+)" failed: No such file/.exec(message)?.[1];
  const tool = missing === undefined ? undefined : findTool(missing);
  if (tool)
    return `${missing} is not installed (Debian package ${tool.package}; scripts/setup.sh installs it) — ${message}`;
  return message;
}
