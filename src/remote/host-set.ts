/**
 * The real hosts of a session (--hosts): connected once, each locked for the session, the engine
 * copied, its NIC found and its environment read; closed at the end. This machine's part — the ssh
 * master connections, their sockets in the session's directory — is journaled here like any run's,
 * so `cnperf clean` ends the connections of a killed session.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HostCommandError } from '../util/errors.js';
import { registerUndoHandler, undoAll } from '../local/undo.js';
import { Journal } from '../local/journal.js';
import { ensureRunDir } from '../local/statedir.js';
import type { PlanHost } from '../datapaths/nodes.js';
import { newRunId } from '../util/ids.js';
import { hostEnvironment, type HostEnvironment } from './remote-environment.js';
import type { InventoryHost } from './inventory.js';
import { RemoteHost } from './remote-host.js';
import { lockHost } from './remote-journal.js';
import { SshHost } from './ssh.js';

export class HostSet {
  readonly env: HostEnvironment[] = [];
  private readonly releases: Array<() => Promise<void>> = [];

  private constructor(
    readonly hosts: RemoteHost[],
    private readonly journal: Journal,
  ) {}

  /**
   * Connects to the hosts. To measure (`engine` given), each is locked for the session, the engine
   * copied there, its NIC found (the one routing to the other host) and its environment read;
   * doctor and clean only connect.
   */
  static async open(
    used: readonly InventoryHost[],
    o: { stateDir: string; owner: string; engine?: string },
  ): Promise<HostSet> {
    const id = newRunId();
    const journal = Journal.create(o.stateDir, { runId: id, kind: 'run', datapath: 'hosts' });
    const dir = path.join(o.stateDir, `cnp${id}`);
    ensureRunDir(dir, journal);
    const set = new HostSet([], journal);
    try {
      for (const [i, h] of used.entries()) {
        const socket = path.join(dir, `ssh-${i}`);
        journal.append({ op: 'ssh-exit', socket, host: h.name });
        const host = new RemoteHost(h, new SshHost(h, socket));
        set.hosts.push(host);
        await host.open();
        if (!o.engine) continue;
        set.releases.push(await lockHost(host, o.owner));
        await host.installEngine(o.engine);
      }
      if (o.engine) {
        for (const [i, host] of set.hosts.entries()) {
          await host.findNic(used[i === 0 ? 1 : 0]?.address);
          set.env.push(await hostEnvironment(host));
        }
      }
    } catch (e) {
      await set.close();
      throw e;
    }
    return set;
  }

  planHosts(): PlanHost[] {
    return this.hosts.map((h) => h.planHost());
  }

  async close(): Promise<void> {
    for (const release of this.releases.splice(0)) await release();
    for (const h of this.hosts) await h.close();
    const r = await undoAll(this.journal.undos());
    if (r.failed.length === 0) this.journal.remove();
  }
}

registerUndoHandler('ssh-exit', {
  describe: (u) => `the ssh connection to host ${u.host} (${u.socket})`,
  async undo(u, run) {
    if (!existsSync(u.socket)) return 'gone';
    try {
      await run(['ssh', '-o', `ControlPath=${u.socket}`, '-O', 'exit', u.host], undefined, 5000);
    } catch (e) {
      if (!(e instanceof HostCommandError)) throw e;
    }
    return 'removed';
  },
});
