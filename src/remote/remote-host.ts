/**
 * One real host for the length of a session: its ssh master, its keeper, the measurement lock, the
 * engine copied there, the NIC the datapath uses. The keeper is a shell of the session's on the host
 * that owns the host's lock and the run's journals there (as this process owns them here): it lives
 * as long as this process keeps sending it a heartbeat, so when cnperf is killed or the network
 * between them is cut, it ends within KEEPER_TIMEOUT_S — and with it every remote engine (each one
 * watches it) — and `cnperf clean --hosts` knows the host's journals as dead.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UserError } from '../util/errors.js';
import type { PlanHost } from '../datapaths/nodes.js';
import { VERSION } from '../version.js';
import type { InventoryHost } from './inventory.js';
import { SshHost } from './ssh.js';
import { sh } from '../util/shell.js';
import { assertListed } from '../tools/table.js';

/** The state directory on every host: journals, the lock, the engine's copy (tmpfs: gone at reboot, as namespaces are).
 * */
export const REMOTE_STATE_DIR = '/run/cnperf';
/** The keeper ends when no heartbeat came for this long (one is sent every second). */
export const KEEPER_TIMEOUT_S = 5;

/**
 * The keeper: prints its pid and start time, then reads one heartbeat byte at a time; no byte within
 * the timeout (or end of input) ends it. `sh` then `exec`s nothing: its pid is the one printed.
 */
const KEEPER =
  `echo "$$ $(cut -d' ' -f22 /proc/$$/stat)"; while b=$(timeout "$1" dd bs=1 count=1 ` +
  `status=none 2>/dev/null) && [ -n "$b" ]; do :; done`;

/** The heartbeat: a byte a second while process $1 (cnperf) lives. */
const PACEMAKER = 'while kill -0 "$1" 2>/dev/null; do printf . || exit 0; sleep 1; done';

export interface Keeper {
  pid: number;
  start: string;
}

/** $1 made if missing (mode 700); refused (exit 3, why on stderr) if a link, another user's, or writable by others. */
export const TRUSTED_STATE_DIR = `mkdir -p -m 700 "$1" || exit 1
[ -L "$1" ] && { echo "it is a symbolic link" >&2; exit 3; }
[ "$(stat -c %u "$1")" = "$(id -u)" ] || { echo "it is owned by uid $(stat -c %u "$1"), not by $(id -u)" >&2; exit 3; }
[ $(( 0$(stat -c %a "$1") & 022 )) = 0 ] || { echo "it is writable by others (mode $(stat -c %a "$1"))" >&2; exit 3; }
exit 0`;

export class RemoteHost {
  /** why the connection broke (the keeper's session ended), or null while it is fine */
  lost: string | null = null;
  /** where the engine is on the host */
  engine = '';
  private pacemaker: ChildProcess | null = null;
  keeper: Keeper = { pid: 0, start: '' };
  /** the NIC the datapath uses and its MTU (found when connecting) */
  nic = '';
  mtu = 0;
  /** whether `nic` holds the address cnperf reaches the host at (found with the NIC) */
  nicCarriesAddress = true;

  constructor(
    readonly inv: InventoryHost,
    readonly ssh: SshHost,
  ) {}

  get name(): string {
    return this.inv.name;
  }

  /** Connects, starts the keeper and checks the host's basics. */
  async open(): Promise<void> {
    await this.ssh.connect();
    const uname = (await this.ssh.run(['uname', '-sm'])).stdout.trim();
    if (uname !== 'Linux x86_64')
      throw new UserError(`host ${this.name}: it is '${uname}'; cnperf's engine is built for Linux x86_64`);
    await this.startKeeper();
  }

  private startKeeper(): Promise<void> {
    // The heartbeat comes from a small process of ours, straight into the keeper's session: it beats
    // while this process lives, whatever its event loop is doing (seconds of synchronous work once let
    // the keepers declare the hosts lost), and stops within a second of its death.
    assertListed('sh');
    const beat = spawn('sh', ['-c', PACEMAKER, 'sh', String(process.pid)], { stdio: ['ignore', 'pipe', 'ignore'] });
    const p = this.ssh.spawn(sh(KEEPER, String(KEEPER_TIMEOUT_S)), beat.stdout!);
    beat.stdout!.destroy(); // the session holds the pipe now; this process never reads it
    this.pacemaker = beat;
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: p.stdout! });
      lines.once('line', (l) => {
        const [pid, start] = l.trim().split(' ');
        if (!pid || !start || !/^\d+$/.test(pid)) return reject(new Error(`host ${this.name}: the keeper said '${l}'`));
        this.keeper = { pid: Number(pid), start };
        resolve();
      });
      p.on('exit', (code) => {
        beat.kill();
        this.lost ??=
          `the ssh session to host ` +
          `${this.name} (${this.inv.address}) ` +
          `ended${code === 255 ? ': the connection was lost' : ''}${stderr.trim() ? ` (${stderr.trim()})` : ''}`;
        reject(new Error(this.lost));
      });
    });
  }

  /** The host's state directory, made if missing. */
  async stateDir(): Promise<string> {
    // as here (src/local/statedir.ts): a directory of this user's that no one else can write, or nothing
    const r = await this.ssh.tryRun(sh(TRUSTED_STATE_DIR, REMOTE_STATE_DIR));
    if (r.code !== 0)
      throw new UserError(
        `host ${this.name}: cannot use ` +
          `${REMOTE_STATE_DIR} as cnperf's state directory: ${r.stderr.trim() || `exit ${r.code}`}`,
        'its journals say what cnperf removes there, as root: remove it (cnperf makes it, mode 700)',
      );
    return REMOTE_STATE_DIR;
  }

  /**
   * The engine on the host: the static build (no library of the host's is needed), at a path named by
   * its version and content hash; copied only when no file with that hash is there. Older copies go.
   */
  async installEngine(localPath: string): Promise<string> {
    const bytes = readFileSync(localPath);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const dir = `${REMOTE_STATE_DIR}/engine/${VERSION}-${hash.slice(0, 16)}`;
    const file = `${dir}/cnperf-engine`;
    const there = await this.ssh.tryRun(['sha256sum', file]);
    if (there.code !== 0 || there.stdout.split(' ')[0] !== hash) {
      await this.ssh.run(
        sh(
          'rm -rf "$1"/engine/*; mkdir -p -m 700 "$2" && cat > "$2/.part" && chmod 755 "$2/.part" && mv ' +
            '"$2/.part" "$2/cnperf-engine"',
          REMOTE_STATE_DIR,
          dir,
        ),
        bytes,
        60_000,
      );
      const check = await this.ssh.run(['sha256sum', file]);
      if (check.stdout.split(' ')[0] !== hash)
        throw new UserError(
          `host ${this.name}: the engine copied to ` +
            `${file} does not have the content sent (sha256 ${hash.slice(0, 16)}…)`,
        );
    }
    this.engine = file;
    return file;
  }

  /** The NIC the datapath uses: the inventory's, or the one routing to `peer` (the other host). */
  async findNic(peer: string | undefined): Promise<void> {
    let nic = this.inv.interface;
    if (!nic) {
      const target = peer ?? '198.18.0.1';
      const out = (await this.ssh.run(['ip', '-o', 'route', 'get', target])).stdout;
      nic = / dev (\S+)/.exec(out)?.[1];
      if (!nic || nic === 'lo')
        throw new UserError(
          `host ${this.name}: no interface routes to ${target} (ip route get: ${out.trim()})`,
          'name it in the inventory: interface: eth1',
        );
    }
    const link = await this.ssh.tryRun(['ip', '-j', 'link', 'show', 'dev', nic]);
    if (link.code !== 0)
      throw new UserError(
        `host ${this.name}: interface '${nic}' does not exist (${link.stderr.trim()})`,
        'check interface: in the inventory',
      );
    const [info] = JSON.parse(link.stdout) as Array<{ mtu: number }>;
    this.nic = nic;
    this.mtu = info?.mtu ?? 1500;
    const addrs = JSON.parse((await this.ssh.run(['ip', '-j', 'addr', 'show', 'dev', nic])).stdout) as Array<{
      addr_info?: Array<{ local?: string }>;
    }>;
    this.nicCarriesAddress = addrs.some((l) => (l.addr_info ?? []).some((a) => a.local === this.inv.address));
  }

  planHost(): PlanHost {
    return {
      name: this.name,
      address: this.inv.address,
      nic: this.nic,
      mtu: this.mtu,
      nicCarriesAddress: this.nicCarriesAddress,
    };
  }

  /** Ends the keeper (its engines with it) and the master connection. */
  async close(): Promise<void> {
    this.lost ??= 'closed';
    this.pacemaker?.kill(); // the keeper reads the end of its input and ends
    await this.ssh.close();
  }

  /** Throws, naming the host, if its connection is gone. */
  check(): void {
    if (this.lost && this.lost !== 'closed')
      throw new UserError(this.lost, `once the host is reachable again: cnperf clean --hosts FILE`);
  }
}
