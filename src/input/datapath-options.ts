/**
 * Parsed option values → the options a datapath's plan takes, checked against the datapaths named:
 * an option that no named datapath understands is a mistake, not something to ignore.
 */
import { DATAPATHS, getDatapath } from '../datapaths/registry.js';
import type { VmOptions } from '../datapaths/guests.js';
import type { DatapathOptions } from '../datapaths/types.js';
import { UserError } from '../util/errors.js';
import { loadHostsFile } from './hosts-file.js';
import { DATAPATH_OPTION_NAMES, OPTIONS, type OptionDef, type OptionValues } from '../options/options.js';

export function datapathOptions(v: OptionValues, datapaths: readonly string[]): DatapathOptions {
  for (const key of DATAPATH_OPTION_NAMES) {
    const only = (OPTIONS[key] as OptionDef<unknown>).only;
    if (v[key] === undefined || !only) continue;
    if (!datapaths.some((d) => getDatapath(d).takes.includes(only))) {
      const takers = DATAPATHS.filter((d) => d.takes.includes(only)).map((d) => d.name);
      throw new UserError(
        `--${key} does not apply to ${datapaths.join(', ')}`,
        `datapaths that take --${key}: ${takers.join(', ')}`,
      );
    }
  }
  const o: DatapathOptions = {};
  if (v.pairs !== undefined) o.pairs = v.pairs;
  if (v.placement !== undefined) o.placement = v.placement;
  if (v.mode !== undefined) o.mode = v.mode;
  if (v.variant !== undefined) o.variant = v.variant;
  if (v.vni !== undefined) o.vni = v.vni;
  if (v['vxlan-port'] !== undefined) o.vxlanPort = v['vxlan-port'];
  if (v.mtu !== undefined) o.mtu = v.mtu;
  if (v.ip === '6') o.ip = 6;
  if (v.underlay !== undefined) o.underlay = v.underlay === '6' ? 6 : 4;
  if (
    v.netfilter !== undefined ||
    v.rules !== undefined ||
    v.conntrack !== undefined ||
    v['br-netfilter'] !== undefined
  ) {
    o.netfilter = {
      netfilter: v.netfilter ?? 'none',
      ...(v.rules !== undefined ? { rules: v.rules } : {}),
      ...(v.conntrack ? { conntrack: v.conntrack } : {}),
      ...(v['br-netfilter'] ? { brNetfilter: v['br-netfilter'] } : {}),
    };
  }
  if (
    v['service-proxy'] !== undefined ||
    v.services !== undefined ||
    v['endpoints-per-service'] !== undefined ||
    v['service-position'] !== undefined
  ) {
    o.service = {
      proxy: v['service-proxy'] ?? 'none',
      ...(v.services !== undefined ? { services: v.services } : {}),
      ...(v['endpoints-per-service'] !== undefined ? { endpointsPerService: v['endpoints-per-service'] } : {}),
      ...(v['service-position'] !== undefined ? { position: v['service-position'] } : {}),
    };
  }
  if (v.rps !== undefined) o.rps = v.rps;
  if (v.xps !== undefined) o.xps = v.xps;
  if (v.fabric !== undefined) o.fabric = v.fabric;
  // checked against the datapaths now; NIC and MTU are what connecting finds (src/remote/host-set.ts)
  // without interface: cnperf takes the NIC that routes to the other host — as a rule the one carrying the address
  if (v.hosts !== undefined)
    o.hosts = loadHostsFile(v.hosts).hosts.map((h) => ({
      name: h.name,
      address: h.address,
      nic: h.interface ?? 'NIC',
      mtu: 1500,
      ...(h.interface ? {} : { nicCarriesAddress: true }),
    }));
  if (v['ovs-datapath'] !== undefined) o.ovsDatapath = v['ovs-datapath'];
  if (v.offload !== undefined) o.offload = v.offload;
  const vm = vmOptions(v);
  if (vm) o.vm = vm;
  // the options only one datapath takes: that datapath reads them into its own value
  const option = (name: string) => (v as Record<string, unknown>)[name];
  for (const name of datapaths) {
    const own = getDatapath(name).readOptions?.(option);
    if (own !== undefined) o.own = { ...o.own, [name]: own };
  }
  return o;
}

/** --endpoint, --client-endpoint, --server-endpoint, --vm-accel, --vm-vhost → the plan's VM options. */
function vmOptions(v: OptionValues): VmOptions | undefined {
  const client = v['client-endpoint'] ?? v.endpoint ?? 'container';
  const server = v['server-endpoint'] ?? v.endpoint ?? 'container';
  if (client === 'container' && server === 'container') {
    const stray = (['vm-accel', 'vm-vhost'] as const).find((k) => v[k] !== undefined);
    if (stray)
      throw new UserError(
        `--${stray} applies to VM endpoints, and none is asked for`,
        'add --endpoint vm (or --client-endpoint vm / --server-endpoint vm)',
      );
    return undefined;
  }
  return {
    endpoints: { client, server },
    ...(v['vm-accel'] ? { accel: v['vm-accel'] } : {}),
    ...(v['vm-vhost'] ? { vhost: v['vm-vhost'] === 'on' } : {}),
  };
}
