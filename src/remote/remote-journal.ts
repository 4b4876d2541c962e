/**
 * The journal and the measurement lock of a run on a real host, in the host's own state directory
 * (/run/cnperf, the same files a cnperf run on that host would write): each undo is appended there
 * over ssh before its step runs, so whatever happens to this machine or the connection, the host
 * itself says what the run left. Their owner is the session's keeper on the host (its pid and start
 * time), alive exactly as long as the session.
 */
import os from 'node:os';
import { parseJournal, type JournalHeader, type JournalLike } from '../local/journal.js';
import type { UndoAction } from '../local/steps.js';
import { UserError } from '../util/errors.js';
import { REMOTE_STATE_DIR, type RemoteHost } from './remote-host.js';
import { sections, sh } from '../util/shell.js';
import { RELEASE_LOCK, TAKE_LOCK } from './remote-lock.js';

export class RemoteJournal implements JournalLike {
  /** what this run appended (the file on the host has the same; teardown replays this) */
  private readonly entries: UndoAction[] = [];

  private constructor(
    readonly host: RemoteHost,
    readonly path: string,
    readonly header: JournalHeader,
  ) {}

  static async create(
    host: RemoteHost,
    header: Pick<JournalHeader, 'runId' | 'kind' | 'datapath'>,
  ): Promise<RemoteJournal> {
    const dir = await host.stateDir();
    const full: JournalHeader = {
      v: 1,
      ...header,
      pid: host.keeper.pid,
      pidStart: host.keeper.start,
      created: new Date().toISOString(),
      controller: os.hostname(),
    };
    const file = `${dir}/${header.runId}.journal`;
    await host.ssh.run(sh('set -C; umask 077; cat > "$1"', file), JSON.stringify(full) + '\n');
    return new RemoteJournal(host, file, full);
  }

  async append(undo: UndoAction): Promise<void> {
    await this.appendAll([undo]);
  }

  async appendAll(undos: readonly UndoAction[]): Promise<void> {
    if (!undos.length) return;
    this.host.check();
    await this.host.ssh.run(sh('cat >> "$1"', this.path), undos.map((u) => JSON.stringify(u) + '\n').join(''));
    this.entries.push(...undos);
  }

  undos(): UndoAction[] {
    return [...this.entries];
  }

  /** Undos a batch of steps appended to the file on the host itself (src/remote/batch.ts). */
  record(undos: readonly UndoAction[]): void {
    this.entries.push(...undos);
  }

  /** What the file on the host says, after a batch that failed part way. */
  sync(undos: readonly UndoAction[]): void {
    this.entries.splice(0, this.entries.length, ...undos);
  }

  async remove(): Promise<void> {
    await this.host.ssh.run(['rm', '-f', this.path]);
  }
}

/** Whether process pid with this start time lives on the host (a keeper, a journal's owner). */
export async function aliveOn(host: RemoteHost, pid: number, start: string): Promise<boolean> {
  const r = await host.ssh.tryRun(['cat', `/proc/${pid}/stat`]);
  if (r.code !== 0) return false;
  return r.stdout.slice(r.stdout.lastIndexOf(')') + 2).split(' ')[19] === start;
}

/**
 * Takes the host's measurement lock for the session (the same file and format as a run on that host
 * takes): two measurements on one host would disturb each other. A lock whose owner is dead is taken
 * over. Returns its release.
 */
export async function lockHost(host: RemoteHost, owner: string): Promise<() => Promise<void>> {
  const file = `${REMOTE_STATE_DIR}/measure.lock`;
  const me = JSON.stringify({ pid: host.keeper.pid, pidStart: host.keeper.start, runId: owner });
  await host.stateDir();
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await host.ssh.tryRun(sh(TAKE_LOCK, file, me));
    if (r.code === 0) return async () => void (await host.ssh.run(sh(RELEASE_LOCK, file, me)).catch(() => {}));
    if (r.code === 3) {
      let o: { pid?: number; runId?: string } = {};
      try {
        o = JSON.parse(r.stdout) as typeof o;
      } catch {
        /* a lock being written this moment */
      }
      const who = o.pid ? `pid ${o.pid}, run ${o.runId ?? '?'}` : 'a lock written moments ago';
      throw new UserError(
        `host ${host.name}: another cnperf run is measuring there (${who}); measurements would disturb each other`,
        'wait for it to finish, or stop it',
        3,
      );
    }
    if (r.code !== 4)
      throw new UserError(
        `host ${host.name}: could not take the measurement lock ${file}: ${r.stderr.trim() || `exit ${r.code}`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50)); // another controller is taking it over
  }
  throw new UserError(
    `host ${host.name}: could not take the measurement lock ${file} (another controller kept taking it over)`,
  );
}

/** Every journal in the host's state directory, read in one call. */
export async function listRemoteJournals(host: RemoteHost): Promise<ReturnType<typeof parseJournal>[]> {
  const out = (
    await host.ssh.run(
      sh(
        'for f in "$1"/*.journal; do [ -e "$f" ] || continue; printf "\\n@@%s\\n" "$f"; cat "$f"; done',
        REMOTE_STATE_DIR,
      ),
    )
  ).stdout;
  return [...sections(out)].map(([file, text]) => parseJournal(text, file));
}
