/**
 * A Kubernetes Service in front of the server (--service-proxy): the client sends to a ClusterIP, the
 * node's kube-proxy rules (./service-rules.ts) DNAT it to the server, and conntrack un-NATs the reply.
 * Planning only: the rules go into each node's namespace as one ruleset (one iptables-restore or nft -f
 * per node, timed by the executor), with what the path needs around them — forwarding on, ICMP
 * redirects off (the node forwards back out of the interface a request came in on), bridged frames
 * through the IP hooks (br_netfilter: the reply crosses the bridge without being routed, and only
 * conntrack there turns its source back into the ClusterIP), and a route to the Service range.
 */
import { cidrTwin } from '../topology/family.js';
import { UserError } from '../util/errors.js';
import type { TopologyDraft } from './nodes.js';
import {
  clusterIpOf,
  extraEndpointIp,
  iptablesServices,
  MAX_ENDPOINTS_PER_SERVICE,
  MAX_SERVICES,
  MAX_SERVICE_ENDPOINTS,
  nftablesServices,
  SERVICE_CIDR,
  TARGET_PORT,
  type ServiceProxy,
  type ServiceSet,
} from './service-rules.js';

export interface ServiceOptions {
  proxy: ServiceProxy;
  services?: number;
  endpointsPerService?: number;
  /** where the measured Service sits in iptables mode's KUBE-SERVICES list: first, last (default, the worst case) or
   * 1-based N */
  position?: 'first' | 'last' | number;
  /** the measured traffic's protocol (the workload's): tcp for rr, crr and TCP streams, else udp */
  protocol?: 'tcp' | 'udp';
}

/** Where a datapath's containers reach the node at layer 3, when they have no default route to it (bridges). */
export interface ServiceGateway {
  /** the node namespace and its device (a bridge) that gets the address */
  netns: string;
  dev: string;
  /** the gateway address, in the containers' subnet, with its prefix */
  cidr: string;
  /** the client namespaces that route the Service range through it */
  clients: Array<{ netns: string; dev: string }>;
}

export function measuredIndex(o: ServiceOptions, services: number): number {
  const pos = o.position ?? 'last';
  if (pos === 'first') return 0;
  if (pos === 'last') return services - 1;
  if (!Number.isInteger(pos) || pos < 1 || pos > services)
    throw new UserError(`--service-position ${pos}: expected first, last or 1..${services} (the number of Services)`);
  return pos - 1;
}

/**
 * Adds the Service path to a draft whose first pair is planned. `bridged`: the nodes switch the
 * containers' frames on a Linux bridge (the reply is bridged, so br_netfilter must show it to conntrack).
 */
export function addServices(
  t: TopologyDraft,
  server: { netns: string; ip: string; dev: string },
  o: ServiceOptions,
  bridged: boolean,
  gateways: ServiceGateway[] = [],
  family: 4 | 6 = 4,
): void {
  if (o.proxy === 'none') {
    if (o.services !== undefined || o.endpointsPerService !== undefined || o.position !== undefined)
      throw new UserError(
        '--services, --endpoints-per-service and --service-position need --service-proxy iptables or nftables',
      );
    return;
  }
  const services = o.services ?? 1;
  const perService = o.endpointsPerService ?? 1;
  if (services < 1 || services > MAX_SERVICES)
    throw new UserError(`--services ${services}: expected 1..${MAX_SERVICES}`);
  if (perService < 1 || perService > MAX_ENDPOINTS_PER_SERVICE)
    throw new UserError(`--endpoints-per-service ${perService}: expected 1..${MAX_ENDPOINTS_PER_SERVICE}`);
  if (services * perService > MAX_SERVICE_ENDPOINTS)
    throw new UserError(
      `--services ${services} × --endpoints-per-service ` +
        `${perService} = ${services * perService} endpoints: at most ` +
        `${MAX_SERVICE_ENDPOINTS} in all (the rules grow with the product)`,
    );
  const measured = measuredIndex(o, services);
  if (t.namespaces.filter((n) => n.role === 'client').length > 1)
    throw new UserError(
      "--service-proxy with several pairs: the Service's endpoints are the first pair's server (not built " +
        'for --pairs or --flows > 1)',
    );
  const protocol = o.protocol ?? 'udp';

  // The measured Service's endpoints: the server, and beside it on its device (K > 1) extra
  // addresses in the same subnet, reached the way the server's own address is.
  const serverAddr = t.addresses.find(
    (a) => a.netns === server.netns && a.dev === server.dev && a.cidr.startsWith(`${server.ip}/`),
  );
  if (perService > 1 && !serverAddr)
    throw new UserError(
      `--endpoints-per-service ` +
        `${perService}: the ${t.datapath} datapath's server address is assigned at run time; it takes only 1`,
    );
  const endpoints = [server.ip];
  for (let e = 1; e < perService; e++) {
    const ip = extraEndpointIp(e);
    endpoints.push(ip);
    t.addresses.push({ netns: server.netns, dev: server.dev, cidr: `${ip}/${serverAddr!.cidr.split('/')[1]}` });
    for (const r of (t.routes ?? []).filter((x) => x.dst === `${server.ip}/32`))
      t.routes!.push({ ...r, dst: `${ip}/32` });
  }

  const set: ServiceSet = {
    proxy: o.proxy,
    family,
    protocol,
    services,
    endpointsPerService: perService,
    measured,
    measuredEndpoints: endpoints,
  };
  const text = o.proxy === 'iptables' ? iptablesServices(set) : nftablesServices(set);
  const nodes = t.namespaces.filter((n) => n.role === 'node').map((n) => n.name);
  if (nodes.length === 0)
    throw new UserError(`--service-proxy: the ${t.datapath} datapath has no node to run kube-proxy's rules in`);
  t.rulesets = [
    ...(t.rulesets ?? []),
    ...nodes.map((netns) => ({
      netns,
      tool: o.proxy === 'nftables' ? ('nft' as const) : family === 6 ? ('ip6tables' as const) : ('iptables' as const),
      text,
      label: `${o.proxy} rules for ${services} Service${services === 1 ? '' : 's'}`,
    })),
  ];
  t.sysctls = t.sysctls ?? [];
  for (const netns of nodes) {
    t.sysctls.push(
      { netns, key: 'net.ipv4.ip_forward', value: '1' },
      { netns, key: 'net.ipv4.conf.all.send_redirects', value: '0' },
    );
    if (bridged && !t.sysctls.some((s) => s.netns === netns && s.key === 'net.bridge.bridge-nf-call-iptables'))
      t.sysctls.push({ netns, key: 'net.bridge.bridge-nf-call-iptables', value: '1' });
    // bridged IPv6 frames through the IPv6 hooks: its own switch
    if (bridged && family === 6) t.sysctls.push({ netns, key: 'net.bridge.bridge-nf-call-ip6tables', value: '1' });
  }
  if (bridged && t.sysctls.some((s) => s.key === 'net.bridge.bridge-nf-call-iptables' && s.value === '0')) {
    throw new UserError(
      '--service-proxy on a bridge needs --br-netfilter on: the reply is bridged, and only conntrack in the ' +
        'IP hooks turns its source back into the ClusterIP',
    );
  }
  for (const g of gateways) {
    t.addresses.push({ netns: g.netns, dev: g.dev, cidr: g.cidr });
    for (const c of g.clients)
      t.routes!.push({ netns: c.netns, dst: SERVICE_CIDR, via: g.cidr.split('/')[0]!, dev: c.dev });
  }
  const { ip: v4, port } = clusterIpOf(measured);
  // the plan's own addresses become their twins with the rest of it (src/topology/family.ts); these are text
  const twin = (a: string) => (family === 6 ? (cidrTwin(a) ?? a) : a);
  const ip = twin(v4);
  t.service = {
    proxy: o.proxy,
    protocol,
    services,
    endpoints_per_service: perService,
    position: measured + 1,
    cluster_ip: ip,
    port,
    target_port: TARGET_PORT,
    endpoints: endpoints.map(twin),
    nodes,
  };
}
