import { cidrTwin, ipv6Twin } from '../../topology/family.js';
import { VM_PART } from '../../topology/guests.js';
import { ownedName } from '../../topology/well-formed.js';
import { vmPlanOf } from '../guests.js';
import { addNodes, complete, draftTopology, type Pair } from '../nodes.js';
import { pairIps, pairSuffix, type Datapath, type PlanContext } from '../types.js';
import { attachMacvtaps } from './attach.js';
import { MACVTAP_PART, macFor, type Macvtap } from './macvtap-plan.js';

/**
 * Endpoints on macvtap devices of their node's NIC, as KubeVirt's macvtap binding gives a VM one on
 * the node's NIC (no bridge, no tap of the host's own): a VM endpoint's NIC is backed by its macvtap's
 * character device (/dev/tapN, handed to qemu open); a container endpoint uses its macvtap as a
 * macvlan (a macvtap nobody opened passes its frames to the stack). Here the node's NIC is the
 * simulated node's veth, so no frame reaches a real network. The macvtaps are made by attach: the
 * plan has no link kind for them, and a VM's /dev/tapN exists only once its macvtap does.
 */
export const macvtap: Datapath = {
  name: 'macvtap',
  description: "container and VM endpoints on macvtap devices of their node's NIC (KubeVirt's macvtap binding)",
  placements: ['same-node', 'cross-node'],
  defaultPlacement: 'same-node',
  takes: ['vm-endpoint'],
  placesGuests: true,
  // its endpoints' addresses are its own (attach and the guests add them): it plans them in the family
  ipv6: true,
  kernelFailures: [
    {
      match: /type macvtap.*(Unknown device type|not supported)/s,
      meaning: 'this kernel has no macvtap (CONFIG_MACVTAP)',
    },
  ],
  notAcrossHosts: 'its macvtaps are not made on real hosts yet',
  plan,
  attach: (t, { journal, runDir }) => attachMacvtaps(t, runDir, journal),
  // the macvtaps attach made: each has carrier once its lower device has
  readiness: (t) => ({
    conditions: MACVTAP_PART.of(t)!.map((m) => ({ op: 'wait-carrier' as const, netns: m.netns, dev: m.name })),
  }),
  probeTargets: (t) => ({ traceDevices: MACVTAP_PART.of(t)!.map((m) => m.name) }),
};

function plan(ctx: PlanContext) {
  const { runId, pairs = 1, placement = 'same-node' } = ctx;
  const runDir = ctx.runDir ?? `/run/cnperf/cnp${runId}`;
  const t = draftTopology(runId, 'macvtap');
  const [a, b] = addNodes(t, runId, placement, undefined, ctx.fabric);
  const taps: Macvtap[] = [];
  const out: Pair[] = [];
  for (let i = 0; i < pairs; i++) {
    const x = pairSuffix(i);
    const ip = pairIps(i);
    const end = (side: 'c' | 's', v4: string, node: typeof a) => {
      const addr = ctx.ip === 6 ? ipv6Twin(v4)! : v4;
      const role = side === 'c' ? 'client' : 'server';
      const ns = ownedName(runId, `${side}${x}`);
      const name = ownedName(runId, `${side}${x}t`);
      const mac = macFor(runId, i, side);
      const cidr = ctx.ip === 6 ? cidrTwin(`${v4}/16`)! : `${v4}/16`;
      // only the first pair's ends may be VMs (--endpoint applies to the measured pair)
      const vm = i === 0 && ctx.vm?.endpoints[role] === 'vm';
      if (vm) {
        // the VM's macvtap stays in the node, on its NIC; the guest's eth0 is its other side
        const tapDevice = `${runDir}/tap-${name}`;
        taps.push({
          ...{ name, netns: node.netns, lower: node.nic, lowerNetns: node.netns, mac, tapDevice },
          ...(ctx.ip === 6 ? { allmulticast: true as const } : {}),
        });
        const cpu = ctx.vm?.cpus?.[side === 'c' ? 0 : 1];
        t.namespaces.push({
          name: ns,
          role,
          guest: {
            hostNetns: node.netns,
            tap: name,
            tapDevice,
            mac,
            addresses: [cidr],
            routes: [],
            ...(cpu !== undefined ? { cpu } : {}),
          },
        });
        return { netns: ns, ip: addr, dev: 'eth0' };
      }
      t.namespaces.push({ name: ns, role });
      taps.push({ name, netns: ns, lower: node.nic, lowerNetns: node.netns, mac, cidr });
      return { netns: ns, ip: addr, dev: name, devFrom: 'attach' as const };
    };
    out.push({ client: end('c', ip.client, a), server: end('s', ip.server, b) });
  }
  MACVTAP_PART.set(t, taps);
  if (ctx.vm) VM_PART.set(t, { ...vmPlanOf(ctx.vm), net_backend: 'macvtap' });
  t.rawUnsupported = 'raw frames on a macvtap are not built yet: use send, sendmmsg or tcp';
  t.xdpUnsupported = 'AF_XDP on a macvtap is not built yet: use send, sendmmsg or tcp';
  const kind = (ns: string) => (t.namespaces.find((n) => n.name === ns)?.guest ? 'VM' : 'container');
  const { client, server } = out[0]!;
  return complete(
    t,
    out,
    `${client.netns} (${kind(client.netns)}) [macvtap bridge on ${a.nic}]` +
      `${placement === 'cross-node' ? ' ─wire─ ' : ' ↔ '}` +
      `[macvtap bridge on ${b.nic}] ${server.netns} (${kind(server.netns)})`,
  );
}
