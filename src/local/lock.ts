/**
 * One measurement at a time: two runs measuring at once disturb each other's numbers. The lock is a
 * file holding the owner's pid and start time; a lock whose owner is dead (the run was SIGKILLed) is
 * taken over.
 *
 * Two races are closed: the lock appears whole or not at all (written to a file of this process's,
 * then hard-linked to the lock's name, which fails if it exists), so nobody reads it half-written;
 * and a stale lock is judged and replaced only under a short takeover mutex (created the same way),
 * so two processes that find the same dead owner cannot remove each other's fresh lock.
 */
import { linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { ensureStateDir } from './statedir.js';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { isAlive, processStartTime } from './proc.js';

interface LockOwner {
  pid: number;
  pidStart: string;
  runId: string;
}

/** A lock file nobody can read is held while it is this young (an older cnperf's, mid-write). */
const UNREADABLE_GRACE_MS = 10_000;

export function readLockOwner(dir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'measure.lock'), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

function ageMs(file: string): number | null {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** Whether the lock's holder may still be measuring: alive, or unreadable but young. */
function held(dir: string): LockOwner | 'unreadable' | null {
  const owner = readLockOwner(dir);
  if (owner) return isAlive(owner.pid, owner.pidStart) ? owner : null;
  const age = ageMs(path.join(dir, 'measure.lock'));
  return age !== null && age < UNREADABLE_GRACE_MS ? 'unreadable' : null;
}

/** Creates `file` holding `text`, whole, or returns false when it exists (link(2) is atomic). */
function createWhole(file: string, text: string): boolean {
  const mine = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(mine, text, { mode: 0o600 });
  try {
    linkSync(mine, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * Runs `fn` holding the takeover mutex, or returns undefined when another process holds it. A mutex
 * left by a process that died inside its few microseconds is cleared after UNREADABLE_GRACE_MS.
 */
function underTakeoverMutex<T>(dir: string, fn: () => T): T | undefined {
  const mutex = path.join(dir, 'measure.lock.takeover');
  if (!createWhole(mutex, String(process.pid))) {
    const age = ageMs(mutex);
    if (age !== null && age > UNREADABLE_GRACE_MS) rmSync(mutex, { force: true });
    return undefined;
  }
  try {
    return fn();
  } finally {
    rmSync(mutex, { force: true });
  }
}

/** Removes the lock if its owner is dead; returns the dead owner, or null. */
export function removeStaleLock(dir: string): LockOwner | null {
  return (
    underTakeoverMutex(dir, () => {
      const owner = readLockOwner(dir);
      if (held(dir) !== null || !owner) return null;
      rmSync(path.join(dir, 'measure.lock'), { force: true });
      return owner;
    }) ?? null
  );
}

export function acquireMeasureLock(dir: string, runId: string): () => void {
  ensureStateDir(dir);
  const file = path.join(dir, 'measure.lock');
  const me: LockOwner = { pid: process.pid, pidStart: processStartTime(process.pid) ?? '', runId };
  const release = () => {
    const owner = readLockOwner(dir);
    if (owner && owner.pid === me.pid && owner.pidStart === me.pidStart && owner.runId === runId)
      rmSync(file, { force: true });
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createWhole(file, JSON.stringify(me))) return release;
    const holder = held(dir);
    if (holder !== null) {
      const who =
        holder === 'unreadable' ? `a lock ${file} written moments ago` : `pid ${holder.pid}, run ${holder.runId}`;
      throw new UserError(
        `another cnperf run is measuring (${who}); measurements would disturb each other`,
        'wait for it to finish, or stop it',
        3,
      );
    }
    // stale: its owner died without releasing it. Judged again and replaced under the mutex, so a
    // fresh lock another process just made is never the one removed.
    const took = underTakeoverMutex(dir, () => {
      if (held(dir) !== null) return false;
      rmSync(file, { force: true });
      return createWhole(file, JSON.stringify(me));
    });
    if (took) return release;
    // another process holds the mutex or won the race: look again in a few milliseconds
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  throw new UserError(`could not take the measurement lock ${file}`);
}
