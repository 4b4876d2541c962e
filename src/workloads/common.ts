/** What every workload reads the same way from the parsed options. */
import type { OptionValues } from '../spec/options.js';
import type { PaceMode, WaitMode } from '../engine/protocol.js';

export interface CommonParams {
  size: number;
  wait: WaitMode;
  pace: PaceMode;
  /** [client, server] CPUs; undefined: not pinned */
  cpus?: [number, number];
  rtPrio?: number;
}

/** The shared options over a workload's defaults. */
export function commonParams<D extends CommonParams>(v: OptionValues, defaults: D): D {
  const out: D = { ...defaults };
  if (v.size !== undefined) out.size = v.size;
  if (v.wait !== undefined) out.wait = v.wait;
  if (v.pace !== undefined) out.pace = v.pace;
  if (v.cpus !== undefined) out.cpus = v.cpus;
  if (v['rt-prio'] !== undefined) out.rtPrio = v['rt-prio'];
  return out;
}

/** The shared options as stored and printed in --json (snake_case). */
export function commonRecord(p: CommonParams): Record<string, unknown> {
  return { size: p.size, wait: p.wait, pace: p.pace, cpus: p.cpus ?? null, rt_prio: p.rtPrio ?? 0 };
}
