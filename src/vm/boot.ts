/**
 * Boots a run's VM endpoints once the datapath is built: the image (cached), the acceleration (KVM
 * where /dev/kvm boots Debian's kernel, TCG otherwise), then one qemu per guest in the namespace of its
 * tap — its stop journaled before it starts — and its agent's hello, within a deadline. From then on
 * the supervisor runs the guest's engines through its agent.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { registerEngineHost, unregisterEngineHost } from '../engine-client/guest.js';
import { runCommand, type CommandRunner } from '../local/command.js';
import { pidfileProcess } from '../local/proc.js';
import type { Journal } from '../local/journal.js';
import { ensureRunDir, makeDirs } from '../local/statedir.js';
import type { Guest, Topology } from '../topology/model.js';
import { VM_PART, type VmPlan } from '../topology/guests.js';
import { errorMessage, UserError } from '../util/errors.js';
import { GuestAgent } from './agent.js';
import { cacheDir, ensureGuestImage, type GuestImage } from './image.js';
import { guestFiles, QEMU, QEMU_COMM, qemuArgv, qemuHardening, vhostUnavailable } from './qemu.js';

let hardeningOnce: Promise<string[]> | undefined;
/** qemu's confinement options this machine's qemu has (asked once per process). */
function hardening(run: CommandRunner): Promise<string[]> {
  hardeningOnce ??= run([QEMU, '-help']).then(
    (r) => qemuHardening(r.stdout, /^nobody:/m.test(readFileSync('/etc/passwd', 'utf8'))),
    () => [],
  );
  return hardeningOnce;
}

/** A TCG boot to the agent takes about 2.5 s here; the deadline leaves room for a loaded machine. */
export const BOOT_TIMEOUT_MS = 60_000;
/** A KVM that boots Debian's kernel reaches the agent in well under a second; one that hangs never does. */
const KVM_PROBE_MS = 10_000;

function bootTimeoutMs(): number {
  const v = Number(process.env.CNPERF_VM_BOOT_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : BOOT_TIMEOUT_MS;
}

function pidAlive(pidfile: string): boolean {
  return pidfileProcess(pidfile, QEMU_COMM) !== null;
}

/** SIGKILL for the probe's guest: it holds nothing worth a clean shutdown. */
function killQemu(pidfile: string): void {
  const pid = pidfileProcess(pidfile, QEMU_COMM);
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
}

/** The console's last lines, for a boot that failed. */
export function consoleTail(file: string, lines = 8): string {
  try {
    const text = readFileSync(file, 'utf8').replace(/\r/g, '').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n    ') : '(the console is empty)';
  } catch {
    return '(no console output)';
  }
}

interface Booted {
  agent: GuestAgent;
  ms: number;
}

/** Starts one qemu (journaled first) and waits for its agent: the agent, or an error with the console's end. */
async function bootOne(o: {
  netns: string;
  guest: Guest | null;
  hostNetns: string | null;
  cpu?: number;
  vm: VmPlan;
  accel: 'kvm' | 'tcg';
  image: GuestImage;
  runDir: string;
  journal: Journal;
  timeoutMs: number;
  run: CommandRunner;
}): Promise<Booted> {
  const files = guestFiles(o.runDir, o.netns);
  makeDirs(files.dir);
  const argv = qemuArgv({
    guest: o.guest,
    vm: o.vm,
    accel: o.accel,
    kernel: o.image.kernel,
    initramfs: o.image.initramfs,
    files,
    name: `cnperf-${o.netns}`,
    hardening: await hardening(o.run),
  });
  o.journal.append({ op: 'kill-pidfile', pidfile: files.pidfile, comm: QEMU_COMM });
  const started = Date.now();
  const pin = o.cpu !== undefined ? ['taskset', '-c', String(o.cpu)] : [];
  // a NIC backend that is a character device (a macvtap's /dev/tapN) is handed to qemu open, as fd 3
  const device = o.guest?.tapDevice ? ['sh', '-c', 'd=$1; shift; exec "$@" 3<>"$d"', 'sh', o.guest.tapDevice] : [];
  try {
    await o.run(
      [...(o.hostNetns ? ['ip', 'netns', 'exec', o.hostNetns] : []), ...device, ...pin, ...argv],
      undefined,
      30_000,
    );
  } catch (e) {
    throw new Error(`qemu did not start for ${o.netns}: ${errorMessage(e)}`);
  }
  const agent = new GuestAgent(`the VM of ${o.netns}`);
  try {
    await agent.connect(files.socket, started + o.timeoutMs, () => pidAlive(files.pidfile));
  } catch (e) {
    agent.close();
    throw new Error(
      `the VM of ${o.netns} did not boot ` +
        `(${o.accel}, ${Date.now() - started} ms): ` +
        `${errorMessage(e)}; its console (${files.console}) ended:\n    ${consoleTail(files.console)}`,
    );
  }
  return { agent, ms: Date.now() - started };
}

/**
 * KVM or TCG, and why. Asking for kvm where it cannot boot is an error; auto probes /dev/kvm once per
 * host boot (the answer is kept in the cache with the boot id) with a short guest of no devices.
 */
async function chooseAccel(
  want: VmPlan['accel'],
  image: GuestImage,
  o: { runDir: string; journal: Journal; run: CommandRunner },
): Promise<{ accel: 'kvm' | 'tcg'; why: string }> {
  if (want === 'tcg') return { accel: 'tcg', why: 'asked for (--vm-accel tcg)' };
  if (!existsSync('/dev/kvm')) {
    if (want === 'kvm')
      throw new UserError('--vm-accel kvm: this host has no /dev/kvm', 'use --vm-accel tcg (emulation) or auto');
    return { accel: 'tcg', why: 'this host has no /dev/kvm' };
  }
  // Kept in the cache, per host boot and kernel: a probe that hangs costs its deadline once.
  const cache = path.join(cacheDir(), 'kvm-probe.json');
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  type Probe = { bootId: string; kernel: string; ok: boolean; detail: string };
  let probe: Probe | null = null;
  try {
    const kept = JSON.parse(readFileSync(cache, 'utf8')) as Probe;
    if (kept.kernel === image.kernelPackage && kept.bootId === bootId) probe = kept;
  } catch {
    /* not probed since this host booted */
  }
  if (!probe) {
    const vm: VmPlan = {
      accel: 'kvm',
      vcpus: 1,
      memory_mb: 128,
      net_backend: 'tap',
      vhost: false,
      endpoints: { client: 'container', server: 'container' },
    };
    const probeNs = 'kvm-probe';
    try {
      const b = await bootOne({
        netns: probeNs,
        guest: null,
        hostNetns: null,
        vm,
        accel: 'kvm',
        image,
        ...o,
        timeoutMs: KVM_PROBE_MS,
      });
      b.agent.close();
      probe = {
        bootId,
        kernel: image.kernelPackage,
        ok: true,
        detail: `/dev/kvm booted Debian's kernel to the agent in ${b.ms} ms`,
      };
    } catch (e) {
      const hung = /before the boot deadline/.test(errorMessage(e));
      probe = {
        bootId,
        kernel: image.kernelPackage,
        ok: false,
        detail: hung
          ? `/dev/kvm did not boot Debian's kernel to its agent within ${KVM_PROBE_MS / 1000} s`
          : `/dev/kvm failed to boot Debian's kernel: ${errorMessage(e).split('\n')[0]}`,
      };
    }
    killQemu(guestFiles(o.runDir, probeNs).pidfile); // its journal entry then finds it gone
    writeFileSync(cache, JSON.stringify(probe) + '\n');
  }
  if (probe.ok) return { accel: 'kvm', why: probe.detail };
  if (want === 'kvm') throw new UserError(`--vm-accel kvm: ${probe.detail}`, 'use --vm-accel tcg (emulation) or auto');
  return { accel: 'tcg', why: probe.detail };
}

/** Boots every guest of the plan (in parallel), registers its agent with the supervisor, fills the plan's `booted`. */
export async function bootGuests(
  t: Topology,
  journal: Journal,
  runDir: string,
  run: CommandRunner = runCommand,
): Promise<void> {
  const guests = t.namespaces.filter((n) => n.guest);
  const vm = VM_PART.of(t);
  if (!vm || guests.length === 0) return;
  if (vm.vhost) {
    const why = vhostUnavailable();
    if (why) throw new UserError(`--vm-vhost on: ${why}`, 'leave --vm-vhost off (qemu then moves the packets itself)');
  }
  ensureRunDir(runDir, journal);
  const image = await ensureGuestImage(run);
  const { accel, why } = await chooseAccel(vm.accel, image, { runDir, journal, run });
  const timeoutMs = bootTimeoutMs();
  const results = await Promise.allSettled(
    guests.map((n) =>
      bootOne({
        netns: n.name,
        guest: n.guest!,
        hostNetns: n.guest!.hostNetns,
        ...(n.guest!.cpu !== undefined ? { cpu: n.guest!.cpu } : {}),
        vm,
        accel,
        image,
        runDir,
        journal,
        timeoutMs,
        run,
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  results.forEach((r, i) => {
    if (r.status !== 'fulfilled') return;
    const ns = guests[i]!.name;
    if (failed) return r.value.agent.close();
    registerEngineHost(ns, r.value.agent);
    r.value.agent.whenClosed(() => unregisterEngineHost(ns));
  });
  if (failed) throw failed.reason;
  vm.booted = {
    accel,
    accel_why: why,
    kernel: image.kernelPackage,
    image_build_ms: image.buildMs,
    boot_ms: results.map((r) => (r as PromiseFulfilledResult<Booted>).value.ms),
  };
}
