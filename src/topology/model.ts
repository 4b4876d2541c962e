/**
 * The pure description of a datapath: what namespaces, links and addresses exist and where the
 * two endpoints of a measurement sit. Datapaths produce it; only src/local/ turns it into kernel
 * state. Nothing here touches the host.
 */

export interface Namespace {
  name: string;
  /** what the namespace stands for: "client", "server", "node", "host" */
  role: string;
  /**
   * A namespace cnperf did not make (one that exists already, a container's): no step creates or
   * changes it. Named ones (netns:NAME) are used by their own name; the others get the run's name
   * from the datapath's attach (`ip netns attach`: a bind mount under /run/netns, which is all that
   * teardown removes). `devices`: which of its devices are the run's — probes read only these (all
   * when absent).
   */
  adopted?: { what: string; devices?: string[] };
  /** A VM endpoint (src/vm/): the namespace exists only inside a qemu guest; on the host, only its tap. */
  guest?: Guest;
  /** Across real hosts (--hosts): the inventory host this namespace is on (absent: this machine). */
  on?: string;
  /**
   * A host's own network namespace, named for the run with `ip netns attach`: never created or
   * deleted, and never its loopback or NIC changed; everything the run adds in it (links, routes,
   * sysctls) is journaled and removed one by one. `nic`: its NIC the datapath uses.
   */
  root?: { nic: string };
}

/** A qemu guest standing in for an endpoint's namespace: its eth0 is a virtio-net NIC behind `tap`. */
export interface Guest {
  /** the namespace qemu runs in, where its tap is (the node the endpoint's veth ended in) */
  hostNetns: string;
  /** the host-side device of the guest's NIC: a tun/tap qemu opens by this name, unless `tapDevice` is set */
  tap: string;
  /**
   * A character device that is the NIC's backend instead (a macvtap's /dev/tapN, made by the datapath's
   * attach): qemu gets it open as a file descriptor; `tap` then names its device for readiness and probes
   */
  tapDevice?: string;
  /** the guest NIC's MAC (locally administered, from the run id; a macvtap's own, where it is one) */
  mac: string;
  /** eth0's addresses and routes inside the guest */
  addresses: string[];
  routes: Array<{ dst: string; via?: string; onlink?: boolean }>;
  mtu?: number;
  /** the CPU qemu is pinned to (--cpus: the role's engine CPU) */
  cpu?: number;
}

export type Link =
  /** mac/peerMac: set where the plan must know them (BPF datapaths switch by MAC); else the kernel picks */
  | {
      kind: 'veth';
      name: string;
      netns: string;
      peer: string;
      peerNetns: string;
      mtu?: number;
      mac?: string;
      peerMac?: string;
    }
  | { kind: 'bridge'; name: string; netns: string; mtu?: number }
  /** a VM endpoint's NIC on the host side (qemu opens it by name) */
  | { kind: 'tap'; name: string; netns: string; mtu?: number }
  /** created on `lower` (in lowerNetns) and moved into netns, as a container runtime does */
  | { kind: 'macvlan'; name: string; netns: string; lower: string; lowerNetns: string; mode: MacvlanMode; mtu?: number }
  | { kind: 'ipvlan'; name: string; netns: string; lower: string; lowerNetns: string; mode: IpvlanMode; mtu?: number }
  | {
      kind: 'vxlan';
      name: string;
      netns: string;
      vni: number;
      port: number;
      local: string;
      remote: string;
      dev: string;
      mtu?: number;
    };

export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';

export interface Route {
  netns: string;
  /** "default", "198.18.0.2/32", "169.254.1.1" */
  dst: string;
  via?: string;
  dev?: string;
  /** a gateway reached over a device without a matching subnet (Calico's 169.254.1.1) */
  onlink?: boolean;
}

/** A daemon that detaches itself and writes its pid to pidfile; everything it writes is in runDir. */
export interface Daemon {
  netns: string;
  /** the process name, checked before it is stopped (a recycled pid is never signalled) */
  comm: string;
  argv: string[];
  env?: Record<string, string>;
  pidfile: string;
  runDir: string;
  /** commands run before it starts (ovsdb-tool create) */
  prepare?: string[][];
}

/** A ruleset for `nft -f -` or `iptables-restore --noflush`, loaded inside one of our namespaces. */
export interface Ruleset {
  netns: string;
  tool: 'nft' | 'iptables' | 'ip6tables';
  text: string;
  /** when set, the executor times loading it and reports it under this name (kube-proxy's rules) */
  label?: string;
}

/** A Kubernetes Service between client and server: kube-proxy's rules in every node (src/datapaths/service.ts). */
export interface ServicePath {
  proxy: 'iptables' | 'nftables';
  protocol: 'tcp' | 'udp';
  services: number;
  endpoints_per_service: number;
  /** the measured Service's place in iptables mode's KUBE-SERVICES list (1-based) */
  position: number;
  /** where the client sends, and the port the server's engine binds */
  cluster_ip: string;
  port: number;
  target_port: number;
  /** the measured Service's endpoints (the server's addresses) */
  endpoints: string[];
  /** the node namespaces holding the rules */
  nodes: string[];
}

/** A sysctl inside one of our namespaces (gone with it: nothing to restore). */
export interface Sysctl {
  netns: string;
  key: string;
  value: string;
}

/**
 * BPF programs loaded for a datapath by cnperf-bpf (engine/bpf/loader.c): one object per node, its
 * maps and programs pinned in pinDir (a directory of the run's own bpffs mount, `root`), then the
 * requests applied in order (attach a program to a device, fill a map), each a list of fields.
 */
export interface BpfLoad {
  /** the namespace whose devices the programs forward between (a node) */
  netns: string;
  /** engine/bpf/<object>.bpf.o */
  object: 'fwd_xdp' | 'fwd_tc';
  /** the run's bpffs mount (under the run's directory) */
  root: string;
  pinDir: string;
  requests: string[][];
}

/** Enslaves `dev` (in `netns`) to the bridge `master` in the same namespace. */
export interface Port {
  netns: string;
  dev: string;
  master: string;
}

export interface Address {
  netns: string;
  dev: string;
  /** "198.18.0.1/24" */
  cidr: string;
}

export interface Endpoint {
  netns: string;
  ip: string;
  /** the device the endpoint's traffic leaves through (raw frames are sent on it) */
  dev: string;
  /**
   * Where `dev` comes from when no link of the plan declares it: the datapath's attach makes it (CNI
   * plugins, a container runtime), or it is a userspace port outside the kernel (DPDK's virtio-user)
   */
  devFrom?: 'attach' | 'userspace';
}

export interface Topology {
  runId: string;
  datapath: string;
  /** one line per hop, for humans: "client ─veth─ bridge ─veth─ server" */
  summary: string;
  namespaces: Namespace[];
  links: Link[];
  ports: Port[];
  addresses: Address[];
  routes?: Route[];
  sysctls?: Sysctl[];
  /** why raw Ethernet frames from the client cannot reach the server's socket here, if they cannot */
  rawUnsupported?: string;
  /** why an AF_XDP socket on the server's device cannot receive the client's frames here, if it cannot */
  xdpUnsupported?: string;
  /** how the simulated nodes are joined, when the datapath has nodes with NICs */
  fabric?: 'wire' | 'switch';
  /** daemons started inside our namespaces (OVS), stopped by pidfile at teardown */
  daemons?: Daemon[];
  /** commands run after the daemons start (ovs-vsctl), before rules and routes */
  configure?: string[][];
  /** firewall rules loaded into our namespaces, in tables and chains of the run's own */
  rulesets?: Ruleset[];
  /** ethtool -K features for every device created (bridges excepted): seed 002's GRO/TSO studies */
  offload?: Record<string, 'on' | 'off'>;
  /** RPS / XPS CPU masks written to queue 0 of every device created (bridges excepted) */
  rps?: string;
  xps?: string;
  /** BPF programs attached to our devices, and the maps they forward with (datapaths xdp, tcx) */
  bpf?: BpfLoad[];
  /** the client reaches the server through a Service's ClusterIP (--service-proxy) */
  service?: ServicePath;
  /**
   * What one datapath, endpoint kind or placement adds that the others do not (a CNI network, podman's
   * containers, a DPDK switch, VM guests, real hosts): each its owner's typed value under its owner's
   * name, reached only through the owner's key (src/topology/parts.ts)
   */
  parts?: Record<string, unknown>;
  /** the first pair (every workload uses it) */
  endpoints: { client: Endpoint; server: Endpoint };
  /** every client/server pair, the first being `endpoints` (several with --flows) */
  pairs: Array<{ client: Endpoint; server: Endpoint }>;
}

/** Linux's IFNAMSIZ is 16 including the terminating NUL. */
