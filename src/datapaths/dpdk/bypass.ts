/**
 * What both kernel-bypass datapaths (testpmd, ovs-dpdk) add to the Datapath interface alike: their
 * option, the workloads a DPDK engine runs, its burst, `cnperf doctor`'s lines, and their section in
 * reports (where each poller ran: on two CPUs three pollers share, and a figure read without that is
 * misread).
 */
import type { Topology } from '../../topology/model.js';
import { ownOptions, type Datapath, type DatapathReport } from '../types.js';
import { DPDK_PART, type DpdkPlan } from './dpdk-plan.js';
import { dpdkDoctorLines } from './dpdk-doctor.js';

/** testpmd's own default burst: a DPDK sender without --burst moves this many frames per call. */
export const DPDK_DEFAULT_BURST = 32;

/** The CPU the switch polls on (--switch-cpu), as readOptions kept it. */
export function switchCpuOf(ctx: { own?: Record<string, unknown> }, datapath: string): number | undefined {
  return ownOptions<{ switchCpu: number }>(ctx, datapath)?.switchCpu;
}

export interface Pollers {
  switch: DpdkPlan['switch'];
  switch_cpus: number[];
  /** client and server; a load's sender and receiver too */
  engine_cpus: Record<string, number>;
  /** who shares a CPU with whom, or null */
  shared: string | null;
}

/** The CPUs of the run's pollers: --cpus where given (a load's probe and stream each have theirs), else the plan's
 * engine CPU. */
export function pollersOf(t: Topology, params: unknown): Pollers | null {
  const plan = DPDK_PART.of(t);
  if (!plan) return null;
  type Cpus = { cpus?: [number, number] | null };
  const p = (params ?? {}) as Cpus & { probe?: Cpus; load?: Cpus };
  const probe = p.cpus ?? p.probe?.cpus;
  const engines: Record<string, number> = {
    client: probe?.[0] ?? plan.engineCpu,
    server: probe?.[1] ?? plan.engineCpu,
  };
  if (p.load)
    Object.assign(engines, {
      'load sender': p.load.cpus?.[0] ?? plan.engineCpu,
      'load receiver': p.load.cpus?.[1] ?? plan.engineCpu,
    });
  const parts: string[] = [];
  const byCpu = new Map<number, string[]>();
  for (const [who, cpu] of Object.entries(engines)) byCpu.set(cpu, [...(byCpu.get(cpu) ?? []), who]);
  for (const [cpu, who] of byCpu) {
    const withSwitch = plan.switchCpus.includes(cpu);
    if (who.length > 1 || withSwitch)
      parts.push(
        `CPU ${cpu}: ${who.join(', ')} engine${who.length > 1 ? 's' : ''}` +
          `${withSwitch ? ` and ${plan.switch}'s poller` : ''} (yielding)`,
      );
  }
  return {
    switch: plan.switch,
    switch_cpus: plan.switchCpus,
    engine_cpus: engines,
    shared: parts.length ? parts.join('; ') : null,
  };
}

const bypassReport: DatapathReport = {
  member: 'dpdk',
  json: (t, params) => pollersOf(t, params),
  heading: 'Kernel bypass (DPDK pollers)',
  note(t, params) {
    const p = pollersOf(t, params);
    if (!p) return null;
    const engines = Object.entries(p.engine_cpus)
      .map(([who, cpu]) => `${who} CPU ${cpu}`)
      .join(', ');
    return (
      `${p.switch} polls CPU ${p.switch_cpus.join(',')}; engines: ${engines}` +
      `${p.shared ? ` — pollers shared a CPU: ${p.shared}` : ''}`
    );
  },
};

/** The hooks testpmd and ovs-dpdk share. */
export const BYPASS_HOOKS = {
  readOptions: (option) => {
    const cpu = option('switch-cpu');
    return typeof cpu === 'number' ? { switchCpu: cpu } : undefined;
  },
  notAcrossHosts: 'its DPDK switch and engines are not run on real hosts yet',
  noVm: 'a VM on a vhost-user port (qemu -netdev vhost-user, guest memory shared with the switch) is not built yet',
  // The DPDK engine runs UDP round trips (also open loop) and streams; TCP needs a kernel stack, the
  // breakdown the sockets' timestamps.
  refuseWorkload(workload, params) {
    if (!['rtt', 'stream', 'sweep', 'load'].includes(workload))
      return {
        why: "cnperf's DPDK engine runs rtt, stream, sweep and load (TCP needs a kernel stack)",
        hint: 'use --workload rtt, stream, sweep or load with the testpmd and ovs-dpdk datapaths',
      };
    if ((params as { breakdown?: boolean } | null)?.breakdown)
      return {
        why: "--breakdown splits a round trip by the sockets' kernel timestamps, and a DPDK port has no kernel",
      };
    return null;
  },
  defaultBurst: DPDK_DEFAULT_BURST,
  doctorLines: dpdkDoctorLines,
  report: bypassReport,
} satisfies Partial<Datapath>;
