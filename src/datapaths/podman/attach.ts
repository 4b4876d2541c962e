/**
 * Attaching the podman datapath: the run's image (the static engine, whose `pause` is every
 * container's main process), the run's network, the containers on it — each podman object labelled
 * with the run and its removal journaled before it is made — then the run's names for the
 * containers' namespaces and the host's, so that engines and probes reach them as any others.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { adoptNamespace } from '../../local/adopt.js';
import { runCommand, type CommandRunner } from '../../local/command.js';
import { registerOrphanSweep } from '../../local/cleanup.js';
import { refusedOnHost, registerHostUndoHandler, registerUndoHandler } from '../../local/undo.js';
import { registerUndoKind } from '../../local/undo-kinds.js';
import { ownerMark } from '../../local/steps.js';
import type { JournalLike } from '../../local/journal.js';
import { staticEnginePath } from '../../paths.js';
import type { Topology } from '../../topology/model.js';
import { UserError } from '../../util/errors.js';
import { firewallBefore, firewallBefore6, netavarkRules } from './firewall.js';
import { PODMAN_PART } from './podman-plan.js';
import { firstLine, podmanArgv, probePodman, ulimitArgs } from './podman-runtime.js';

export const RUN_LABEL = 'cnperf.run';

export async function attachPodman(
  t: Topology,
  runDir: string,
  journal: JournalLike,
  run: CommandRunner = runCommand,
): Promise<void> {
  const plan = PODMAN_PART.of(t)!;
  const label = `${RUN_LABEL}=${t.runId}`;
  const podman = async (what: string, args: string[]) => {
    try {
      return (await run(podmanArgv(plan.runtime!, args), undefined, 60_000)).stdout;
    } catch (e) {
      throw new UserError(`podman could not ${what}: ${firstLine(e)}`);
    }
  };
  // Noted first, so it is undone last: after the network is gone, netavark's leftovers go too.
  await journal.append({
    op: 'netavark-residue',
    before: await firewallBefore(run),
    ...(plan.network.subnet.includes(':') ? { before6: await firewallBefore6(run) } : {}),
  });
  if (!existsSync(runDir)) {
    await journal.append({ op: 'rm-dir', path: runDir });
    mkdirSync(runDir, { mode: 0o700 });
  }
  const tarball = await imageTarball(runDir, run);
  await journal.append({ op: 'podman-rmi', image: plan.image });
  await run(
    [
      'podman',
      'import',
      '--change',
      `LABEL ${label}`,
      '--change',
      'ENTRYPOINT ["/cnperf-engine"]',
      '--change',
      'CMD ["pause"]',
      tarball,
      plan.image,
    ],
    undefined,
    60_000,
  ).catch((e: unknown) => {
    throw new UserError(`podman could not import the run's image: ${firstLine(e)}`);
  });
  plan.runtime = await probePodman(plan.image, run);

  const net = plan.network;
  await adoptNamespace(plan.host, process.pid, "the host (podman's network)", journal, run);
  if (net.parent) await addParent(plan.host, net.parent, t.runId, journal, run);
  await journal.append({ op: 'podman-network-rm', name: net.name });
  const options = [
    ...(net.mtu ? ['--opt', `mtu=${net.mtu}`] : []),
    ...(net.parent ? ['--opt', `parent=${net.parent.dev}`] : []),
  ];
  await podman(`create the network ${net.name} (${net.subnet})`, [
    'network',
    'create',
    ...(net.subnet.includes(':') ? ['--ipv6'] : []),
    '--driver',
    net.driver,
    '--subnet',
    net.subnet,
    '--label',
    label,
    '--disable-dns',
    ...options,
    net.name,
  ]);
  for (const c of plan.containers) {
    await journal.append({ op: 'podman-rm', name: c.name });
    await podman(`start the ${c.role} container ${c.name}`, [
      'run',
      '--detach',
      '--name',
      c.name,
      '--network',
      net.name,
      '--label',
      label,
      '--pull',
      'never',
      '--log-driver',
      'none',
      ...ulimitArgs(plan.runtime),
      plan.image,
    ]);
  }
  const inspected = JSON.parse(
    await podman('inspect the containers', [
      'inspect',
      '--type',
      'container',
      '--format',
      'json',
      ...plan.containers.map((c) => c.name),
    ]),
  ) as ContainerJson[];
  const ips = new Map<string, string>();
  for (const c of plan.containers) {
    const x = inspected.find((i) => i.Name === c.name || i.Name === `/${c.name}`);
    const on = x?.NetworkSettings?.Networks?.[net.name];
    const ip = net.subnet.includes(':') ? on?.GlobalIPv6Address : on?.IPAddress;
    if (!x?.State?.Running || !x.State.Pid || !ip)
      throw new UserError(
        `podman container ` +
          `${c.name} is not running on ${net.name} (state ${x?.State?.Status ?? 'unknown'}, address ${ip || 'none'})`,
      );
    await adoptNamespace(c.netns, x.State.Pid, `podman container ${c.name}`, journal, run);
    ips.set(c.netns, ip);
  }
  for (const pair of t.pairs) for (const ep of [pair.client, pair.server]) ep.ip = ips.get(ep.netns) ?? ep.ip;

  // The host's side (podman's bridge and the containers' veth peers, or the macvlans' parent), and netavark's rules.
  const host = t.namespaces.find((n) => n.name === plan.host)!;
  host.adopted = {
    ...host.adopted!,
    devices: net.parent ? [net.parent.dev] : await bridgeDevices(net.name, podman, run),
  };
  plan.firewall = await netavarkRules(run);
}

async function bridgeDevices(
  network: string,
  podman: (what: string, args: string[]) => Promise<string>,
  run: CommandRunner,
): Promise<string[]> {
  const bridge = (
    JSON.parse(await podman('inspect the network', ['network', 'inspect', network])) as Array<{
      network_interface?: string;
    }>
  )[0]?.network_interface;
  if (!bridge) throw new UserError(`podman network ${network} has no bridge device`);
  const ports = (
    JSON.parse((await run(['ip', '-j', 'link', 'show', 'master', bridge])).stdout || '[]') as Array<{ ifname: string }>
  ).map((l) => l.ifname);
  return [bridge, ...ports];
}

/** The macvlan network's parent: a veth in the host (marked as the run's), its peer in the run's stub. */
async function addParent(
  host: string,
  p: { dev: string; peer: string; stub: string },
  runId: string,
  journal: JournalLike,
  run: CommandRunner,
): Promise<void> {
  await journal.append({ op: 'del-link', netns: host, dev: p.dev });
  await run(['ip', '-n', host, 'link', 'add', p.dev, 'type', 'veth', 'peer', 'name', p.peer, 'netns', p.stub]);
  await run(['ip', '-n', host, 'link', 'set', 'dev', p.dev, 'alias', ownerMark(runId), 'up']);
  await run(['ip', '-n', p.stub, 'link', 'set', 'dev', p.peer, 'alias', ownerMark(runId), 'up']);
}

interface ContainerJson {
  Name: string;
  State?: { Running?: boolean; Pid?: number; Status?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> };
}

/** A tarball of one file, /cnperf-engine (static): the whole root filesystem of the run's image. */
async function imageTarball(runDir: string, run: CommandRunner): Promise<string> {
  const engine = staticEnginePath();
  if (!existsSync(engine))
    throw new UserError(
      `the static engine ${engine} is missing: the podman datapath's image is made from it`,
      'it is built where libbpf-dev, libelf-dev and zlib1g-dev are installed: bash scripts/setup.sh',
    );
  const root = path.join(runDir, 'rootfs');
  mkdirSync(root, { recursive: true });
  copyFileSync(engine, path.join(root, 'cnperf-engine'));
  const tarball = path.join(runDir, 'image.tar');
  await run(['tar', '-C', root, '--owner=0', '--group=0', '-cf', tarball, 'cnperf-engine']);
  return tarball;
}

/** "no such container" and its kin: the object is already gone. */
const GONE = /no such (container|network|image)|not found|unable to find/i;

async function podmanRemove(args: string[], run: CommandRunner): Promise<'removed' | 'gone'> {
  try {
    await run(['podman', ...args], undefined, 60_000);
    return 'removed';
  } catch (e) {
    if (GONE.test(firstLine(e)) || /podman not found on PATH/.test(firstLine(e))) return 'gone';
    throw e;
  }
}

/**
 * `cnperf clean`: podman objects labelled with a run that has no live journal (its journal was lost,
 * or never written past the object) — containers first, then networks, then images.
 */
registerOrphanSweep(async (isProtected, report, run) => {
  // each kind's `--format json` has its own spelling of names and labels
  type Listed = {
    Names?: string[] | string;
    name?: string;
    Labels?: Record<string, string> | null;
    labels?: Record<string, string> | null;
  };
  const kinds: Array<[string, string[], (name: string) => string[]]> = [
    ['container', ['ps', '--all'], (n) => ['rm', '--force', '--time', '0', n]],
    ['network', ['network', 'ls'], (n) => ['network', 'rm', '--force', n]],
    ['image', ['images'], (n) => ['rmi', '--force', n]],
  ];
  for (const [kind, ls, rm] of kinds) {
    let listed: Listed[];
    try {
      listed = JSON.parse(
        (await run(['podman', ...ls, '--filter', `label=${RUN_LABEL}`, '--format', 'json'])).stdout || '[]',
      ) as Listed[];
    } catch {
      return; // no podman here: nothing of it to sweep
    }
    for (const x of listed) {
      const runId = (x.Labels ?? x.labels ?? {})[RUN_LABEL];
      const name = x.name ?? [x.Names ?? []].flat()[0];
      if (!runId || !name || isProtected(runId)) continue;
      try {
        await podmanRemove(rm(name), run);
        report.removed.push(`podman ${kind} ${name} (run ${runId}, no journal)`);
      } catch (e) {
        report.failed.push({ what: `podman ${kind} ${name}`, error: firstLine(e) });
      }
    }
  }
});

declare module '../../local/steps.js' {
  interface UndoKinds {
    /** podman objects of the run: a container, a network, an image */
    'podman-rm': { name: string };
    'podman-network-rm': { name: string };
    'podman-rmi': { image: string };
  }
}

registerUndoKind('podman-rm', (o) => typeof o.name === 'string');
registerUndoKind('podman-network-rm', (o) => typeof o.name === 'string');
registerUndoKind('podman-rmi', (o) => typeof o.image === 'string');

registerUndoHandler('podman-rm', {
  describe: (u) => `podman container ${u.name}`,
  undo: (u, run) => podmanRemove(['rm', '--force', '--time', '0', u.name], run),
});
registerUndoHandler('podman-network-rm', {
  describe: (u) => `podman network ${u.name}`,
  undo: (u, run) => podmanRemove(['network', 'rm', '--force', u.name], run),
});
registerUndoHandler('podman-rmi', {
  describe: (u) => `podman image ${u.image}`,
  undo: (u, run) => podmanRemove(['rmi', '--force', u.image], run),
});

// the podman datapath does not run across hosts: on a host these are refused by name, the journal kept
for (const op of ['podman-rm', 'podman-network-rm', 'podman-rmi'] as const)
  registerHostUndoHandler(op, refusedOnHost(op, 'the podman datapath does not run across hosts'));
