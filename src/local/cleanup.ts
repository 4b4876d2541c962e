/**
 * `cnperf clean`: removes what dead runs left behind. Two passes:
 *  1. every journal whose owner process is dead is replayed (a kept `topo up` journal only when asked);
 *  2. namespaces named like ours AND carrying our mark (the alias on their `lo`) whose run has no
 *     live journal are deleted — covers a journal lost with its state directory;
 *  3. what other modules recognise as a run's by its own label (podman's objects: src/datapaths/podman/attach.ts
 *     registers that sweep) and whose run has no live journal — also covers a lost journal;
 *  4. a measurement lock whose owner is dead is removed.
 * Objects of live runs are never touched; nothing is removed by name pattern alone. Whether a run is
 * live is asked again just before each removal of passes 2 and 3: a run that starts while clean works
 * (its lock taken, its journal written after clean listed the journals) keeps what it makes.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runCommand, type CommandRunner } from './command.js';
import { undoAll } from './undo.js';
import { Journal, listJournals, readJournal, unreadableFailure } from './journal.js';
import { readLockOwner, removeStaleLock } from './lock.js';
import { isAlive } from './proc.js';
import { ownerMark } from './steps.js';

export interface CleanReport {
  removed: string[];
  skipped: string[];
  failed: Array<{ what: string; error: string }>;
}

export interface CleanOptions {
  stateDir: string;
  /** also remove topologies kept by `topo up` */
  includeKept?: boolean;
  run?: CommandRunner;
}

/**
 * A sweep of objects the host layer does not know (podman's), found by the run label they carry:
 * removes those of runs for which `isProtected` says no — asked just before each removal — and says
 * what it removed. Registered by the module that makes
 * them, as undo handlers are, so the host layer never imports the layers above it.
 */
export type OrphanSweep = (
  isProtected: (runId: string) => boolean,
  report: CleanReport,
  run: CommandRunner,
) => Promise<void>;
const sweeps: OrphanSweep[] = [];
export function registerOrphanSweep(sweep: OrphanSweep): void {
  sweeps.push(sweep);
}

const OWNED_NETNS_RE = /^cnp([a-z0-9]{6})-[A-Za-z0-9_.-]+$/;

export async function cleanStale(opts: CleanOptions): Promise<CleanReport> {
  const run = opts.run ?? runCommand;
  const report: CleanReport = { removed: [], skipped: [], failed: [] };
  const protectedRuns = new Set<string>();
  const isProtected = (runId: string) =>
    protectedRuns.has(runId) || liveNow(opts.stateDir, runId, opts.includeKept ?? false);

  for (const j of listJournals(opts.stateDir)) {
    const h = j.header;
    if (!h) {
      report.skipped.push(`${j.path}: unreadable journal header (left in place; inspect and remove it by hand)`);
      continue;
    }
    if (isAlive(h.pid, h.pidStart)) {
      protectedRuns.add(h.runId);
      report.skipped.push(`run ${h.runId} (${h.datapath}) is live, pid ${h.pid}`);
      continue;
    }
    if (h.kind === 'topo' && !opts.includeKept) {
      protectedRuns.add(h.runId);
      report.skipped.push(
        `topology ${h.runId} (${h.datapath}) kept by 'topo up'; 'cnperf topo down ${h.runId}' removes it`,
      );
      continue;
    }
    const r = await undoAll(j.undos, run);
    report.removed.push(...r.removed.map((w) => `${w} (run ${h.runId})`));
    report.failed.push(...r.failed, ...[unreadableFailure(j)].filter((f) => f !== null));
    if (r.failed.length === 0) Journal.open(j.path)?.remove();
  }

  for (const ns of listNetns()) {
    const m = OWNED_NETNS_RE.exec(ns);
    if (!m || protectedRuns.has(m[1]!)) continue;
    const alias = await loAlias(ns, run);
    if (alias !== ownerMark(m[1]!)) continue; // named like ours, but not marked as ours: not ours
    if (isProtected(m[1]!)) continue;
    try {
      await run(['ip', 'netns', 'del', ns]);
      report.removed.push(`namespace ${ns} (run ${m[1]}, no journal)`);
    } catch (e) {
      report.failed.push({ what: `namespace ${ns}`, error: e instanceof Error ? e.message : String(e) });
    }
  }
  for (const sweep of sweeps) await sweep(isProtected, report, run);
  const lock = removeStaleLock(opts.stateDir);
  if (lock) report.removed.push(`stale measurement lock (run ${lock.runId}, pid ${lock.pid} is gone)`);
  return report;
}

/**
 * Whether a run is live (or its topology kept) now, read from its journal and the measurement lock
 * at this moment, not from the listing clean began with.
 */
export function liveNow(stateDir: string, runId: string, includeKept: boolean): boolean {
  const lock = readLockOwner(stateDir);
  if (lock?.runId === runId && isAlive(lock.pid, lock.pidStart)) return true;
  const h = readJournal(path.join(stateDir, `${runId}.journal`)).header;
  return h !== null && (isAlive(h.pid, h.pidStart) || (h.kind === 'topo' && !includeKept));
}

export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns').sort();
  } catch {
    return [];
  }
}

async function loAlias(netns: string, run: CommandRunner): Promise<string | null> {
  try {
    const { stdout } = await run(['ip', '-n', netns, '-j', 'link', 'show', 'dev', 'lo']);
    const links = JSON.parse(stdout) as Array<{ ifalias?: string }>;
    return links[0]?.ifalias ?? null;
  } catch {
    return null;
  }
}
