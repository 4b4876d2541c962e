import { attachPodman } from './attach.js';
import { PODMAN_PART, type PodmanPlan } from './podman-plan.js';
import { cidrTwin } from '../../topology/family.js';
import { ownedName } from '../../topology/well-formed.js';
import { complete, draftTopology, type Pair } from '../nodes.js';
import { ownOptions, pairSuffix, type Datapath } from '../types.js';

/**
 * What podman itself builds: a network of the run's own (netavark's bridge driver, its subnet in
 * 198.18.0.0/15, never podman's default 10.88.0.0/16), containers of an image cnperf makes from its
 * static engine, and whatever netavark adds to the host (iptables rules, ip_forward) — measured as
 * it is, then removed with the run. The containers' main process is the engine's `pause`; the
 * measuring engines enter their network namespaces (as a pod's containers share its pause
 * container's), so the packets take exactly the containers' path.
 */
export const podman: Datapath = {
  name: 'podman',
  description: "containers on a podman network of the run's (netavark bridge), as podman builds it",
  noVm: 'podman makes containers, not VMs',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['podman-driver'],
  // over IPv6 its network's subnet is in 2001:2::/48 (podman network create --ipv6), netavark's IPv6
  // firewall chains and forwarding undone as its IPv4 ones are
  ipv6: true,
  tools: ['podman'],
  readOptions(option) {
    const driver = option('podman-driver');
    return driver === 'bridge' || driver === 'macvlan' ? { driver } : undefined;
  },
  notAcrossHosts: "podman's containers are not run on real hosts yet",
  refuse(ctx) {
    const theirs = [
      ctx.offload && '--offload',
      ctx.rps !== undefined && '--rps',
      ctx.xps !== undefined && '--xps',
    ].filter(Boolean);
    return theirs.length
      ? `the containers' devices are podman's to set up: ` +
          `${theirs.join(', ')} would change what podman built (--mtu is passed to the network)`
      : null;
  },
  plan(ctx) {
    const { runId, pairs = 1 } = ctx;
    const t = draftTopology(runId, 'podman');
    const host = ownedName(runId, 'h');
    t.namespaces.push({ name: host, role: 'node', adopted: { what: "the host (podman's bridge)" } });
    const containers: Array<{ name: string; netns: string; role: 'client' | 'server' }> = [];
    const out: Pair[] = [];
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const container = (side: 'c' | 's') => {
        const role = side === 'c' ? 'client' : 'server';
        const netns = ownedName(runId, `${side}${x}`);
        const name = `cnperf-${runId}-${side}${x}`;
        t.namespaces.push({ name: netns, role, adopted: { what: `podman container ${name}` } });
        containers.push({ name, netns, role });
        // The address is podman's to give (IPAM): filled in by attach.
        return { netns, ip: ctx.ip === 6 ? '::' : '0.0.0.0', dev: 'eth0' };
      };
      out.push({ client: container('c'), server: container('s') });
    }
    // A /24 holds 126 pairs next to the gateway; more take a /16 (the bridge's route covers it)
    // (over IPv6 its twin: 2001:2::/64, or a /56)
    const subnet = cidrTwinIf(ctx.ip === 6, 2 * pairs <= 250 ? '198.18.0.0/24' : '198.18.0.0/16');
    const driver = ownOptions<{ driver: PodmanPlan['network']['driver'] }>(ctx, 'podman')?.driver ?? 'bridge';
    let parent: { dev: string; peer: string; stub: string } | undefined;
    if (driver === 'macvlan') {
      // macvlan needs a parent NIC: a veth of the run's, made by attach in the host, its peer in a
      // namespace of the run's, so that broadcasts (ARP) end there and never on a real network
      parent = { dev: ownedName(runId, 'pm'), peer: ownedName(runId, 'pw'), stub: ownedName(runId, 'w') };
      t.namespaces.push({ name: parent.stub, role: 'wire' });
    }
    PODMAN_PART.set(t, {
      image: `localhost/cnperf-${runId}:engine`,
      network: {
        name: `cnperf-${runId}`,
        driver,
        subnet,
        ...(ctx.mtu ? { mtu: ctx.mtu } : {}),
        ...(parent ? { parent } : {}),
      },
      containers,
      host,
    });
    const { client, server } = out[0]!;
    const via = parent ? `netavark macvlan on ${parent.dev}` : 'netavark bridge';
    return complete(
      t,
      out,
      `${client.netns} [eth0] ═podman network cnperf-${runId} (${via}, ${subnet})═ [eth0] ${server.netns}`,
    );
  },
  attach: (t, { journal, runDir }) => attachPodman(t, runDir, journal),
  // podman made the containers' interfaces (its bridge has STP off: ports forward at once)
  readiness: (t) => ({
    conditions: PODMAN_PART.of(t)!.containers.map((c) => ({
      op: 'wait-carrier' as const,
      netns: c.netns,
      dev: 'eth0',
    })),
  }),
  // netavark's rules are in the host's namespace: its conntrack is the network's
  probeTargets: (t) => ({ conntrack: [PODMAN_PART.of(t)!.host] }),
  describe: (t) => {
    const rt = PODMAN_PART.of(t)?.runtime;
    return rt ? `podman runs with ${runtimeLine(rt)}` : null;
  },
  report: {
    member: 'podman',
    // what podman ran with (found by probing) and what netavark put into the host's firewall
    json(t) {
      const plan = PODMAN_PART.of(t);
      return plan ? { network: plan.network, runtime: plan.runtime ?? null, firewall: plan.firewall ?? null } : null;
    },
    why(t) {
      const plan = PODMAN_PART.of(t);
      const fw = plan?.firewall;
      if (!fw) return null;
      const rt = plan.runtime;
      return (
        `netavark: ${fw.rules} rules of the host's ${fw.backend} in ${fw.chains.length} chains` +
        `${rt ? ` (podman with ${runtimeLine(rt)})` : ''}`
      );
    },
  },
};

const cidrTwinIf = (v6: boolean, cidr: string) => (v6 ? cidrTwin(cidr)! : cidr);

/** How podman had to be run here, as the build's trial containers found. */
function runtimeLine(rt: NonNullable<PodmanPlan['runtime']>): string {
  return (
    `${rt.runtime} and the ${rt.cgroup_manager} cgroup manager` +
    (rt.ulimits
      ? `, --ulimit nofile=${rt.ulimits.nofile} nproc=${rt.ulimits.nproc} (its defaults exceed this host's hard limits)`
      : '')
  );
}
