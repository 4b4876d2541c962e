/**
 * Turns a topology into the exact ordered steps that build it, each with the action that reverses
 * it. Kernel steps are netlink requests (applied in batches by cnperf-wire, src/local/wire.ts) shown
 * as the `ip` command with the same effect; the rest (ethtool, nft, daemons, ...) are commands. Pure:
 * `--dry-run` prints these, the executor runs them, tests inspect them.
 */
import path from 'node:path';
import { bpfObjectPath, bpfToolPath } from '../paths.js';
import type { Daemon, Topology } from '../topology/model.js';
import { ipEquivalent, type NetOp } from './wire.js';

/**
 * The kinds of journal entry, each with its payload. The kinds of this machine's own mechanisms are
 * here; a module that journals kinds of its own (a datapath's runtime, its plugins, hugepages) adds
 * them to this interface where it defines them (`declare module` augmentation) and registers each
 * at load with registerUndoKind (src/local/undo.ts): its payload check, its handler here, and what a
 * real host does with it. So this floor names no datapath.
 */
export interface UndoKinds {
  'del-netns': { netns: string };
  'del-link': { netns: string; dev: string };
  /** stop a daemon we started: the pid in pidfile, if that process still has this command name */
  'kill-pidfile': { pidfile: string; comm: string };
  /** remove a run directory we created (only ever under the state directory) */
  'rm-dir': { path: string };
  /** remove the tracefs instance a traced run created (src/probes/tracepoints.ts) */
  'rm-trace-instance': { path: string };
  /** unmount the run's own bpffs (its pins, and with them the maps no program holds, go with it) */
  'umount-bpffs': { path: string };
  /** unmount tracefs, which a traced run mounted because nothing had */
  'umount-tracefs': { path: string };
  /** remove the run's name for a namespace it did not make (src/local/adopt.ts): the namespace stays */
  'unname-netns': { netns: string; what: string };
  /** a route the run added in a host's own namespace (src/remote/): it does not go with a namespace */
  'del-route': { netns: string; dst: string; dev?: string };
  /** a sysctl of a host's own namespace, set back to what it was before the run */
  'sysctl-restore': { netns: string; key: string; value: string };
  /** the ssh master connection to a real host (src/remote/ssh.ts), by its control socket */
  'ssh-exit': { socket: string; host: string };
}

/** One journal entry: its kind (`op`) and that kind's payload. */
export type UndoAction = { [K in keyof UndoKinds]: { op: K } & UndoKinds[K] }[keyof UndoKinds];
export type UndoOp = UndoAction['op'];

/** The entries of this floor's own kinds: their payload checks (the others are registered with theirs). */
export const CORE_UNDO_CHECKS = {
  'del-netns': (o) => str(o.netns),
  'del-link': (o) => str(o.netns) && str(o.dev),
  'kill-pidfile': (o) => str(o.pidfile) && str(o.comm),
  'rm-dir': (o) => str(o.path),
  'rm-trace-instance': (o) => str(o.path),
  'umount-bpffs': (o) => str(o.path),
  'umount-tracefs': (o) => str(o.path),
  'unname-netns': (o) => str(o.netns) && str(o.what),
  'del-route': (o) => str(o.netns) && str(o.dst) && (o.dev === undefined || str(o.dev)),
  'sysctl-restore': (o) => str(o.netns) && str(o.key) && str(o.value),
  'ssh-exit': (o) => str(o.socket) && str(o.host),
} satisfies Record<string, (o: Record<string, unknown>) => boolean>;

function str(x: unknown): x is string {
  return typeof x === 'string';
}

export interface Step {
  /** the command run, or for a netlink step the `ip` command with the same effect (display only) */
  argv: string[];
  /** a kernel step cnperf-wire applies over netlink instead of running argv */
  net?: NetOp;
  /** fed to the command's stdin (rulesets for nft -f - and iptables-restore) */
  stdin?: string;
  /** journaled before the command runs, so a crash right after it still gets undone */
  undo?: UndoAction;
  /** the executor times this step and reports it under this name (loading kube-proxy's rules) */
  timed?: string;
  /** longer than the default deadline (a ruleset for thousands of Services) */
  timeoutMs?: number;
  /**
   * A step whose undo depends on what is there now (a host's sysctl): `argv` reads it, `undo` makes
   * the reverse action from what it printed; journaled before the step runs, as every undo is.
   */
  before?: { argv: string[]; undo(stdout: string): UndoAction };
}

/** The ifalias every object of a run carries; `cnperf clean` removes only what carries it. */
export function ownerMark(runId: string): string {
  return `cnperf run ${runId}`;
}

export function stepsFor(t: Topology): Step[] {
  const mark = ownerMark(t.runId);
  const steps: Step[] = [];
  const kernel = (net: NetOp, undo?: UndoAction) =>
    steps.push({ argv: ipEquivalent(net), net, ...(undo ? { undo } : {}) });
  const devices: Array<{ netns: string; dev: string }> = [];

  const roots = new Set(t.namespaces.filter((n) => n.root).map((n) => n.name));
  for (const ns of t.namespaces) {
    if (ns.root) {
      // A real host's own namespace (src/remote/): named for the run after the shell the command runs
      // in ($$: sshd's session is in the host's namespace; PID 1 need not be, as in a container).
      steps.push({
        argv: ['sh', '-c', 'exec ip netns attach "$1" "$$"', 'sh', ns.name],
        undo: { op: 'unname-netns', netns: ns.name, what: `host ${ns.on}` },
      });
      continue;
    }
    if (ns.adopted) continue; // not ours: named (if at all) by the datapath's attach, never changed
    if (ns.guest) continue; // a VM endpoint's: it exists only inside the guest (src/vm/)
    kernel({ op: 'netns-add', netns: ns.name }, { op: 'del-netns', netns: ns.name });
    // A namespace has no label of its own; its loopback's alias is our ownership mark.
    kernel({ op: 'link-alias', netns: ns.name, dev: 'lo', alias: mark });
    kernel({ op: 'link-up', netns: ns.name, dev: 'lo' });
  }
  for (const l of t.links) {
    const mtu = l.mtu ? { mtu: l.mtu } : {};
    const undo: UndoAction = { op: 'del-link', netns: l.netns, dev: l.name };
    if (l.kind === 'bridge') {
      kernel({ op: 'bridge-add', netns: l.netns, name: l.name, ...mtu }, undo);
      devices.push({ netns: l.netns, dev: l.name });
    } else if (l.kind === 'macvlan' || l.kind === 'ipvlan') {
      // Created on its lower device and moved into the container's namespace in one step.
      kernel(
        {
          op: l.kind === 'macvlan' ? 'macvlan-add' : 'ipvlan-add',
          lowerNetns: l.lowerNetns,
          lower: l.lower,
          netns: l.netns,
          name: l.name,
          mode: l.mode,
          ...mtu,
        },
        undo,
      );
      devices.push({ netns: l.netns, dev: l.name });
    } else if (l.kind === 'vxlan') {
      kernel(
        {
          op: 'vxlan-add',
          netns: l.netns,
          name: l.name,
          vni: l.vni,
          port: l.port,
          local: l.local,
          remote: l.remote,
          dev: l.dev,
          ...mtu,
        },
        undo,
      );
      devices.push({ netns: l.netns, dev: l.name });
    } else if (l.kind === 'tap') {
      // A VM endpoint's NIC: a persistent tap that qemu opens by name (vnet_hdr: virtio-net's
      // offloads pass through it, as libvirt creates them). Not a netlink link type: the ip command.
      steps.push({ argv: ['ip', '-n', l.netns, 'tuntap', 'add', 'dev', l.name, 'mode', 'tap', 'vnet_hdr'], undo });
      if (l.mtu) steps.push({ argv: ['ip', '-n', l.netns, 'link', 'set', 'dev', l.name, 'mtu', String(l.mtu)] });
      devices.push({ netns: l.netns, dev: l.name });
    } else {
      // Both ends are created directly inside their namespaces: nothing ever appears in the
      // root namespace, not even for a moment.
      kernel(
        {
          op: 'veth-add',
          netns: l.netns,
          name: l.name,
          peerNetns: l.peerNetns,
          peer: l.peer,
          ...mtu,
          ...(l.mac ? { mac: l.mac } : {}),
          ...(l.peerMac ? { peerMac: l.peerMac } : {}),
        },
        undo,
      );
      devices.push({ netns: l.netns, dev: l.name }, { netns: l.peerNetns, dev: l.peer });
    }
  }
  for (const d of devices) {
    kernel({ op: 'link-alias', netns: d.netns, dev: d.dev, alias: mark });
    // No IPv6 link-local address: no DAD, router or MLD packets crossing the measured path.
    kernel({ op: 'link-addrgenmode-none', netns: d.netns, dev: d.dev });
  }
  for (const p of t.ports) kernel({ op: 'link-master', netns: p.netns, dev: p.dev, master: p.master });
  // IPv4 addresses before the links come up, IPv6 ones after: an IPv6 address (even without DAD) on a link
  // brought up after it stayed unusable for about a second here — the first 4 round trips of a veth run
  // were lost — while one added to an up link answers neighbour solicitations at once.
  const v6 = (a: { cidr: string }) => a.cidr.includes(':');
  for (const a of t.addresses.filter((x) => !v6(x)))
    kernel({ op: 'addr-add', netns: a.netns, dev: a.dev, cidr: a.cidr });
  for (const d of devices) kernel({ op: 'link-up', netns: d.netns, dev: d.dev });
  for (const a of t.addresses.filter(v6)) kernel({ op: 'addr-add', netns: a.netns, dev: a.dev, cidr: a.cidr });
  if (t.offload && Object.keys(t.offload).length) {
    const features = Object.entries(t.offload).flat();
    const bridges = new Set(t.links.filter((l) => l.kind === 'bridge').map((l) => `${l.netns}/${l.name}`));
    for (const d of devices)
      if (!bridges.has(`${d.netns}/${d.dev}`))
        steps.push({ argv: ['ip', 'netns', 'exec', d.netns, 'ethtool', '-K', d.dev, ...features] });
  }
  // RPS/XPS: sysfs as seen from inside the namespace (ip netns exec mounts the namespace's own).
  for (const [file, mask] of [
    ['rx-0/rps_cpus', t.rps],
    ['tx-0/xps_cpus', t.xps],
  ] as const) {
    if (!mask) continue;
    const bridges = new Set(t.links.filter((l) => l.kind === 'bridge').map((l) => `${l.netns}/${l.name}`));
    for (const d of devices) {
      if (!bridges.has(`${d.netns}/${d.dev}`))
        steps.push({
          argv: ['ip', 'netns', 'exec', d.netns, 'tee', `/sys/class/net/${d.dev}/queues/${file}`],
          stdin: mask,
        });
    }
  }
  // Daemons (OVS) run inside our namespaces with all their files in the run's directory; each one's
  // stop is journaled before it starts. Their configuration commands follow.
  const runDir = t.daemons?.[0]?.runDir ?? (t.bpf?.length ? path.dirname(t.bpf[0]!.root) : undefined);
  if (runDir) steps.push({ argv: ['mkdir', '-p', '-m', '700', runDir], undo: { op: 'rm-dir', path: runDir } });
  for (const d of t.daemons ?? []) steps.push(...daemonSteps(d));
  for (const argv of t.configure ?? []) steps.push({ argv });
  for (const r of t.rulesets ?? []) {
    const argv = r.tool === 'nft' ? ['nft', '-f', '-'] : [`${r.tool}-restore`, '--noflush'];
    // Loading time grows with the ruleset (measured here: 10 000 Services, ~70 000 lines, 15 s in either
    // mode, more while the kernel still dismantles a previous run's tables): 3 ms a line, 15 s at least.
    const lines = r.text.split('\n').length;
    steps.push({
      argv: ['ip', 'netns', 'exec', r.netns, ...argv],
      stdin: r.text,
      ...(r.label ? { timed: `${r.label} in ${r.netns}` } : {}),
      ...(lines > 5000 ? { timeoutMs: Math.max(15_000, lines * 3) } : {}),
    });
  }
  // BPF: a bpffs of the run's own (never the host's /sys/fs/bpf), then one loader per node. Programs
  // are attached to devices in our namespaces and go with them; the unmount drops every pin.
  if (t.bpf?.length) {
    const root = t.bpf[0]!.root;
    steps.push({ argv: ['mkdir', '-m', '700', root] });
    steps.push({
      argv: ['mount', '-t', 'bpf', '-o', 'mode=700', 'cnperf-bpf', root],
      undo: { op: 'umount-bpffs', path: root },
    });
    for (const b of t.bpf)
      steps.push({
        argv: [bpfToolPath(), 'load', bpfObjectPath(b.object), b.pinDir],
        stdin: b.requests.map((r) => r.join('\t')).join('\n') + '\n',
      });
  }
  // a device's own setting (net.ipv6.conf.DEV.accept_ra) goes with the device: none of the run's needs putting back
  const created = new Set(
    t.links.flatMap((l) => [`${l.netns}/${l.name}`, ...(l.kind === 'veth' ? [`${l.peerNetns}/${l.peer}`] : [])]),
  );
  const ofCreatedDevice = (c: { netns: string; key: string }) =>
    created.has(`${c.netns}/${/^net\.ipv[46]\.conf\.([^.]+)\./.exec(c.key)?.[1] ?? ''}`);
  for (const c of t.sysctls ?? []) {
    const set: Step = { argv: ['ip', 'netns', 'exec', c.netns, 'sysctl', '-qw', `${c.key}=${c.value}`] };
    // in a host's own namespace the value before the run is put back at teardown
    if (roots.has(c.netns) && !ofCreatedDevice(c))
      set.before = {
        argv: ['ip', 'netns', 'exec', c.netns, 'sysctl', '-n', c.key],
        undo: (out) => ({ op: 'sysctl-restore', netns: c.netns, key: c.key, value: out.trim() }),
      };
    steps.push(set);
  }
  for (const r of t.routes ?? []) {
    // a route in a host's own namespace outlives the run unless it is removed (its device may be the host's NIC)
    const undo: UndoAction | undefined = roots.has(r.netns)
      ? { op: 'del-route', netns: r.netns, dst: r.dst, ...(r.dev ? { dev: r.dev } : {}) }
      : undefined;
    kernel(
      {
        op: 'route-add',
        netns: r.netns,
        dst: r.dst,
        ...(r.via ? { via: r.via } : {}),
        ...(r.dev ? { dev: r.dev } : {}),
        ...(r.onlink ? { onlink: true } : {}),
      },
      undo,
    );
  }
  return steps;
}

/** A daemon's start in its namespace, its stop journaled first; its preparing commands before it. */
export function daemonSteps(d: Daemon): Step[] {
  return [
    ...(d.prepare ?? []).map((argv) => ({ argv })),
    {
      argv: [
        'ip',
        'netns',
        'exec',
        d.netns,
        'env',
        ...Object.entries(d.env ?? {}).map(([k, v]) => `${k}=${v}`),
        ...d.argv,
      ],
      undo: { op: 'kill-pidfile', pidfile: d.pidfile, comm: d.comm },
    },
  ];
}

/** A plan as --dry-run prints it: one line per step, after a line saying how kernel steps are applied. */
export function formatSteps(steps: readonly Step[]): string[] {
  const header = steps.some((s) => s.net)
    ? [
        '# ip commands here are applied as rtnetlink requests by cnperf-wire, many per process; each line ' +
          'shows the ip command with the same effect',
      ]
    : [];
  return [...header, ...steps.map(formatStep)];
}

/** Renders a step for display (a here-document shows its stdin). Display only: nothing runs a shell. */
export function formatStep(s: Step): string {
  return s.stdin === undefined ? formatCommand(s.argv) : `${formatCommand(s.argv)} <<'EOF'\n${s.stdin.trimEnd()}\nEOF`;
}

/** Renders argv for display, quoting what a shell would split. Display only: nothing runs a shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:@=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
