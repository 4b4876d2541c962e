/** The datapath options shared by `quick` and `topo up`, checked against the datapaths named. */
import { getDatapath } from '../datapaths/registry.js';
import { MAX_RULES, NETFILTERS, type Netfilter } from '../datapaths/netfilter.js';
import { MAX_PAIRS, OFFLOAD_FEATURES, PLACEMENTS, type DatapathOption, type Placement } from '../datapaths/types.js';
import type { DatapathOptions } from '../runner/measure.js';
import { UserError } from '../util/errors.js';
import { parseIntIn } from '../util/units.js';
import { str, type OptionSpec, type Parsed } from './args.js';
import { readNetworkConfig } from '../cni/config.js';

export const DATAPATH_OPTION_SPEC: OptionSpec = {
  pairs: { type: 'string' },
  placement: { type: 'string' },
  mode: { type: 'string' },
  variant: { type: 'string' },
  vni: { type: 'string' },
  'vxlan-port': { type: 'string' },
  mtu: { type: 'string' },
  offload: { type: 'string' },
  netfilter: { type: 'string' },
  rules: { type: 'string' },
  conntrack: { type: 'string' },
  'br-netfilter': { type: 'string' },
  rps: { type: 'string' },
  xps: { type: 'string' },
  'ovs-datapath': { type: 'string' },
  fabric: { type: 'string' },
  'cni-config': { type: 'string' },
};
export const DATAPATH_OPTION_NAMES = Object.keys(DATAPATH_OPTION_SPEC);

export function datapathOptions(p: Parsed, datapaths: readonly string[]): DatapathOptions {
  const o: DatapathOptions = {};
  // An option no named datapath understands is a mistake, not something to ignore.
  for (const key of ['mode', 'variant', 'vni', 'vxlan-port', 'ovs-datapath', 'cni-config'] as DatapathOption[]) {
    if (str(p, key) === undefined) continue;
    if (!datapaths.some((d) => getDatapath(d).takes.includes(key))) {
      throw new UserError(`--${key} does not apply to ${datapaths.join(', ')}`, `datapaths that take --${key}: ${['macvlan', 'ipvlan', 'vxlan', 'ovs', 'cni'].filter((d) => getDatapath(d).takes.includes(key)).join(', ')}`);
    }
  }
  const pairs = str(p, 'pairs');
  if (pairs !== undefined) o.pairs = parseIntIn(pairs, '--pairs', 1, MAX_PAIRS);
  const placement = str(p, 'placement');
  if (placement !== undefined) {
    if (!PLACEMENTS.includes(placement as Placement)) throw new UserError(`--placement '${placement}': expected ${PLACEMENTS.join(' or ')}`);
    o.placement = placement as Placement;
  }
  const mode = str(p, 'mode');
  if (mode !== undefined) o.mode = mode;
  const variant = str(p, 'variant');
  if (variant !== undefined) o.variant = variant;
  const vni = str(p, 'vni');
  if (vni !== undefined) o.vni = parseIntIn(vni, '--vni', 1, 16_777_215);
  const port = str(p, 'vxlan-port');
  if (port !== undefined) o.vxlanPort = parseIntIn(port, '--vxlan-port', 1, 65535);
  const mtu = str(p, 'mtu');
  if (mtu !== undefined) o.mtu = parseIntIn(mtu, '--mtu', 1280, 65535);
  const nf = ['netfilter', 'rules', 'conntrack', 'br-netfilter'].filter((k) => str(p, k) !== undefined);
  if (nf.length) {
    if (!datapaths.some((d) => getDatapath(d).takes.includes('netfilter'))) {
      throw new UserError(`--${nf[0]} does not apply to ${datapaths.join(', ')}`, 'netfilter rules go on a forwarding path: datapaths bridge and routed');
    }
    const netfilter = str(p, 'netfilter') ?? 'none';
    if (!(NETFILTERS as readonly string[]).includes(netfilter)) throw new UserError(`--netfilter '${netfilter}': expected ${NETFILTERS.join(', ')}`);
    const onOff = (k: string): 'on' | 'off' | undefined => {
      const v = str(p, k);
      if (v !== undefined && v !== 'on' && v !== 'off') throw new UserError(`--${k} '${v}': expected on or off`);
      return v as 'on' | 'off' | undefined;
    };
    const rules = str(p, 'rules');
    o.netfilter = {
      netfilter: netfilter as Netfilter,
      ...(rules !== undefined ? { rules: parseIntIn(rules, '--rules', 0, MAX_RULES) } : {}),
      ...(onOff('conntrack') ? { conntrack: onOff('conntrack') } : {}),
      ...(onOff('br-netfilter') ? { brNetfilter: onOff('br-netfilter') } : {}),
    };
  }
  for (const key of ['rps', 'xps'] as const) {
    const mask = str(p, key);
    if (mask === undefined) continue;
    if (!/^[0-9a-f]{1,8}(,[0-9a-f]{8})*$/i.test(mask)) throw new UserError(`--${key} '${mask}': expected a hexadecimal CPU mask as in /sys (e.g. 3 for CPUs 0 and 1)`);
    o[key] = mask.toLowerCase();
  }
  const fabric = str(p, 'fabric');
  if (fabric !== undefined) {
    if (fabric !== 'wire' && fabric !== 'switch') throw new UserError(`--fabric '${fabric}': expected wire (a veth between the nodes) or switch (a bridge in a fabric namespace)`);
    o.fabric = fabric;
  }
  const ovsDatapath = str(p, 'ovs-datapath');
  if (ovsDatapath !== undefined) {
    if (ovsDatapath !== 'netdev' && ovsDatapath !== 'system') throw new UserError(`--ovs-datapath '${ovsDatapath}': expected netdev (userspace) or system (kernel module)`);
    o.ovsDatapath = ovsDatapath;
  }
  const offload = str(p, 'offload');
  if (offload !== undefined) o.offload = parseOffload(offload);
  const cniConfig = str(p, 'cni-config');
  if (cniConfig !== undefined) o.cni = readNetworkConfig(cniConfig);
  // vxlan always crosses nodes: say so once, instead of refusing the default placement.
  if (o.placement === undefined && datapaths.length > 0 && datapaths.every((d) => d === 'vxlan')) o.placement = 'cross-node';
  return o;
}

/** "gro=off,tso=off" → {gro: 'off', tso: 'off'}; names ethtool -K knows, values on/off. */
export function parseOffload(text: string): Record<string, 'on' | 'off'> {
  const out: Record<string, 'on' | 'off'> = {};
  for (const item of text.split(',')) {
    const m = /^([a-z-]+)=(on|off)$/.exec(item.trim());
    if (!m) throw new UserError(`--offload '${item}': expected FEATURE=on|off, e.g. --offload gro=off,tso=off`);
    if (!(OFFLOAD_FEATURES as readonly string[]).includes(m[1]!)) throw new UserError(`--offload: unknown feature '${m[1]}'`, `features: ${OFFLOAD_FEATURES.join(', ')}`);
    if (m[1]! in out) throw new UserError(`--offload: '${m[1]}' named twice`);
    out[m[1]!] = m[2] as 'on' | 'off';
  }
  return out;
}
