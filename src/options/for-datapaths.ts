/** The options that build the datapath (part of OPTIONS; `only` narrows one to the datapaths that take it). */
import os from 'node:os';
import { MAX_RULES, NETFILTERS, type Netfilter } from '../datapaths/netfilter.js';
import {
  MAX_ENDPOINTS_PER_SERVICE,
  MAX_SERVICES,
  SERVICE_PROXIES,
  type ServiceProxy,
} from '../datapaths/service-rules.js';
import { MAX_PAIRS, PLACEMENTS, type Placement } from '../datapaths/types.js';
import { parseIntIn } from '../util/units.js';
import { oneOf, intIn, onOff, cpuMask, text, endpointSpec, ipAddress, def, parseOffload } from './option-kit.js';

export const DATAPATH_OPTIONS = {
  // Datapath options: how the datapath is built.
  pairs: def<number>({
    type: 'string',
    for: 'datapath',
    value: 'N',
    help: `container pairs (1..${MAX_PAIRS}); rtt measures each in turn`,
    parse: intIn(1, MAX_PAIRS),
  }),
  placement: def<Placement>({
    type: 'string',
    for: 'datapath',
    value: PLACEMENTS.join('|'),
    help: "one simulated node, or two joined by a wire (default: the datapath's own)",
    parse: oneOf(PLACEMENTS),
  }),
  mode: def<string>({
    type: 'string',
    for: 'datapath',
    only: 'mode',
    value: 'M',
    help: 'macvlan/ipvlan mode',
    parse: text,
  }),
  variant: def<string>({
    type: 'string',
    for: 'datapath',
    only: 'variant',
    value: 'host|bridge',
    help: 'vxlan: apps on the nodes (host) or Docker overlay (bridge)',
    parse: text,
  }),
  vni: def<number>({
    type: 'string',
    for: 'datapath',
    only: 'vni',
    value: 'N',
    help: 'VXLAN network identifier',
    parse: intIn(1, 16_777_215),
  }),
  'vxlan-port': def<number>({
    type: 'string',
    for: 'datapath',
    only: 'vxlan-port',
    value: 'N',
    help: 'VXLAN UDP port',
    parse: intIn(1, 65535),
  }),
  underlay: def<'4' | '6'>({
    type: 'string',
    for: 'datapath',
    only: 'underlay',
    value: '4|6',
    help: "vxlan: the underlay's family (the tunnel's outer header), when not the overlay's (--ip)",
    parse: oneOf(['4', '6'] as const, '4 or 6'),
  }),
  mtu: def<number>({
    type: 'string',
    for: 'datapath',
    value: 'N',
    help: 'MTU of every link the datapath creates (vxlan: of the underlay)',
    parse: intIn(1280, 65535),
  }),
  ip: def<'4' | '6' | 'dual'>({
    type: 'string',
    for: 'datapath',
    value: '4|6|dual',
    help:
      'address family: IPv4 (198.18.0.0/15, default), IPv6 (2001:2::/48; docs/datapaths.md says which datapaths), ' +
      'or dual: each datapath measured over both, one result per family',
    parse: oneOf(['4', '6', 'dual'] as const, '4, 6 or dual'),
  }),
  offload: def<Record<string, 'on' | 'off'>>({
    type: 'string',
    for: 'datapath',
    value: 'gro=off,tso=off,...',
    help: 'ethtool -K features on every device created',
    parse: parseOffload,
  }),
  netfilter: def<Netfilter>({
    type: 'string',
    for: 'datapath',
    only: 'netfilter',
    value: NETFILTERS.join('|'),
    help: 'firewall rules on the forwarding path',
    parse: oneOf(NETFILTERS),
  }),
  rules: def<number>({
    type: 'string',
    for: 'datapath',
    only: 'netfilter',
    value: 'N',
    help: 'how many non-matching rules precede the accepting one',
    parse: intIn(0, MAX_RULES),
  }),
  conntrack: def<'on' | 'off'>({
    type: 'string',
    for: 'datapath',
    only: 'netfilter',
    value: 'on|off',
    help: 'connection tracking on the forwarding path',
    parse: onOff,
  }),
  'br-netfilter': def<'on' | 'off'>({
    type: 'string',
    for: 'datapath',
    only: 'netfilter',
    value: 'on|off',
    help: 'bridged frames through iptables (br_netfilter)',
    parse: onOff,
  }),
  'service-proxy': def<ServiceProxy>({
    type: 'string',
    for: 'datapath',
    only: 'service-proxy',
    value: SERVICE_PROXIES.join('|'),
    help: "the client sends to a Service's ClusterIP through kube-proxy's rules in the nodes",
    parse: oneOf(SERVICE_PROXIES),
  }),
  services: def<number>({
    type: 'string',
    for: 'datapath',
    only: 'service-proxy',
    value: 'N',
    help: `ClusterIP Services in the rules (1..${MAX_SERVICES}, default 1)`,
    parse: intIn(1, MAX_SERVICES),
  }),
  'endpoints-per-service': def<number>({
    type: 'string',
    for: 'datapath',
    only: 'service-proxy',
    value: 'K',
    help:
      `endpoints of every Service ` +
      `(1..${MAX_ENDPOINTS_PER_SERVICE}, default 1); the measured one's are addresses of the server`,
    parse: intIn(1, MAX_ENDPOINTS_PER_SERVICE),
  }),
  'service-position': def<'first' | 'last' | number>({
    type: 'string',
    for: 'datapath',
    only: 'service-proxy',
    value: 'first|last|N',
    help: "the measured Service's place in iptables mode's KUBE-SERVICES list (default last: the worst case)",
    parse: (t, f) => (t === 'first' || t === 'last' ? t : parseIntIn(t, f, 1, MAX_SERVICES)),
  }),
  rps: def<string>({
    type: 'string',
    for: 'datapath',
    value: 'MASK',
    help: 'RPS CPU mask on every device created',
    parse: cpuMask,
  }),
  xps: def<string>({
    type: 'string',
    for: 'datapath',
    value: 'MASK',
    help: 'XPS CPU mask on every device created',
    parse: cpuMask,
  }),
  'ovs-datapath': def<'netdev' | 'system'>({
    type: 'string',
    for: 'datapath',
    only: 'ovs-datapath',
    value: 'netdev|system',
    help: 'OVS userspace or kernel datapath',
    parse: oneOf(['netdev', 'system'] as const, 'netdev (userspace) or system (kernel module)'),
  }),
  hosts: def<string>({
    type: 'string',
    for: 'datapath',
    value: 'FILE',
    help:
      'real hosts over ssh (a YAML inventory: hosts: [{name, address, user, port, identity, ' +
      'known_hosts, interface}]): the nodes are those hosts',
    experiment: false,
    parse: text,
  }),
  fabric: def<'wire' | 'switch'>({
    type: 'string',
    for: 'datapath',
    value: 'wire|switch',
    help: 'how simulated nodes are joined',
    parse: oneOf(
      ['wire', 'switch'] as const,
      'wire (a veth between the nodes) or switch (a bridge in a fabric namespace)',
    ),
  }),
  'switch-cpu': def<number>({
    type: 'string',
    for: 'datapath',
    only: 'switch-cpu',
    value: 'N',
    help: 'testpmd, ovs-dpdk: the CPU the switch polls on (default the last); the engines default to another',
    parse: (t, f) => parseIntIn(t, f, 0, os.cpus().length - 1),
  }),
  'podman-driver': def<'bridge' | 'macvlan'>({
    type: 'string',
    for: 'datapath',
    only: 'podman-driver',
    value: 'bridge|macvlan',
    help: "podman: the network's driver (macvlan: on a veth of the run's in the host, never a real NIC)",
    parse: oneOf(['bridge', 'macvlan'] as const),
  }),
  endpoint: def<'container' | 'vm'>({
    type: 'string',
    for: 'datapath',
    value: 'container|vm',
    help:
      'both endpoints as containers (namespaces) or as VMs (qemu guests behind taps; datapaths bridge, ' +
      'routed, vxlan --variant bridge)',
    parse: oneOf(['container', 'vm'] as const),
  }),
  'client-endpoint': def<'container' | 'vm'>({
    type: 'string',
    for: 'datapath',
    value: 'container|vm',
    help: 'the client alone as a container or a VM (overrides --endpoint)',
    parse: oneOf(['container', 'vm'] as const),
  }),
  'server-endpoint': def<'container' | 'vm'>({
    type: 'string',
    for: 'datapath',
    value: 'container|vm',
    help: 'the server alone as a container or a VM (overrides --endpoint)',
    parse: oneOf(['container', 'vm'] as const),
  }),
  'vm-accel': def<'auto' | 'kvm' | 'tcg'>({
    type: 'string',
    for: 'datapath',
    value: 'auto|kvm|tcg',
    help: 'VM endpoints: KVM, TCG emulation, or KVM where /dev/kvm boots a standard guest (auto, the default)',
    parse: oneOf(['auto', 'kvm', 'tcg'] as const),
  }),
  'vm-vhost': def<'on' | 'off'>({
    type: 'string',
    for: 'datapath',
    value: 'on|off',
    help: 'VM endpoints: the tap with vhost-net (needs /dev/vhost-net; default off)',
    parse: onOff,
  }),
  client: def<string>({
    type: 'string',
    for: 'datapath',
    only: 'existing',
    value: 'netns:NAME|pid:PID|podman:NAME|docker:NAME',
    help: "existing: the client's namespace",
    parse: endpointSpec,
  }),
  server: def<string>({
    type: 'string',
    for: 'datapath',
    only: 'existing',
    value: 'netns:NAME|pid:PID|podman:NAME|docker:NAME',
    help: "existing: the server's namespace",
    parse: endpointSpec,
  }),
  'server-address': def<string>({
    type: 'string',
    for: 'datapath',
    only: 'existing',
    value: 'IP',
    help:
      "existing: the server's address (default: the first global address of the family measured on its " +
      'default-route device)',
    parse: ipAddress,
  }),
  'cni-config': def<string>({
    type: 'string',
    for: 'datapath',
    only: 'cni-config',
    value: 'FILE',
    help: 'the CNI network configuration (.conflist or .conf)',
    parse: text,
  }),
} as const;
