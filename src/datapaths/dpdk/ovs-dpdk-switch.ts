/**
 * OVS-DPDK as the switch (datapath ovs-dpdk): a private ovsdb-server and the DPDK build of
 * ovs-vswitchd (Debian's openvswitch-switch-dpdk installs it beside the plain one; cnperf runs it by
 * path, never through the host's alternatives or service), `dpdk-init=true`, a netdev bridge, and one
 * `dpdkvhostuserclient` port per container: OVS is the vhost-user client, each engine's virtio-user port
 * the server (`--vhost-server`), so OVS connects whenever an engine starts. Its PMD thread polls the
 * switch's CPU; its other threads stay beside the engines. Memory: the run's hugepages, capped at what
 * the plan gives the switch.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AttachContext } from '../types.js';
import { ovsDaemons } from '../ovs.js';
import { runCommand, type CommandRunner } from '../../local/command.js';
import { HostExecutor } from '../../local/executor.js';
import { ensureRunDir } from '../../local/statedir.js';
import { daemonSteps } from '../../local/steps.js';
import type { Topology } from '../../topology/model.js';
import { DPDK_PART, type DpdkPlan } from './dpdk-plan.js';
import { registerDpdkEngines } from './dpdk-engines.js';
import { reserveHugepages } from './hugepages.js';

export const OVS_VSWITCHD_DPDK = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';

const mask = (cpus: number[]) => `0x${cpus.reduce((m, c) => m | (1 << c), 0).toString(16)}`;

/** ovs-vsctl's settings for DPDK before ovs-vswitchd starts. Pure. */
export function ovsDpdkConfig(plan: DpdkPlan): string[] {
  return [
    'other_config:dpdk-init=true',
    `other_config:dpdk-hugepage-dir=${plan.hugeDir}`,
    // its memory as the plan sizes it, also as its limit: the run's pages suffice
    `other_config:dpdk-socket-mem=${plan.switchMemMb}`,
    `other_config:dpdk-socket-limit=${plan.switchMemMb}`,
    `other_config:dpdk-lcore-mask=${mask([plan.engineCpu])}`,
    `other_config:pmd-cpu-mask=${mask(plan.switchCpus)}`,
    `other_config:dpdk-extra=--no-pci --file-prefix ${plan.prefix}-sw --single-file-segments`,
  ];
}

export function ovsBridge(plan: DpdkPlan): string {
  return `${plan.prefix}-br`.slice(0, 15);
}

export async function startOvsDpdk(t: Topology, ctx: AttachContext, run: CommandRunner = runCommand): Promise<void> {
  const plan = DPDK_PART.of(t)!;
  ensureRunDir(ctx.runDir, ctx.journal);
  await reserveHugepages(plan.hugepages, plan.hugeDir, ctx.journal, run);
  await ctx.journal.append({ op: 'rm-dpdk-runtime', prefix: plan.prefix });
  const { daemons, vsctl } = ovsDaemons(ctx.runDir, plan.node, OVS_VSWITCHD_DPDK);
  const br = ovsBridge(plan);
  const host = new HostExecutor(ctx.journal, run);
  await host.apply([
    ...daemonSteps(daemons[0]!),
    { argv: vsctl('--no-wait', 'init') },
    { argv: vsctl('--no-wait', 'set', 'Open_vSwitch', '.', ...ovsDpdkConfig(plan)) },
    ...daemonSteps(daemons[1]!),
    { argv: vsctl('add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev') },
    ...plan.ports.map((p, i) => ({
      argv: vsctl(
        'add-port',
        br,
        `vhu${i}`,
        '--',
        'set',
        'Interface',
        `vhu${i}`,
        'type=dpdkvhostuserclient',
        `options:vhost-server-path=${p.socket}`,
      ),
    })),
  ]);
  const { stdout } = await run(vsctl('get', 'Open_vSwitch', '.', 'dpdk_initialized'));
  if (stdout.trim() !== 'true') {
    const log = path.join(ctx.runDir, 'ovs-vswitchd.log');
    let tail = '(no log)';
    try {
      tail = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => /dpdk|EAL/i.test(l))
        .slice(-5)
        .join('\n    ');
    } catch {
      /* none */
    }
    throw new Error(
      `ovs-vswitchd did not initialize DPDK (dpdk_initialized=${stdout.trim()}); its log (${log}):\n    ${tail}`,
    );
  }
  registerDpdkEngines(t);
}
