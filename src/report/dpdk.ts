/**
 * Kernel-bypass runs in reports: where each poller ran — the switch's on its CPU, each engine on its
 * own or shared — in the `dpdk` member of a result and a line under the tables. On two CPUs three
 * pollers share; a figure read without that is misread.
 */
import type { RunRecord } from '../store/db.js';
import type { DpdkPlan } from '../topology/model.js';

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
export function pollersOf(r: RunRecord): Pollers | null {
  const plan = (r.topology as { dpdk?: DpdkPlan } | null)?.dpdk;
  if (!plan) return null;
  type Cpus = { cpus?: [number, number] | null };
  const params = (r.params ?? {}) as Cpus & { probe?: Cpus; load?: Cpus };
  const probe = params.cpus ?? params.probe?.cpus;
  const engines: Record<string, number> = {
    client: probe?.[0] ?? plan.engineCpu,
    server: probe?.[1] ?? plan.engineCpu,
  };
  if (params.load)
    Object.assign(engines, {
      'load sender': params.load.cpus?.[0] ?? plan.engineCpu,
      'load receiver': params.load.cpus?.[1] ?? plan.engineCpu,
    });
  const parts: string[] = [];
  const byCpu = new Map<number, string[]>();
  for (const [who, cpu] of Object.entries(engines)) byCpu.set(cpu, [...(byCpu.get(cpu) ?? []), who]);
  for (const [cpu, who] of byCpu) {
    const withSwitch = plan.switchCpus.includes(cpu);
    if (who.length > 1 || withSwitch)
      parts.push(
        `CPU ${cpu}: ` +
          `${who.join(
            ', ',
          )} engine${who.length > 1 ? 's' : ''}${withSwitch ? ` and ${plan.switch}'s poller` : ''} (yielding)`,
      );
  }
  return {
    switch: plan.switch,
    switch_cpus: plan.switchCpus,
    engine_cpus: engines,
    shared: parts.length ? parts.join('; ') : null,
  };
}

/** One line per kernel-bypass run under the tables. */
export function dpdkNotes(runs: RunRecord[]): string {
  const lines = runs.flatMap((r) => {
    const p = pollersOf(r);
    return p
      ? [
          `  ${r.id}: ${p.switch} polls CPU ${p.switch_cpus.join(',')}; engines: ${Object.entries(p.engine_cpus)
            .map(([who, cpu]) => `${who} CPU ${cpu}`)
            .join(', ')}${p.shared ? ` — pollers shared a CPU: ${p.shared}` : ''}`,
        ]
      : [];
  });
  return lines.length ? `Kernel bypass (DPDK pollers)\n${lines.join('\n')}` : '';
}
