import { readFileSync, statSync } from 'node:fs';

/**
 * A process's start time (clock ticks since boot, field 22 of /proc/PID/stat). With the pid it
 * identifies a process uniquely: a recycled pid has another start time.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

/** USER_HZ: the unit of /proc/PID/stat's start time (100 on every Linux architecture cnperf runs on). */
const USER_HZ = 100;

/** When a process started, in seconds since the epoch (boot time plus its start in ticks). */
export function processStartEpoch(pid: number): number | null {
  const ticks = processStartTime(pid);
  const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
  return ticks === null || btime === undefined ? null : Number(btime) + Number(ticks) / USER_HZ;
}

/**
 * The process in `pidfile`, if it is alive (not a zombie), still has this command name
 * (/proc/PID/comm), and started before the pidfile was written: a process that started later got the
 * pid after ours died (the system's own ovs-vswitchd, say) and is never the one to stop.
 */
export function pidfileProcess(pidfile: string, comm: string): number | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return null;
    if (readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) return null;
    const started = processStartEpoch(pid);
    // one second of slack: the two clocks' granularity, not a window for another process
    return started !== null && started <= statSync(pidfile).mtimeMs / 1000 + 1 ? pid : null;
  } catch {
    return null;
  }
}

/** A process's state letter (R, S, D, Z…) and the kernel function it waits in: why a signalled one lingers. */
export function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    return wchan && wchan !== '0' ? `${state} in ${wchan}` : state;
  } catch {
    return 'gone';
  }
}

/**
 * Why the process a pidfile names, alive with the expected command name, is still not taken for the
 * one started (pidfileProcess said null): null when there is no such process. Teardown says it, as a
 * daemon left running is otherwise silent.
 */
export function pidfileMismatch(pidfile: string, comm: string): string | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return null;
    const started = processStartEpoch(pid);
    const written = statSync(pidfile).mtimeMs / 1000;
    return `${comm} ${pid} (state ${processState(pid)}) started ${
      started === null ? '?' : (started - written).toFixed(2)
    } s after ${pidfile} was written: not the one started, left alone`;
  } catch {
    return null;
  }
}

/** Stops the process in pidfile if it is still `comm`: SIGTERM, then SIGKILL after two seconds. */
export async function stopDaemon(pidfile: string, comm: string): Promise<'removed' | 'gone'> {
  const pid = pidfileProcess(pidfile, comm);
  if (pid === null) {
    const why = pidfileMismatch(pidfile, comm);
    if (why) process.stderr.write(`cnperf: teardown: ${why}\n`);
    return 'gone';
  }
  const alive = () => pidfileProcess(pidfile, comm) === pid;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
  if (alive()) {
    process.kill(pid, 'SIGKILL');
    // gone before the next undo: what it held (a mount's files, hugepages) must be free by then
    for (let i = 0; i < 250 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    if (alive()) throw new Error(`${comm} ${pid} outlived SIGKILL by 5 s (state ${processState(pid)})`);
  }
  return 'removed';
}
