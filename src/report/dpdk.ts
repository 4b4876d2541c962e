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
  engine_cpus: { client: number; server: number };
  /** who shares a CPU with whom, or null */
  shared: string | null;
}

/** The CPUs of the run's pollers: --cpus where given (a load's probe and stream each have theirs), else the plan's engine CPU. */
export function pollersOf(r: RunRecord): Pollers | null {
  const plan = (r.topology as { dpdk?: DpdkPlan } | null)?.dpdk;
  if (!plan) return null;
  const cpus = (r.params as { cpus?: [number, number] } | null)?.cpus;
  const engine = { client: cpus?.[0] ?? plan.engineCpu, server: cpus?.[1] ?? plan.engineCpu };
  const with_switch = (['client', 'server'] as const).filter((k) => plan.switchCpus.includes(engine[k]));
  const parts: string[] = [];
  if (engine.client === engine.server) parts.push(`the client and server engines share CPU ${engine.client} (yielding to each other)`);
  for (const k of with_switch) parts.push(`the ${k} engine shares CPU ${engine[k]} with ${plan.switch}'s poller`);
  return { switch: plan.switch, switch_cpus: plan.switchCpus, engine_cpus: engine, shared: parts.length ? parts.join('; ') : null };
}

/** One line per kernel-bypass run under the tables. */
export function dpdkNotes(runs: RunRecord[]): string {
  const lines = runs.flatMap((r) => {
    const p = pollersOf(r);
    return p ? [`  ${r.id}: ${p.switch} polls CPU ${p.switch_cpus.join(',')}; engines: client CPU ${p.engine_cpus.client}, server CPU ${p.engine_cpus.server}${p.shared ? ` — pollers shared a CPU: ${p.shared}` : ''}`] : [];
  });
  return lines.length ? `Kernel bypass (DPDK pollers)\n${lines.join('\n')}` : '';
}
