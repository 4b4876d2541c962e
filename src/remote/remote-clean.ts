/**
 * `cnperf clean --hosts FILE`: on every host of the inventory, what runs left there — each journal
 * whose owner (the session's keeper on that host) is dead is replayed backwards over ssh, exactly as
 * its run's teardown would have; journals of live sessions are left alone. A stale lock goes too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TeardownReport } from '../local/executor.js';
import { undoAll } from '../local/undo.js';
import { errorMessage } from '../util/errors.js';
import type { HostSet } from './host-set.js';
import { REMOTE_STATE_DIR } from './remote-host.js';
import { aliveOn, listRemoteJournals } from './remote-journal.js';
import { REMOVE_STALE_LOCK } from './remote-lock.js';
import { sh } from '../util/shell.js';
import { unreadableFailure } from '../local/journal.js';
import { ON_A_HOST } from './remote-undo.js';

export interface HostsCleanReport {
  removed: string[];
  skipped: string[];
  failed: TeardownReport['failed'];
}

export async function cleanHosts(set: HostSet, includeKept: boolean): Promise<HostsCleanReport> {
  const out: HostsCleanReport = { removed: [], skipped: [], failed: [] };
  for (const host of set.hosts) {
    try {
      for (const j of await listRemoteJournals(host)) {
        const h = j.header;
        if (!h) {
          out.skipped.push(`host ${host.name}: ${j.path} (no readable header)`);
          continue;
        }
        if (await stillAlive(host, h.pid, h.pidStart)) {
          out.skipped.push(`host ${host.name}: run ${h.runId} (${h.datapath}) is live`);
          continue;
        }
        if (h.kind === 'topo' && !includeKept) {
          out.skipped.push(`host ${host.name}: topology ${h.runId} kept by topo up (--all removes it)`);
          continue;
        }
        const r = await undoAll(j.undos, host.ssh.run, ON_A_HOST.undo);
        const unreadable = unreadableFailure(j);
        if (unreadable) r.failed.push(unreadable);
        out.removed.push(...r.removed.map((x) => `host ${host.name}: ${x}`));
        out.failed.push(...r.failed.map((f) => ({ what: `host ${host.name}: ${f.what}`, error: f.error })));
        if (!r.failed.length) {
          await host.ssh.run(['rm', '-f', j.path]);
          out.removed.push(`host ${host.name}: journal of run ${h.runId} (${h.datapath})`);
        }
      }
      // a lock whose owner died: the next run would take it over anyway; clean says so now
      // judged and removed on the host in one script: a fresh lock taken meanwhile is never the one removed
      const lock = await host.ssh.tryRun(sh(REMOVE_STALE_LOCK, `${REMOTE_STATE_DIR}/measure.lock`));
      if (lock.code === 0)
        out.removed.push(
          `host ${host.name}: the measurement lock of dead run ` +
            `${/"runId":"([^"]*)"/.exec(lock.stdout)?.[1] ?? '(unreadable)'}`,
        );
    } catch (e) {
      out.failed.push({ what: `host ${host.name}`, error: errorMessage(e) });
    }
  }
  return out;
}

/**
 * Whether a journal's owner (a session's keeper on the host) is alive, given the moment a keeper whose
 * connection was just cut takes to see its end: `cnperf clean` after a SIGKILL removes the dead run's ssh
 * connections and then asks at once — a keeper was seen alive then, its journal left behind. A live
 * session's keeper is still there after the grace; only such a clean waits for it.
 */
async function stillAlive(host: HostSet['hosts'][number], pid: number, start: string): Promise<boolean> {
  for (let waited = 0; waited < KEEPER_GRACE_MS; waited += 100) {
    if (!(await aliveOn(host, pid, start))) return false;
    await sleep(100);
  }
  return aliveOn(host, pid, start);
}

const KEEPER_GRACE_MS = 1500;
