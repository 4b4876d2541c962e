/**
 * Engines on a real host: started over the session's ssh connection by a small wrapper that journals
 * their stop in the run's journal there first, then runs the engine with its NDJSON on the channel.
 * An engine dies with its session: when its own channel closes (this process or its ssh ended) or
 * when the host's keeper ends (no heartbeat: the network between them is cut), the wrapper stops it —
 * no orphaned sender keeps loading a host.
 */
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { EngineCallbacks, EngineHost } from '../engine-client/guest.js';
import type { RemoteHost } from './remote-host.js';
import { sh } from '../util/shell.js';

/** $1 journal, $2 pidfile, $3 the keeper's pid, then the engine's argv. Markers go to stderr. */
const WRAPPER =
  `j=$1; f=$2; k=$3; shift 3
printf '{"op":"kill-pidfile","pidfile":"%s","comm":"cnperf-engine"}\\n' "$f" >> "$j" || exit 125
exec 3<&0
"$@" </dev/null 3<&- &
p=$!
echo $p > "$f"
echo "@@cnperf-pid $p" >&2
{ cat <&3 >/dev/null 2>&1; kill -TERM $p 2>/dev/null; } >/dev/null 2>&1 &
{ while kill -0 $k 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 1; done; kill -TERM $p 2>/dev/null; } ` +
  `>/dev/null 2>&1 &
wait $p; rc=$?
echo "@@cnperf-exit $rc" >&2
exit $rc`;

export class RemoteEngineHost implements EngineHost {
  readonly keepsArgv = true;
  private next = 0;

  constructor(
    readonly host: RemoteHost,
    /** the run's journal and directory on the host */
    private readonly journalPath: string,
    private readonly runDir: string,
  ) {}

  get name(): string {
    return `host ${this.host.name}`;
  }

  /** The files an engine wrote on the host, copied here and removed there (one it did not write is not copied). */
  private async fetch(files: ReadonlyArray<{ local: string; remote: string }>): Promise<void> {
    for (const f of files) {
      const there = await this.host.ssh.tryRun(['test', '-e', f.remote]);
      if (there.code !== 0) continue;
      writeFileSync(f.local, await this.host.ssh.readFile(f.remote), { mode: 0o600 });
      await this.host.ssh.run(['rm', '-f', f.remote]);
    }
  }

  spawn(argv: readonly string[], on: EngineCallbacks): { signal(sig: NodeJS.Signals): void } {
    const n = this.next++;
    const pidfile = `${this.runDir}/engine-${n}.pid`;
    // a file the engine writes (--raw-out: raw samples) is written in the run's directory on the host,
    // and brought back to the path asked for here before the engine's exit is reported
    const files: Array<{ local: string; remote: string }> = [];
    const args = argv.map((a, i) => {
      if (argv[i - 1] !== '--raw-out') return a;
      files.push({ local: a, remote: `${this.runDir}/engine-${n}-${path.basename(a)}` });
      return files[files.length - 1]!.remote;
    });
    const child = this.host.ssh.spawn(
      sh(WRAPPER, this.journalPath, pidfile, String(this.host.keeper.pid), this.host.engine, ...args),
    );
    let pid: number | null = null;
    let rc: number | null = null;
    const pending: NodeJS.Signals[] = [];
    const kill = (sig: NodeJS.Signals) => {
      if (pid === null) return void pending.push(sig);
      this.host.ssh.run(['kill', `-${sig.replace(/^SIG/, '')}`, String(pid)]).catch(() => {});
    };
    createInterface({ input: child.stdout! }).on('line', (l) => on.line(l));
    createInterface({ input: child.stderr! }).on('line', (l) => {
      const m = /^@@cnperf-(pid|exit) (\d+)$/.exec(l);
      if (!m) return on.stderr(l + '\n');
      if (m[1] === 'exit') rc = Number(m[2]);
      else {
        pid = Number(m[2]);
        for (const s of pending.splice(0)) kill(s);
      }
    });
    child.stdin!.on('error', () => {});
    child.on('close', () => {
      if (rc === null)
        return on.exit(
          null,
          null,
          this.host.lost ??
            `the ssh session to host ${this.host.name} (${this.host.inv.address}) ended before its engine did`,
        );
      const code = rc;
      this.fetch(files)
        .then(() => {
          if (code > 128) {
            const sig = Object.entries(constants.signals).find(([, v]) => v === code - 128)?.[0] as
              NodeJS.Signals | undefined;
            return on.exit(null, sig ?? null);
          }
          on.exit(code, null);
        })
        .catch((e: unknown) => on.exit(null, null, e instanceof Error ? e.message : String(e)));
    });
    return { signal: kill };
  }
}
