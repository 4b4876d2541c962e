/**
 * Engines on a real host: started over the session's ssh connection by a small wrapper that journals
 * their stop in the run's journal there first, then runs the engine with its NDJSON on the channel.
 * An engine dies with its session: when its own channel closes (this process or its ssh ended) or
 * when the host's keeper ends (no heartbeat: the network between them is cut), the wrapper stops it —
 * no orphaned sender keeps loading a host.
 */
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import type { EngineCallbacks, EngineHost } from '../engine/guest.js';
import type { RemoteHost } from './remote-host.js';
import { sh } from './ssh.js';

/** $1 journal, $2 pidfile, $3 the keeper's pid, then the engine's argv. Markers go to stderr. */
const WRAPPER = `j=$1; f=$2; k=$3; shift 3
printf '{"op":"kill-pidfile","pidfile":"%s","comm":"cnperf-engine"}\\n' "$f" >> "$j" || exit 125
exec 3<&0
"$@" </dev/null 3<&- &
p=$!
echo $p > "$f"
echo "@@cnperf-pid $p" >&2
{ cat <&3 >/dev/null 2>&1; kill -TERM $p 2>/dev/null; } >/dev/null 2>&1 &
{ while kill -0 $k 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 1; done; kill -TERM $p 2>/dev/null; } >/dev/null 2>&1 &
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

  spawn(argv: readonly string[], on: EngineCallbacks): { signal(sig: NodeJS.Signals): void } {
    if (argv.includes('--raw-out') || argv.includes('--stamps-out')) {
      queueMicrotask(() => on.exit(null, null, 'engines that write files (--raw, --breakdown, --workload load) are not built on real hosts yet'));
      return { signal: () => undefined };
    }
    const pidfile = `${this.runDir}/engine-${this.next++}.pid`;
    const child = this.host.ssh.spawn(sh(WRAPPER, this.journalPath, pidfile, String(this.host.keeper.pid), this.host.engine, ...argv));
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
      if (rc === null) return on.exit(null, null, this.host.lost ?? `the ssh session to host ${this.host.name} (${this.host.inv.address}) ended before its engine did`);
      if (rc > 128) {
        const sig = Object.entries(constants.signals).find(([, n]) => n === rc! - 128)?.[0] as NodeJS.Signals | undefined;
        return on.exit(null, sig ?? null);
      }
      on.exit(rc, null);
    });
    return { signal: kill };
  }
}
