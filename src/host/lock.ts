/**
 * One measurement at a time: two runs measuring at once disturb each other's numbers. The lock is a
 * file created with O_EXCL holding the owner's pid and start time; a lock whose owner is dead (the
 * run was SIGKILLed) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ensureStateDir } from './statedir.js';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { isAlive, processStartTime } from './proc.js';

interface LockOwner {
  pid: number;
  pidStart: string;
  runId: string;
}

export function readLockOwner(dir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'measure.lock'), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/** Removes the lock if its owner is dead; returns the dead owner, or null. */
export function removeStaleLock(dir: string): LockOwner | null {
  const owner = readLockOwner(dir);
  if (!owner || isAlive(owner.pid, owner.pidStart)) return null;
  rmSync(path.join(dir, 'measure.lock'), { force: true });
  return owner;
}

export function acquireMeasureLock(dir: string, runId: string): () => void {
  ensureStateDir(dir);
  const file = path.join(dir, 'measure.lock');
  const me: LockOwner = { pid: process.pid, pidStart: processStartTime(process.pid) ?? '', runId };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      return () => {
        const owner = readLockOwner(dir);
        if (owner && owner.pid === me.pid && owner.runId === runId) rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readLockOwner(dir);
      if (owner && isAlive(owner.pid, owner.pidStart)) {
        throw new UserError(
          `another cnperf run is measuring (pid ${owner.pid}, run ${owner.runId}); measurements would disturb each other`,
          'wait for it to finish, or stop it',
          3,
        );
      }
      rmSync(file, { force: true }); // stale: its owner died without releasing it
    }
  }
  throw new UserError(`could not take the measurement lock ${file}`);
}
