/**
 * The engines of a kernel-bypass run: the workloads build the same command lines as for any datapath
 * (rtt-server, stream-tx, ...) and the supervisor runs them as cnperf-engine-dpdk, with what DPDK needs
 * added here: the endpoint's vhost-user socket, its MAC and its peer's, the run's hugepages, a file
 * prefix of its own per process, `--api dpdk`, and polling that yields (three pollers share two CPUs
 * here: the switch's and two engines). The engines stay in their namespaces (containers) as always;
 * each namespace has a port for round trips and one for streams, so a load's probe and its stream
 * (two processes) each own one.
 */
import { existsSync } from 'node:fs';
import { registerEngineHost, type EngineHost } from '../../engine-client/guest.js';
import { hostPort } from '../../engine-client/argv.js';
import { dpdkEnginePath } from '../../paths.js';
import type { Topology } from '../../topology/model.js';
import { DPDK_PART, type DpdkPlan } from './dpdk-plan.js';
import { UserError } from '../../util/errors.js';

/** The commands whose frames this end builds (it needs the peer's MAC and its own address). */
const SENDERS = new Set(['rtt-client', 'stream-tx']);
const SUPPORTED = new Set(['rtt-client', 'rtt-server', 'stream-tx', 'stream-rx']);

/**
 * An engine's argv for cnperf-engine-dpdk on one port of the plan. `n` makes its file prefix unique.
 * Pure: `--api` becomes dpdk, `--wait block` and `--pace sleep` become yield (there is nothing to block
 * on), a process without `--cpu` gets the plan's engine CPU (the one the switch does not poll on).
 */
export function dpdkArgv(
  argv: readonly string[],
  plan: DpdkPlan,
  port: DpdkPlan['ports'][number],
  ip: string,
  n: number,
): string[] {
  const cmd = argv[0] ?? '';
  if (!SUPPORTED.has(cmd))
    throw new UserError(
      `${cmd} over DPDK: cnperf's DPDK engine runs rtt and stream (UDP); TCP workloads need a kernel stack`,
      'use --workload rtt or stream with the testpmd and ovs-dpdk datapaths',
    );
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--api') {
      i++;
      continue;
    }
    if (a === '--wait') {
      out.push(a, argv[i + 1] === 'spin' ? 'spin' : 'yield');
      i++;
      continue;
    }
    // a paced sender sharing its CPU waits for its next burst yielding: a sleep overshoots by the
    // timer slack, a spin starves the receiver beside it
    if (a === '--pace') {
      out.push(a, argv[i + 1] === 'spin' ? 'spin' : 'yield');
      i++;
      continue;
    }
    out.push(a);
  }
  out.push(
    '--api',
    'dpdk',
    '--vhost-socket',
    port.socket,
    '--mac',
    port.mac,
    '--file-prefix',
    `${plan.prefix}-${n}`,
    '--huge-dir',
    plan.hugeDir,
  );
  if (plan.switch === 'ovs-dpdk') out.push('--vhost-server');
  if (!argv.includes('--cpu')) out.push('--cpu', String(plan.engineCpu));
  if (SENDERS.has(cmd)) out.push('--dst-mac', port.peerMac, '--src', hostPort(ip, 0));
  return out;
}

/** Registers every endpoint namespace of the plan: its engines run as cnperf-engine-dpdk on its port. */
export function registerDpdkEngines(t: Topology): void {
  const plan = DPDK_PART.of(t)!;
  const bin = dpdkEnginePath();
  if (!existsSync(bin))
    throw new UserError(
      `the DPDK engine ${bin} is not built`,
      'install DPDK (dpdk, libdpdk-dev) and run `npm run build` (scripts/setup.sh does both)',
    );
  let n = 0;
  for (const ep of t.pairs.flatMap((p) => [p.client, p.server])) {
    // round trips on the namespace's rtt port, streams on its stream port (a load runs both at once)
    const portFor = (cmd: string) =>
      plan.ports.find((p) => p.netns === ep.netns && p.use === (cmd.startsWith('stream') ? 'stream' : 'rtt'))!;
    const host: EngineHost = {
      name: `the DPDK engine of ${ep.netns}`,
      local: (argv) => ({ bin, argv: dpdkArgv(argv, plan, portFor(argv[0] ?? ''), ep.ip, n++) }),
    };
    registerEngineHost(ep.netns, host);
  }
}
