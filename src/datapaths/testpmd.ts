import os from 'node:os';
import path from 'node:path';
import { startTestpmd, TESTPMD } from '../dpdk/testpmd.js';
import { hugepagesUnavailable } from '../dpdk/hugepages.js';
import { ownedName, type DpdkPlan, type Topology } from '../topology/model.js';
import { complete, draftTopology } from './nodes.js';
import { pairIps, type Datapath, type PlanContext } from './types.js';

/** MACs of the endpoints' virtio-user ports: locally administered, the run's, fixed so each end knows the other's. */
export const DPDK_CLIENT_MAC = '02:cd:00:00:00:01';
export const DPDK_SERVER_MAC = '02:cd:00:00:00:02';

/**
 * Kernel bypass (seed 001): two containers whose DPDK engines have virtio-user ports, joined by DPDK's
 * testpmd over vhost-user, io-forwarding port 0 ⇄ port 1. The containers are namespaces with no
 * kernel interface at all: a unix socket of the switch and the run's hugepages are what they share.
 * The switch polls one CPU (the last, or --switch-cpu); the engines default to another, yielding between
 * empty polls, since on two CPUs three pollers must share (every result says where each ran).
 */
export const testpmd: Datapath = {
  name: 'testpmd',
  description: "DPDK testpmd as the switch: each container's DPDK engine on a vhost-user port of testpmd (io forwarding), no kernel on the path",
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['switch-cpu'],
  tools: [{ tool: TESTPMD, package: 'dpdk' }],
  refuse: ({ pairs = 1 }) => hugepagesUnavailable() ?? (pairs > 1 ? 'testpmd io-forwards port 0 to port 1 and back: one client/server pair' : null),
  plan: (ctx) => planBypass('testpmd', ctx, (c, s, plan) => `${c} [virtio-user] ═vhost-user═ testpmd (io, CPU ${plan.switchCpus.join(',')})@${plan.node} ═vhost-user═ [virtio-user] ${s}`),
  attach: (t, ctx) => startTestpmd(t, ctx),
};

/**
 * A kernel-bypass topology: a node for the switch, two containers (namespaces without any kernel
 * interface), each endpoint a virtio-user port of the DPDK plan; `summary` names the switch.
 */
export function planBypass(sw: DpdkPlan['switch'], { runId, runDir, switchCpu }: PlanContext, summary: (c: string, s: string, plan: DpdkPlan) => string): Topology {
  const t = draftTopology(runId, sw);
  const node = ownedName(runId, 'n');
  const c = ownedName(runId, 'c');
  const s = ownedName(runId, 's');
  t.namespaces.push({ name: node, role: 'node' }, { name: c, role: 'client' }, { name: s, role: 'server' });
  t.dpdk = dpdkPlan(sw, runId, runDir ?? `/run/cnperf/cnp${runId}`, node, [c, s], switchCpu);
  const ip = pairIps(0);
  return complete(t, [{ client: { netns: c, ip: ip.client, dev: 'virtio_user0' }, server: { netns: s, ip: ip.server, dev: 'virtio_user0' } }], summary(c, s, t.dpdk));
}

/** The parts every DPDK datapath plans alike: sockets in the run's directory, MACs, hugepages, CPUs. */
export function dpdkPlan(sw: DpdkPlan['switch'], runId: string, dir: string, node: string, [c, s]: [string, string], switchCpu?: number): DpdkPlan {
  const cpus = os.cpus().length;
  const polls = switchCpu ?? cpus - 1;
  // 2 MB pages: the switch's (testpmd 128 MB, OVS-DPDK 256 MB), 64 MB for each of up to four engines at once
  const hugepages = ((sw === 'testpmd' ? 128 : 256) + 4 * 64) / 2;
  return {
    switch: sw,
    node,
    hugeDir: path.join(dir, 'hugepages'),
    hugepages,
    prefix: `cnp${runId}`,
    ports: [
      { netns: c, socket: path.join(dir, `vhost-${c}.sock`), mac: DPDK_CLIENT_MAC, peerMac: DPDK_SERVER_MAC },
      { netns: s, socket: path.join(dir, `vhost-${s}.sock`), mac: DPDK_SERVER_MAC, peerMac: DPDK_CLIENT_MAC },
    ],
    switchCpus: [polls],
    // the first CPU the switch does not poll on (on one CPU, that one: everything shares it)
    engineCpu: polls === 0 && cpus > 1 ? 1 : 0,
  };
}
