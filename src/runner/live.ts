/**
 * The live feed of a run in progress, for `cnperf serve`: one NDJSON file per run in the state
 * directory's live/ folder — a start line, then what the probes and engines report while it runs
 * (the host's CPU split per 100 ms, a stream's rates per second), and nothing else; the file is
 * removed when the run ends (its result is in the store then). Best effort by design: a feed that
 * cannot be written is dropped, never the measurement. A killed run leaves its file behind with a
 * dead pid, which readers skip and `cnperf clean` removes.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths.js';

export interface LiveStart {
  event: 'start';
  run_id: string;
  pid: number;
  datapath: string;
  workload: string;
  what: string;
  started_at: string;
}

/** What a run reports while it runs; t_s: seconds since the feed started. */
export type LiveSample =
  | { event: 'cpu'; t_s: number; usr: number; sys: number; softirq: number }
  | { event: 'rate'; t_s: number; flow: number; side: 'tx' | 'rx'; pps: number; gbps: number };

export function liveDir(): string {
  return path.join(stateDir(), 'live');
}

export class LiveFeed {
  private readonly t0 = performance.now();
  private constructor(private file: string | null) {}

  static open(start: Omit<LiveStart, 'event' | 'pid' | 'started_at'>): LiveFeed {
    const dir = liveDir();
    const file = path.join(dir, `${start.run_id}.ndjson`);
    try {
      if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
      const line: LiveStart = { event: 'start', pid: process.pid, started_at: new Date().toISOString(), ...start };
      writeFileSync(file, JSON.stringify(line) + '\n', { mode: 0o600 });
      return new LiveFeed(file);
    } catch {
      return new LiveFeed(null);
    }
  }

  /** seconds since the feed opened */
  now(): number {
    return (performance.now() - this.t0) / 1000;
  }

  add(sample: LiveSample): void {
    if (!this.file) return;
    try {
      appendFileSync(this.file, JSON.stringify(sample) + '\n');
    } catch {
      this.file = null;
    }
  }

  close(): void {
    if (this.file) rmSync(this.file, { force: true });
    this.file = null;
    // the folder goes with its last feed: the state directory is left as it was found
    try {
      if (readdirSync(liveDir()).length === 0) rmSync(liveDir(), { recursive: true, force: true });
    } catch {
      /* gone already, or another run's feed is in it */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LiveRun {
  start: LiveStart;
  samples: LiveSample[];
}

/** The runs in progress now: feeds whose writer is alive, with every sample so far. */
export function readLiveRuns(): LiveRun[] {
  let names: string[];
  try {
    names = readdirSync(liveDir()).filter((n) => n.endsWith('.ndjson'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    let lines: string[];
    try {
      lines = readFileSync(path.join(liveDir(), n), 'utf8').split('\n');
    } catch {
      return []; // ended between the listing and the read
    }
    // a line being appended right now may be incomplete: only whole JSON lines count
    const parsed = lines.flatMap((l) => {
      try {
        return l ? [JSON.parse(l) as LiveStart | LiveSample] : [];
      } catch {
        return [];
      }
    });
    const start = parsed[0];
    if (!start || start.event !== 'start' || !alive(start.pid)) return [];
    return [{ start, samples: parsed.slice(1) as LiveSample[] }];
  });
}

/** Removes the feeds of runs that died without closing them (`cnperf clean`); returns how many. */
export function removeStaleFeeds(): number {
  let names: string[];
  try {
    names = readdirSync(liveDir());
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const file = path.join(liveDir(), n);
    let pid = 0;
    try {
      pid = (JSON.parse(readFileSync(file, 'utf8').split('\n')[0] ?? '') as LiveStart).pid;
    } catch {
      /* unreadable: stale */
    }
    if (!pid || !alive(pid)) {
      rmSync(file, { force: true });
      removed++;
    }
  }
  if (readdirSync(liveDir()).length === 0) rmSync(liveDir(), { recursive: true, force: true });
  return removed;
}
