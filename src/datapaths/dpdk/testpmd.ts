import os from 'node:os';
import path from 'node:path';
import { startTestpmd, TESTPMD } from './testpmd-switch.js';
import { hugepagesUnavailable } from './hugepages.js';
import { type Endpoint, type Topology } from '../../topology/model.js';
import { BYPASS_HOOKS, switchCpuOf } from './bypass.js';
import { DPDK_PART, type DpdkPlan } from './dpdk-plan.js';
import { ownedName } from '../../topology/well-formed.js';
import { complete, draftTopology } from '../nodes.js';
import { pairIps, pairSuffix, type Datapath, type PlanContext } from '../types.js';

/**
 * The MACs (client, server) of pair i's ports for one use: locally administered, fixed so each end
 * knows the other's, distinct per pair and use so OVS-DPDK's MAC learning keeps them apart.
 */
export function dpdkMacs(i: number, use: 'rtt' | 'stream'): [string, string] {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  const base = `02:cd:${use === 'rtt' ? '00' : '01'}:${hex(i >> 8)}:${hex(i & 255)}`;
  return [`${base}:01`, `${base}:02`];
}

/** Pairs at most: every engine holds 64 MB of hugepages, and all of them poll (or yield) at once. */
export const MAX_DPDK_PAIRS = 16;

/**
 * Kernel bypass (seed 001): containers whose DPDK engines have virtio-user ports, joined by DPDK's
 * testpmd over vhost-user, io-forwarding each pair's ports to each other (0 ⇄ 1, 2 ⇄ 3, ...). The
 * containers are namespaces with no kernel interface at all: a unix socket of the switch and the run's
 * hugepages are what they share. The switch polls one CPU (the last, or --switch-cpu); the engines
 * default to another, yielding between empty polls, since on two CPUs three pollers must share (every
 * result says where each ran).
 */
export const testpmd: Datapath = {
  name: 'testpmd',
  description:
    "DPDK testpmd as the switch: each container's DPDK engine on a vhost-user port of testpmd (io " +
    'forwarding), no kernel on the path',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['switch-cpu'],
  tools: [TESTPMD],
  // the engines build IPv6 frames as IPv4 ones (engine/frame.c); testpmd forwards either untouched
  ipv6: true,
  refuse: (ctx) => bypassRefusal(ctx),
  plan: (ctx) =>
    planBypass(
      'testpmd',
      ctx,
      (c, s, plan) =>
        `${c} [virtio-user] ═vhost-user═ testpmd (io, CPU ` +
        `${plan.switchCpus.join(',')})@${plan.node} ═vhost-user═ [virtio-user] ${s}`,
    ),
  attach: (t, ctx) => startTestpmd(t, ctx),
  ...BYPASS_HOOKS,
};

/** What both DPDK datapaths refuse before anything is built. */
export function bypassRefusal({ pairs = 1 }: Pick<PlanContext, 'pairs'>): string | null {
  return (
    hugepagesUnavailable() ??
    (pairs > MAX_DPDK_PAIRS
      ? `at most ${MAX_DPDK_PAIRS} pairs: each engine holds 64 MB of hugepages, and every one of them polls`
      : null)
  );
}

/**
 * A kernel-bypass topology: a node for the switch, a client and a server container per pair
 * (namespaces without any kernel interface), each endpoint a virtio-user port of the DPDK plan;
 * `summary` names the switch (for the first pair).
 */
export function planBypass(
  sw: DpdkPlan['switch'],
  ctx: PlanContext,
  summary: (c: string, s: string, plan: DpdkPlan) => string,
): Topology {
  const { runId, runDir, pairs = 1 } = ctx;
  const t = draftTopology(runId, sw);
  const node = ownedName(runId, 'n');
  t.namespaces.push({ name: node, role: 'node' });
  const out: Array<{ client: Endpoint; server: Endpoint }> = [];
  for (let i = 0; i < pairs; i++) {
    const x = pairSuffix(i);
    const c = ownedName(runId, `c${x}`);
    const s = ownedName(runId, `s${x}`);
    t.namespaces.push({ name: c, role: 'client' }, { name: s, role: 'server' });
    const ip = pairIps(i);
    out.push({
      client: { netns: c, ip: ip.client, dev: 'virtio_user0', devFrom: 'userspace' },
      server: { netns: s, ip: ip.server, dev: 'virtio_user0', devFrom: 'userspace' },
    });
  }
  const plan = dpdkPlan(
    sw,
    runId,
    runDir ?? `/run/cnperf/cnp${runId}`,
    node,
    out.map((p) => [p.client.netns, p.server.netns]),
    switchCpuOf(ctx, sw),
  );
  DPDK_PART.set(t, plan);
  return complete(t, out, summary(out[0]!.client.netns, out[0]!.server.netns, plan));
}

/** The parts every DPDK datapath plans alike: sockets in the run's directory, MACs, hugepages, CPUs. */
export function dpdkPlan(
  sw: DpdkPlan['switch'],
  runId: string,
  dir: string,
  node: string,
  pairs: Array<[string, string]>,
  switchCpu?: number,
): DpdkPlan {
  const cpus = os.cpus().length;
  const polls = switchCpu ?? cpus - 1;
  // The switch's mbufs fill every port's RX ring (1024) twice over; 2.5 KB each with their headers.
  const switchMbufs = Math.max(8192, pairs.length * 4 * 2048 + 2048);
  const switchMemMb = Math.max(sw === 'testpmd' ? 128 : 256, Math.ceil((switchMbufs * 2560) / 2 ** 20) + 64);
  // 2 MB pages: the switch's, 64 MB for each engine, and two more (a load runs two engines beside its pair)
  const hugepages = Math.ceil((switchMemMb + (2 * pairs.length + 2) * 64) / 2);
  return {
    switch: sw,
    node,
    hugeDir: path.join(dir, 'hugepages'),
    hugepages,
    switchMemMb,
    switchMbufs,
    prefix: `cnp${runId}`,
    // in testpmd's order: its io forwarding pairs ports 0 ⇄ 1, 2 ⇄ 3, ...
    ports: pairs.flatMap(([c, s], i) =>
      (['rtt', 'stream'] as const).flatMap((use) => {
        const [cm, sm] = dpdkMacs(i, use);
        const sock = (ns: string) => path.join(dir, `vhost-${ns}${use === 'stream' ? '-st' : ''}.sock`);
        return [
          { netns: c, use, socket: sock(c), mac: cm, peerMac: sm },
          { netns: s, use, socket: sock(s), mac: sm, peerMac: cm },
        ];
      }),
    ),
    switchCpus: [polls],
    // the first CPU the switch does not poll on (on one CPU, that one: everything shares it)
    engineCpu: polls === 0 && cpus > 1 ? 1 : 0,
  };
}
