import { addNodes, complete, draftTopology } from './nodes.js';
import type { Datapath } from './types.js';

/**
 * The baseline of every study across machines: the engines in each real host's own network
 * namespace, over the real network (the hosts' NICs and whatever joins them). Nothing is built: the
 * hosts' namespaces are only named for the run. Needs --hosts.
 */
export const host: Datapath = {
  name: 'host',
  description: "the engines in two real hosts' own namespaces, over the real network (needs --hosts): the baseline",
  placements: ['cross-node'],
  defaultPlacement: 'cross-node',
  takes: ['hosts'],
  // the hosts' own addresses: IPv6 when the inventory gives IPv6 ones
  ipv6: true,
  doctor: () => 'measured between real hosts: `cnperf doctor --hosts FILE` builds it there',
  refuse: ({ hosts, pairs = 1 }) =>
    !hosts?.length
      ? 'host measures between real hosts: give them with --hosts FILE (an inventory: hosts: [{name, ' +
        "address}, ...]); on one machine, 'loopback' is its own host's baseline"
      : pairs > 1
        ? 'host has one pair: the hosts themselves (their addresses)'
        : null,
  plan({ runId, hosts }) {
    const t = draftTopology(runId, 'host');
    const [a, b] = addNodes(t, runId, 'cross-node', undefined, undefined, hosts);
    const pair = {
      client: { netns: a.netns, ip: a.underlayIp, dev: a.nic },
      server: { netns: b.netns, ip: b.underlayIp, dev: b.nic },
    };
    t.rawUnsupported =
      'host: raw frames would leave on a real NIC of the host; cnperf sends raw frames only inside namespaces it made';
    t.xdpUnsupported = "host: AF_XDP would take over a queue of the host's real NIC; not on a real host's NIC";
    return complete(
      t,
      [pair],
      `${hosts![0]!.name}:${a.nic} (${a.underlayIp}) ─network─ ${hosts![1]!.name}:${b.nic} (${b.underlayIp})`,
    );
  },
};
