/**
 * Real hosts, simulated faithfully on one machine (issue 18's fixture): each "host" is a network
 * namespace with its own sshd (Debian's openssh-server, a host key generated here, the test's key
 * authorized, listening on the host's address) in a private mount namespace whose /run — and with it
 * /run/netns and /run/cnperf — is its own, so a host cannot see another's namespaces or journals, as
 * on real machines. The hosts' NICs (eth1) are ports of a bridge in a switch namespace, and this
 * machine joins that switch by a veth: addresses 198.19.10.0/24 and their IPv6 twins 2001:2:0:10a::/64 (an
 * inventory of each: `inventory`, `inventory6`). Everything is removed by stop().
 *
 * Run directly, it keeps two hosts up until interrupted (for trying cnperf --hosts by hand):
 *   node dist/test/helpers/sim-hosts.js DIR
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const SWITCH_NS = 'simhost-sw';
export const CONTROLLER_DEV = 'simh-ctl';
export const CONTROLLER_IP = '198.19.10.254';
export const CONTROLLER_IP6 = '2001:2:0:10a::fe';

export interface SimHost {
  name: string;
  netns: string;
  address: string;
  address6: string;
  sshd: ChildProcess;
}

function sh(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function quiet(file: string, args: string[]): void {
  try {
    sh(file, args);
  } catch {
    /* already gone */
  }
}

async function listening(address: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: address, port: 22, timeout: 500 });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.once('timeout', () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd on ${address} did not listen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class SimHosts {
  readonly hosts: SimHost[] = [];
  /** the inventory file naming the hosts, with the test's key and the hosts' keys */
  readonly inventory: string;
  /** the same hosts by their IPv6 addresses */
  readonly inventory6: string;

  private constructor(readonly dir: string) {
    this.inventory = path.join(dir, 'hosts.yaml');
    this.inventory6 = path.join(dir, 'hosts6.yaml');
  }

  /** Starts `names.length` hosts (198.19.10.1, .2, ...). `omit`: tools hidden from a host's PATH. */
  static async start(dir: string, names: string[] = ['a', 'b']): Promise<SimHosts> {
    const s = new SimHosts(dir);
    mkdirSync(dir, { recursive: true });
    try {
      await s.setUp(names);
    } catch (e) {
      s.stop();
      throw e;
    }
    return s;
  }

  private async setUp(names: string[]): Promise<void> {
    const key = path.join(this.dir, 'id_ed25519');
    // fresh keys every time (ssh-keygen will not overwrite a key without asking)
    for (const f of readdirSync(this.dir)) if (/^(id_ed25519|host_)/.test(f)) rmSync(path.join(this.dir, f));
    sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cnperf-test', '-f', key]);
    writeFileSync(path.join(this.dir, 'authorized_keys'), readFileSync(`${key}.pub`));
    sh('ip', ['netns', 'add', SWITCH_NS]);
    sh('ip', ['-n', SWITCH_NS, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', SWITCH_NS, 'link', 'set', 'br0', 'up']);
    sh('ip', ['link', 'add', CONTROLLER_DEV, 'type', 'veth', 'peer', 'name', 'ctl', 'netns', SWITCH_NS]);
    sh('ip', ['-n', SWITCH_NS, 'link', 'set', 'ctl', 'master', 'br0', 'up']);
    sh('ip', ['addr', 'add', `${CONTROLLER_IP}/24`, 'dev', CONTROLLER_DEV]);
    sh('ip', ['link', 'set', CONTROLLER_DEV, 'up']);
    // after link-up, without duplicate address detection: usable at once
    sh('ip', ['addr', 'add', `${CONTROLLER_IP6}/64`, 'dev', CONTROLLER_DEV, 'nodad']);
    const known: string[] = [];
    const lines = ['hosts:'];
    const lines6 = ['hosts:'];
    for (const [i, name] of names.entries()) {
      const netns = `simhost-${name}`;
      const address = `198.19.10.${i + 1}`;
      const address6 = `2001:2:0:10a::${i + 1}`;
      sh('ip', ['netns', 'add', netns]);
      sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', SWITCH_NS, 'link', 'add', `p${name}`, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', netns]);
      sh('ip', ['-n', SWITCH_NS, 'link', 'set', `p${name}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth1']);
      sh('ip', ['-n', netns, 'link', 'set', 'eth1', 'up']);
      sh('ip', ['-n', netns, 'addr', 'add', `${address6}/64`, 'dev', 'eth1', 'nodad']);
      const hostKey = path.join(this.dir, `host_${name}`);
      sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `host ${name}`, '-f', hostKey]);
      const pub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      known.push(`${address} ${pub}`, `${address6} ${pub}`);
      const cfg = path.join(this.dir, `sshd_${name}.conf`);
      writeFileSync(
        cfg,
        [
          `ListenAddress ${address}`,
          `ListenAddress ${address6}`,
          'Port 22',
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${path.join(this.dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'PidFile /run/sshd.pid',
          // a cut connection ends its sessions (and the keeper) within ~3 s, as a real sshd configured so would
          'ClientAliveInterval 1',
          'ClientAliveCountMax 3',
          'MaxSessions 100',
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      // its own /run: /run/netns, /run/cnperf and sshd's privilege separation directory are the host's alone.
      // And no shell startup files of this machine's root: sshd runs every command through root's shell,
      // which sources ~/.bashrc — here pyenv's init, 0.6 s a call, which the hosts suite measured instead
      // of cnperf (a real host's root has its own).
      const rc = 'for f in /root/.bashrc /root/.profile; do [ -f "$f" ] && mount --bind /dev/null "$f"; done';
      const sshd = spawn(
        'ip',
        [
          'netns',
          'exec',
          netns,
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          `mount -t tmpfs -o mode=755 simhost /run && mkdir -p /run/sshd && ${rc}; exec /usr/sbin/sshd -D -e -f "$1"`,
          'sh',
          cfg,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      sshd.stderr!.on('data', () => {});
      this.hosts.push({ name, netns, address, address6, sshd });
      for (const [list, a] of [
        [lines, address],
        [lines6, `'${address6}'`],
      ] as const)
        list.push(
          `  - name: ${name}`,
          `    address: ${a}`,
          '    user: root',
          `    identity: ${key}`,
          `    known_hosts: ${path.join(this.dir, 'known_hosts')}`,
        );
    }
    writeFileSync(path.join(this.dir, 'known_hosts'), known.join('\n') + '\n');
    writeFileSync(this.inventory, lines.join('\n') + '\n');
    writeFileSync(this.inventory6, lines6.join('\n') + '\n');
    for (const h of this.hosts) await Promise.all([listening(h.address), listening(h.address6)]);
  }

  host(name: string): SimHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no simulated host ${name}`);
    return h;
  }

  /** Runs a shell command on a host as cnperf reaches it (over ssh: its own /run). */
  ssh(name: string, command: string): string {
    const h = this.host(name);
    return sh('ssh', [
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${path.join(this.dir, 'known_hosts')}`,
      '-i',
      path.join(this.dir, 'id_ed25519'),
      '-o',
      'IdentitiesOnly=yes',
      `root@${h.address}`,
      command,
    ]);
  }

  /** Drops a host's traffic at the switch (its cable pulled); restore() plugs it back. */
  cut(name: string): void {
    sh('ip', ['-n', SWITCH_NS, 'link', 'set', `p${name}`, 'down']);
  }

  restore(name: string): void {
    sh('ip', ['-n', SWITCH_NS, 'link', 'set', `p${name}`, 'up']);
  }

  /** What a host looks like, for before == after: its namespaces, links, routes, sysctls, journals, cnperf's processes.
   * */
  state(name: string): string {
    return this.ssh(
      name,
      'ls /run/netns 2>/dev/null; echo --; ip -o link | sed "s/ link\\/.*//"; echo --; ip route; echo --; ' +
        'ip -o -4 addr; echo --; cat /proc/sys/net/ipv4/ip_forward; echo --; ls /run/cnperf 2>/dev/null | grep -v ' +
        '"^engine$"; echo --; ip netns identify $$; echo --; grep " tracefs " /proc/mounts; ls ' +
        '/sys/kernel/tracing/instances 2>/dev/null; true',
    );
  }

  stop(): void {
    for (const h of this.hosts) {
      // every process in the host's namespace: sshd and whatever its sessions left
      let pids: string[] = [];
      try {
        pids = sh('ip', ['netns', 'pids', h.netns]).split('\n').filter(Boolean);
      } catch {
        /* gone */
      }
      for (const pid of pids) quiet('kill', ['-KILL', pid]);
      h.sshd.kill('SIGKILL');
    }
    for (const h of this.hosts) quiet('ip', ['netns', 'del', h.netns]);
    quiet('ip', ['netns', 'del', SWITCH_NS]); // the controller's veth goes with its peer
    quiet('ip', ['link', 'del', CONTROLLER_DEV]);
  }
}

// node dist/test/helpers/sim-hosts.js DIR: two hosts until SIGINT/SIGTERM
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const dir = process.argv[2] ?? '/tmp/cnperf-sim-hosts';
  const s = await SimHosts.start(dir);
  process.stdout.write(`hosts up: ${s.inventory}\n`);
  const end = () => {
    s.stop();
    process.exit(0);
  };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => {}, 1 << 30);
}
