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

/** The process in `pidfile`, if it is alive (not a zombie) and still has this command name (/proc/PID/comm). */
export function pidfileProcess(pidfile: string, comm: string): number | null {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return null;
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) return null;
    return readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ') ? null : pid;
  } catch {
    return null;
  }
}
