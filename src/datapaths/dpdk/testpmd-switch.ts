/**
 * testpmd as the switch (datapath testpmd): DPDK's own test application with one net_vhost port per
 * container, forwarding port 0 ⇄ port 1 unchanged (io mode) on one forwarding core — the vhost-user ⇄
 * virtio-user set-up of DPDK's test plans and seed 001. Started after the run's hugepages, in the node's
 * namespace, in a session of its own with a pidfile (journaled first), its log in the run's directory;
 * ready when both vhost-user sockets listen.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AttachContext } from '../types.js';
import { runCommand, type CommandRunner } from '../../local/command.js';
import { pidfileProcess } from '../../local/proc.js';
import { ensureRunDir } from '../../local/statedir.js';
import type { Topology } from '../../topology/model.js';
import { DPDK_PART, type DpdkPlan } from './dpdk-plan.js';
import { registerDpdkEngines } from './dpdk-engines.js';
import { reserveHugepages } from './hugepages.js';

export const TESTPMD = 'dpdk-testpmd';
/** testpmd's process name (/proc/PID/comm, 15 characters at most): what its pidfile stop checks */
export const TESTPMD_COMM = 'dpdk-testpmd';
const READY_MS = 30_000;

/** testpmd's command line for the plan: main lcore beside the engines, the forwarding one on the switch's CPU. Pure. */
export function testpmdArgv(plan: DpdkPlan): string[] {
  const [fwd] = plan.switchCpus;
  return [
    TESTPMD,
    '--lcores',
    `0@${plan.engineCpu},1@${fwd}`,
    '--no-pci',
    '--file-prefix',
    `${plan.prefix}-sw`,
    '--huge-dir',
    plan.hugeDir,
    '-m',
    String(plan.switchMemMb),
    '--single-file-segments',
    ...plan.ports.flatMap((p, i) => ['--vdev', `net_vhost${i},iface=${p.socket},queues=1`]),
    '--',
    '--forward-mode=io',
    '--nb-cores=1',
    `--total-num-mbufs=${plan.switchMbufs}`,
    // without it testpmd waits for Enter on stdin; with it, it prints port statistics until stopped
    '--stats-period',
    '10',
  ];
}

const alive = (pidfile: string) => pidfileProcess(pidfile, TESTPMD_COMM) !== null;

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-6).join('\n    ');
  } catch {
    return '(no log)';
  }
}

/** The testpmd datapath's attach: hugepages, testpmd, its sockets, the engines' registration. */
export async function startTestpmd(t: Topology, ctx: AttachContext, run: CommandRunner = runCommand): Promise<void> {
  const plan = DPDK_PART.of(t)!;
  ensureRunDir(ctx.runDir, ctx.journal);
  await reserveHugepages(plan.hugepages, plan.hugeDir, ctx.journal, run);
  await ctx.journal.append({ op: 'rm-dpdk-runtime', prefix: plan.prefix });
  const pidfile = path.join(ctx.runDir, 'testpmd.pid');
  const log = path.join(ctx.runDir, 'testpmd.log');
  await ctx.journal.append({ op: 'kill-pidfile', pidfile, comm: TESTPMD_COMM });
  // setsid -f: a session (and process group) of its own; the shell writes its pid, then becomes testpmd.
  const script = 'pidfile=$1 log=$2; shift 2; echo $$ > "$pidfile"; exec "$@" < /dev/null > "$log" 2>&1';
  await run([
    'ip',
    'netns',
    'exec',
    plan.node,
    'setsid',
    '-f',
    'sh',
    '-c',
    script,
    'sh',
    pidfile,
    log,
    ...testpmdArgv(plan),
  ]);
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (plan.ports.every((p) => existsSync(p.socket))) break;
    await new Promise((r) => setTimeout(r, 50));
    if ((existsSync(pidfile) && !alive(pidfile)) || Date.now() > deadline) {
      throw new Error(
        `testpmd did not open its vhost-user ` +
          `sockets${
            alive(pidfile) ? ` within ${READY_MS / 1000} s` : ' (it exited)'
          }; its log (${log}) ended:\n    ${logTail(log)}`,
      );
    }
  }
  registerDpdkEngines(t);
}
