/**
 * What the host looks like, for "before == after" checks: namespaces, root-namespace links (with
 * details), addresses, routes (all tables), rules, cnperf's state directory and engine processes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CNPERF } from './paths.js';

function run(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

export interface HostSnapshot {
  netns: string;
  links: string;
  addresses: string;
  routes: string;
  /** ip -6 route: the IPv6 datapaths route only inside their namespaces */
  routes6: string;
  rules: string;
  /** the root namespace's firewall: cnperf's rules live only in its own namespaces */
  nftables: string;
  iptables: string;
  ip6tables: string;
  stateDir: string[];
  engines: string;
  daemons: string;
  /** tracefs mounts and, where mounted, its instances and global settings */
  tracefs: string;
  /** BPF programs and maps loaded (by name), and bpf filesystem mounts: the eBPF datapaths' leftovers */
  bpf: string;
  /** the root namespace's sysctls a datapath could be tempted to change */
  sysctls: string;
  /** hugetlbfs mounts, and DPDK's runtime directories (/var/run/dpdk/<file prefix>) */
  hugetlbfs: string;
  dpdkRuntime: string[];
}

const SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv4/conf/all/proxy_arp',
  'net/ipv6/conf/all/forwarding',
  'net/ipv6/conf/all/accept_ra',
  'net/ipv6/conf/default/accept_ra',
  'net/core/rmem_max',
  'net/core/wmem_max',
  'net/core/netdev_budget',
  'net/core/netdev_max_backlog',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/netfilter/nf_conntrack_max',
  'kernel/perf_event_paranoid',
  // the kernel-bypass datapaths reserve 2 MB pages for a run and give them back
  'vm/nr_hugepages',
];

export function sysctlState(): string {
  return SYSCTLS.map((k) => {
    try {
      return `${k}=${readFileSync(`/proc/sys/${k}`, 'utf8').trim()}`;
    } catch {
      return `${k}=(absent)`;
    }
  }).join(' ');
}

export function tracefsState(): string {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[2] === 'tracefs')
    .map((l) => l.split(' ')[1]!);
  const parts = [`mounts: ${mounts.join(' ')}`];
  for (const m of mounts) {
    const read = (f: string) => {
      try {
        return readFileSync(`${m}/${f}`, 'utf8').trim();
      } catch (e) {
        return `(${(e as NodeJS.ErrnoException).code})`;
      }
    };
    let instances: string[] = [];
    try {
      instances = readdirSync(`${m}/instances`).sort();
    } catch {
      /* no instances directory */
    }
    parts.push(
      `${m}: instances ` +
        `[${instances.join(' ')}] tracing_on ` +
        `${read('tracing_on')} current_tracer ` +
        `${read('current_tracer')} set_event ` +
        `[${read('set_event')}] buffer_size_kb ${read('buffer_size_kb')} trace_clock ${read('trace_clock')}`,
    );
  }
  return parts.join('\n');
}

export function hostSnapshot(): HostSnapshot {
  let stateDir: string[] = [];
  try {
    stateDir = readdirSync('/run/cnperf').sort();
  } catch {
    /* absent is fine */
  }
  return {
    netns: run('ip', ['netns', 'list']),
    links: run('ip', ['-d', '-j', 'link', 'show']),
    addresses: run('ip', ['-j', 'addr', 'show']),
    routes: run('ip', ['-j', 'route', 'show', 'table', 'all']),
    routes6: run('ip', ['-6', '-j', 'route', 'show', 'table', 'all']),
    rules: run('ip', ['-j', 'rule', 'show']),
    // stateless (-s): a rule's counter moving with the host's own traffic is no change of the ruleset
    nftables: run('nft', ['-s', 'list', 'ruleset']),
    // iptables-save stamps its output with the time: drop its comment lines.
    iptables: run('iptables-save', [])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
    ip6tables: run('ip6tables-save', [])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n'),
    stateDir,
    engines: liveEngines().join(' '),
    daemons: liveProcesses(['ovsdb-server', 'ovs-vswitchd', 'ovs-vswitchd-dp', 'qemu-system-x86', 'dpdk-testpmd']).join(
      ' ',
    ),
    tracefs: tracefsState(),
    sysctls: sysctlState(),
    bpf: bpfState(),
    hugetlbfs: readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[2] === 'hugetlbfs')
      .join('\n'),
    dpdkRuntime: existsSync('/var/run/dpdk') ? readdirSync('/var/run/dpdk').sort() : [],
  };
}

/** cnperf's BPF programs and maps (engine/bpf/) as the kernel lists them. */
const OURS =
  /^(xdp_fwd|xdp_peer|tc_fwd|xsk_redirect|fdb|ports|xdp_actions|endpoints|tc_actions|xsks|xsk_port|xsk_actions)$/;

/**
 * Loaded BPF programs and maps (name:type, ids left out) and bpffs mounts. A program leaves when
 * its last device does, devices of a deleted namespace go asynchronously (the kernel's netns cleanup
 * work), and a map after the last program that used it (deferred work again): wait up to 5 s for
 * cnperf's programs and maps to go before reading (unless settle is false: what is loaded now).
 */
export function bpfState(settle = true): string {
  const list = (what: 'prog' | 'map') => {
    try {
      return (
        JSON.parse(execFileSync('bpftool', [what, 'show', '-j'], { encoding: 'utf8' })) as Array<{
          name?: string;
          type: string;
        }>
      )
        .map((x) => `${x.name ?? '?'}:${x.type}`)
        .sort();
    } catch (e) {
      return [`error: ${(e as Error).message}`];
    }
  };
  const ours = () => [...list('prog'), ...list('map')].some((x) => OURS.test(x.split(':')[0]!));
  for (let i = 0; settle && i < 50 && ours(); i++) execFileSync('sleep', ['0.1']);
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[2] === 'bpf')
    .map((l) => l.split(' ')[1]);
  return `programs ${list('prog').join(' ')} | maps ${list('map').join(' ')} | mounts ${mounts.join(' ')}`;
}

/**
 * Engine processes that are alive. A killed engine stays a zombie until PID 1 reaps it; it holds
 * nothing (no sockets, no namespace), so it is not counted.
 */
export function liveEngines(): string[] {
  // (the DPDK build's name, cnperf-engine-dpdk, is cut to 15 characters in /proc/PID/stat)
  return liveProcesses(['cnperf-engine', 'cnperf-engine-d']);
}

/** Live (not zombie) processes with one of these command names. */
export function liveProcesses(names: string[]): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (names.includes(comm) && state !== 'Z') out.push(pid);
    } catch {
      /* exited while we looked */
    }
  }
  return out.sort();
}

export function ownedNetns(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => /^cnp/.test(n))
    .sort();
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs bin/cnperf to completion. */
export function cnperf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return collect(spawnCnperf(args, env));
}

export function spawnCnperf(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [CNPERF, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Resolves when the child's stderr has printed something matching re. */
export function waitForStderr(child: ChildProcess, re: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} on stderr; saw: ${seen}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = re.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
