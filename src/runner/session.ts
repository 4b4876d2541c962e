/**
 * One measurement session, the same for every command that measures or builds (quick, run,
 * calibrate, doctor, topo up): root, the stop handlers, the engine's version, the measurement lock
 * (two measurements at once would disturb each other), the store and the environment — and, always,
 * the lock released and the store closed at the end.
 */
import { collectEnvironment, type Environment } from '../env/environment.js';
import { probeEngineVersion } from '../engine-client/supervisor.js';
import { acquireMeasureLock } from '../local/lock.js';
import { staticEnginePath, stateDir } from '../paths.js';
import { HostSet } from '../remote/host-set.js';
import type { Inventory } from '../remote/inventory.js';
import { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { installStopHandlers, type StopState } from './signals.js';

export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new UserError(
      `cnperf ${command} needs root: it creates network namespaces and links`,
      `run it as root, e.g. sudo bin/cnperf ${command} ...`,
    );
  }
}

export interface Session {
  stop: StopState;
  env: Environment;
  engineVersion: string;
  /** open when the session was given a database */
  store: Store | null;
  /** the real hosts of --hosts, connected and locked for the session */
  hosts: HostSet | null;
}

export interface SessionOptions {
  /** the command, for messages */
  command: string;
  /** who holds the lock (a run or batch id, or what the command is) */
  owner: string;
  /** the results database to open, if the session stores anything */
  db?: string;
  /** real hosts to measure on (--hosts): the first `hostCount` are connected */
  hosts?: { inventory: Inventory; count: number };
}

export async function withSession<T>(o: SessionOptions, body: (s: Session) => Promise<T>): Promise<T> {
  requireRoot(o.command);
  const stop = installStopHandlers();
  const engineVersion = await probeEngineVersion();
  const release = acquireMeasureLock(stateDir(), o.owner);
  let store: Store | null = null;
  let hosts: HostSet | null = null;
  try {
    if (o.db) store = Store.open(o.db);
    if (o.hosts)
      hosts = await HostSet.open(o.hosts.inventory.hosts.slice(0, o.hosts.count), {
        stateDir: stateDir(),
        owner: o.owner,
        engine: staticEnginePath(),
      });
    const env = collectEnvironment(engineVersion);
    return await body({ stop, env: hosts ? { ...env, hosts: hosts.env } : env, engineVersion, store, hosts });
  } finally {
    await hosts?.close();
    release();
    store?.close();
  }
}
