/**
 * CPU time per core from /proc/stat: where the cycles went while a workload ran (seed 002's
 * usr/sys/softirq breakdown on the receiver). Counters are in USER_HZ ticks; shares are fractions.
 */

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  all: CpuTimes;
  /** indexed by CPU number (a gap for an offline CPU) */
  cpus: Array<CpuTimes | undefined>;
}

/** Parses /proc/stat's cpu lines. Pure. */
export function parseProcStat(text: string): ProcStat {
  let all: CpuTimes | undefined;
  const cpus: Array<CpuTimes | undefined> = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!
      .trim()
      .split(/\s+/)
      .map(Number);
    const t = { user, nice, system, idle, iowait, irq, softirq, steal };
    if (m[1] === '') all = t;
    else cpus[Number(m[1])] = t;
  }
  if (!all) throw new Error('not /proc/stat: no "cpu" line');
  return { all, cpus };
}

/** Fractions of the elapsed CPU time; they add up to 1. */
export interface CpuShare {
  usr: number;
  sys: number;
  softirq: number;
  irq: number;
  idle: number;
  /** steal: time the hypervisor gave to another guest */
  steal: number;
}

/** The share of each kind of work between two readings of one CPU (or of all); null if no time passed. */
export function cpuShare(before: CpuTimes, after: CpuTimes): CpuShare | null {
  const d = (k: keyof CpuTimes) => Math.max(0, after[k] - before[k]);
  const parts = {
    usr: d('user') + d('nice'),
    sys: d('system'),
    softirq: d('softirq'),
    irq: d('irq'),
    idle: d('idle') + d('iowait'),
    steal: d('steal'),
  };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const round = (x: number) => Number((x / total).toFixed(4));
  return {
    usr: round(parts.usr),
    sys: round(parts.sys),
    softirq: round(parts.softirq),
    irq: round(parts.irq),
    idle: round(parts.idle),
    steal: round(parts.steal),
  };
}
