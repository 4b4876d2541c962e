import { nearest } from '../util/nearest.js';
import { UserError } from '../util/errors.js';
import { bridge } from './bridge.js';
import { loopback } from './loopback.js';
import { ipvlan, macvlan } from './macvlan.js';
import { ovs } from './ovs.js';
import { ovsDpdk } from './dpdk/ovs-dpdk.js';
import { routed } from './routed.js';
import type { Datapath, PlanContext } from './types.js';
import { veth } from './veth.js';
import { vxlan } from './vxlan.js';
import { cni } from './cni/cni.js';
import { tcx } from './ebpf/tcx.js';
import { testpmd } from './dpdk/testpmd.js';
import { xdp } from './ebpf/xdp.js';
import { existing } from './existing/existing.js';
import { podman } from './podman/podman.js';
import { host } from './host.js';
import { macvtap } from './macvtap/macvtap.js';

/** Every datapath cnperf knows, listed explicitly. */
export const DATAPATHS: readonly Datapath[] = [
  loopback,
  veth,
  bridge,
  routed,
  macvlan,
  ipvlan,
  vxlan,
  ovs,
  cni,
  xdp,
  tcx,
  podman,
  existing,
  testpmd,
  ovsDpdk,
  host,
  macvtap,
];

/**
 * Checks the options given for a datapath before anything is built: placement, mode and variant
 * against what it supports, then the datapath's own refusals. Throws a UserError that says what is
 * allowed.
 */
export function checkDatapathOptions(d: Datapath, ctx: PlanContext): void {
  const placement = ctx.placement ?? d.defaultPlacement;
  if (!d.placements.includes(placement)) {
    throw new UserError(
      `datapath '${d.name}' cannot be placed ${placement}`,
      `it supports: ${d.placements.join(', ')}`,
    );
  }
  if (ctx.mode !== undefined && d.modes && !d.modes.includes(ctx.mode))
    throw new UserError(`${d.name} --mode '${ctx.mode}': expected ${d.modes.join(', ')}`);
  if (ctx.variant !== undefined && d.variants && !d.variants.includes(ctx.variant))
    throw new UserError(`${d.name} --variant '${ctx.variant}': expected ${d.variants.join(', ')}`);
  if (ctx.hosts?.length) {
    const refusal = hostsRefusal(d, placement, ctx.hosts.length);
    if (refusal)
      throw new UserError(
        `datapath '${d.name}' --hosts: ${refusal}`,
        `across real hosts: ${DATAPATHS.filter((x) => x.takes.includes('hosts'))
          .map((x) => x.name)
          .join(', ')}`,
      );
  }
  const why = d.refuse?.(ctx);
  if (why) throw new UserError(`datapath '${d.name}': ${why}`);
}

/**
 * Why a datapath cannot run across the inventory's hosts, or null. Only datapaths that cannot cut a
 * host off its own network run there: nothing may enslave or re-address a real NIC.
 */
function hostsRefusal(d: Datapath, placement: string, hosts: number): string | null {
  if (d.name === 'bridge')
    return (
      "a bridge across hosts would have to enslave each host's real NIC, cutting the host off its own " +
      'network while the run lasts: use routed, vxlan --variant bridge or macvlan'
    );
  if (!d.takes.includes('hosts')) return 'not built across real hosts: it runs on one machine only';
  const need = placement === 'cross-node' ? 2 : 1;
  return hosts < need ? `--placement ${placement} needs ${need} hosts; the inventory has ${hosts}` : null;
}

export function datapathNames(): string[] {
  return DATAPATHS.map((d) => d.name);
}

export function getDatapath(name: string): Datapath {
  const d = DATAPATHS.find((x) => x.name === name);
  if (!d) {
    const near = nearest(name, datapathNames());
    throw new UserError(
      `unknown datapath '${name}'${near ? ` (did you mean '${near}'?)` : ''}`,
      `known datapaths: ${datapathNames().join(', ')}`,
    );
  }
  return d;
}
