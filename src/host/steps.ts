/**
 * Turns a topology into the exact ordered `ip` commands that build it, each with the action that
 * reverses it. Pure: `--dry-run` prints these, the executor runs them, tests inspect them.
 */
import type { CniPlan, Topology } from '../topology/model.js';

export type UndoAction =
  | { op: 'del-netns'; netns: string }
  | { op: 'del-link'; netns: string; dev: string }
  /** stop a daemon we started: the pid in pidfile, if that process still has this command name */
  | { op: 'kill-pidfile'; pidfile: string; comm: string }
  /** remove a run directory we created (only ever under the state directory) */
  | { op: 'rm-dir'; path: string }
  /** remove the tracefs instance a traced run created (src/probes/tracepoints.ts) */
  | { op: 'rm-trace-instance'; path: string }
  /** unmount tracefs, which a traced run mounted because nothing had */
  | { op: 'umount-tracefs'; path: string }
  /** CNI DEL of a container's attachment (the network list, and where its ADD result is cached) */
  | { op: 'cni-del'; network: CniPlan['network']; netns: string; ifname: string; containerId: string; runIn: string; cacheFile: string };

export interface Step {
  argv: string[];
  /** fed to the command's stdin (rulesets for nft -f - and iptables-restore) */
  stdin?: string;
  /** journaled before the command runs, so a crash right after it still gets undone */
  undo?: UndoAction;
}

/** The ifalias every object of a run carries; `cnperf clean` removes only what carries it. */
export function ownerMark(runId: string): string {
  return `cnperf run ${runId}`;
}

export function stepsFor(t: Topology): Step[] {
  const mark = ownerMark(t.runId);
  const steps: Step[] = [];
  const ip = (netns: string, ...args: string[]) => ['ip', '-n', netns, ...args];
  const devices: Array<{ netns: string; dev: string }> = [];

  for (const ns of t.namespaces) {
    steps.push({ argv: ['ip', 'netns', 'add', ns.name], undo: { op: 'del-netns', netns: ns.name } });
    // A namespace has no label of its own; its loopback's alias is our ownership mark.
    steps.push({ argv: ip(ns.name, 'link', 'set', 'lo', 'alias', mark) });
    steps.push({ argv: ip(ns.name, 'link', 'set', 'lo', 'up') });
  }
  for (const l of t.links) {
    const mtu = l.mtu ? ['mtu', String(l.mtu)] : [];
    const undo: UndoAction = { op: 'del-link', netns: l.netns, dev: l.name };
    if (l.kind === 'bridge') {
      steps.push({ argv: ip(l.netns, 'link', 'add', l.name, ...mtu, 'type', 'bridge'), undo });
      devices.push({ netns: l.netns, dev: l.name });
    } else if (l.kind === 'macvlan' || l.kind === 'ipvlan') {
      // Created on its lower device and moved into the container's namespace in one step.
      const move = l.netns === l.lowerNetns ? [] : ['netns', l.netns];
      steps.push({ argv: ip(l.lowerNetns, 'link', 'add', l.name, 'link', l.lower, ...move, ...mtu, 'type', l.kind, 'mode', l.mode), undo });
      devices.push({ netns: l.netns, dev: l.name });
    } else if (l.kind === 'vxlan') {
      steps.push({
        argv: ip(l.netns, 'link', 'add', l.name, ...mtu, 'type', 'vxlan', 'id', String(l.vni), 'dstport', String(l.port), 'local', l.local, 'remote', l.remote, 'dev', l.dev),
        undo,
      });
      devices.push({ netns: l.netns, dev: l.name });
    } else {
      // Both ends are created directly inside their namespaces: nothing ever appears in the
      // root namespace, not even for a moment.
      steps.push({
        argv: ['ip', 'link', 'add', l.name, 'netns', l.netns, ...mtu, 'type', 'veth', 'peer', 'name', l.peer, 'netns', l.peerNetns, ...mtu],
        undo: { op: 'del-link', netns: l.netns, dev: l.name },
      });
      devices.push({ netns: l.netns, dev: l.name }, { netns: l.peerNetns, dev: l.peer });
    }
  }
  for (const d of devices) {
    steps.push({ argv: ip(d.netns, 'link', 'set', 'dev', d.dev, 'alias', mark) });
    // No IPv6 link-local address: no DAD, router or MLD packets crossing the measured path.
    steps.push({ argv: ip(d.netns, 'link', 'set', 'dev', d.dev, 'addrgenmode', 'none') });
  }
  for (const p of t.ports) steps.push({ argv: ip(p.netns, 'link', 'set', 'dev', p.dev, 'master', p.master) });
  for (const a of t.addresses) steps.push({ argv: ip(a.netns, 'addr', 'add', a.cidr, 'dev', a.dev) });
  for (const d of devices) steps.push({ argv: ip(d.netns, 'link', 'set', 'dev', d.dev, 'up') });
  if (t.offload && Object.keys(t.offload).length) {
    const features = Object.entries(t.offload).flat();
    const bridges = new Set(t.links.filter((l) => l.kind === 'bridge').map((l) => `${l.netns}/${l.name}`));
    for (const d of devices) if (!bridges.has(`${d.netns}/${d.dev}`)) steps.push({ argv: ['ip', 'netns', 'exec', d.netns, 'ethtool', '-K', d.dev, ...features] });
  }
  // RPS/XPS: sysfs as seen from inside the namespace (ip netns exec mounts the namespace's own).
  for (const [file, mask] of [['rx-0/rps_cpus', t.rps], ['tx-0/xps_cpus', t.xps]] as const) {
    if (!mask) continue;
    const bridges = new Set(t.links.filter((l) => l.kind === 'bridge').map((l) => `${l.netns}/${l.name}`));
    for (const d of devices) {
      if (!bridges.has(`${d.netns}/${d.dev}`)) steps.push({ argv: ['ip', 'netns', 'exec', d.netns, 'tee', `/sys/class/net/${d.dev}/queues/${file}`], stdin: mask });
    }
  }
  // Daemons (OVS) run inside our namespaces with all their files in the run's directory; each one's
  // stop is journaled before it starts. Their configuration commands follow.
  if (t.daemons?.length) {
    const dir = t.daemons[0]!.runDir;
    steps.push({ argv: ['mkdir', '-p', '-m', '700', dir], undo: { op: 'rm-dir', path: dir } });
  }
  for (const d of t.daemons ?? []) {
    for (const argv of d.prepare ?? []) steps.push({ argv });
    steps.push({ argv: ['ip', 'netns', 'exec', d.netns, 'env', ...Object.entries(d.env ?? {}).map(([k, v]) => `${k}=${v}`), ...d.argv], undo: { op: 'kill-pidfile', pidfile: d.pidfile, comm: d.comm } });
  }
  for (const argv of t.configure ?? []) steps.push({ argv });
  for (const r of t.rulesets ?? []) {
    const argv = r.tool === 'nft' ? ['nft', '-f', '-'] : ['iptables-restore', '--noflush'];
    steps.push({ argv: ['ip', 'netns', 'exec', r.netns, ...argv], stdin: r.text });
  }
  for (const c of t.sysctls ?? []) steps.push({ argv: ['ip', 'netns', 'exec', c.netns, 'sysctl', '-qw', `${c.key}=${c.value}`] });
  for (const r of t.routes ?? []) {
    steps.push({ argv: ip(r.netns, 'route', 'add', r.dst, ...(r.via ? ['via', r.via] : []), ...(r.dev ? ['dev', r.dev] : []), ...(r.onlink ? ['onlink'] : [])) });
  }
  return steps;
}

/** Renders a step for display (a here-document shows its stdin). Display only: nothing runs a shell. */
export function formatStep(s: Step): string {
  return s.stdin === undefined ? formatCommand(s.argv) : `${formatCommand(s.argv)} <<'EOF'\n${s.stdin.trimEnd()}\nEOF`;
}

/** Renders argv for display, quoting what a shell would split. Display only: nothing runs a shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:@=+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
