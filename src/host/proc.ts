import { readFileSync } from 'node:fs';

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
