/**
 * A VM endpoint's boot image: Debian's cloud kernel (linux-image-cloud-amd64, downloaded with
 * `apt-get download` and unpacked into cnperf's cache — never installed on the host, its boot files
 * untouched) and an initramfs cnperf writes itself: busybox-static, the virtio modules of that kernel,
 * the static engine and an init that brings up the network the plan gives (kernel command line) and
 * starts the engine's agent on a virtio-serial port. Built once, cached by the kernel's package and
 * the contents' hash.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCommand, type CommandRunner } from '../local/command.js';
import { makeDirs } from '../local/statedir.js';
import { staticEnginePath } from '../paths.js';
import { errorMessage, UserError } from '../util/errors.js';
import { cpioArchive, type CpioEntry } from './cpio.js';
import { loadOrder, moduleIndex } from './modules.js';

export const KERNEL_PACKAGE = 'linux-image-cloud-amd64';
export const BUSYBOX = '/bin/busybox';
/** The virtio-serial port's name the agent listens on (qemu's virtserialport name=). */
export const AGENT_PORT_NAME = 'cnperf';
/** What a guest loads: the PCI transport, the NIC and the serial channel (with what they depend on). */
export const GUEST_MODULES = ['virtio_pci', 'virtio_net', 'virtio_console'];

/** The cache: kernels and images survive runs (CNPERF_CACHE_DIR overrides it). */
export function cacheDir(): string {
  return process.env.CNPERF_CACHE_DIR ?? '/var/cache/cnperf';
}

export interface GuestImage {
  kernel: string;
  initramfs: string;
  /** the kernel package it came from: "linux-image-6.1.0-57-cloud-amd64_6.1.192-3" */
  kernelPackage: string;
  /** what building took this time (0: both were in the cache) */
  buildMs: number;
  cached: boolean;
}

/**
 * The guest's init: busybox's applets, the modules in order, the network from the kernel command
 * line (cnperf.mtu=, cnperf.addr=CIDR, cnperf.route=dst,via,GW,onlink — commas for spaces), then
 * the agent as PID 1. If anything fails the script ends, the kernel panics, and with panic=-1 and
 * qemu's -no-reboot the VM exits: the host sees a failed boot, with the console's last lines.
 */
export function initScript(modules: readonly string[]): string {
  return [
    '#!/bin/busybox sh',
    '# cnperf guest init (src/vm/image.ts): modules, the network the plan gives, then the engine agent.',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev || exit 1',
    'mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /tmp',
    ...modules.map(
      (m) =>
        `insmod /lib/modules/${path.basename(m)} || { echo "cnperf-init: cannot load ${path.basename(m)}"; exit 1; }`,
    ),
    'ip link set lo up',
    "# cnperf.probe=1: the acceleration probe boots without a NIC; only the agent's hello matters",
    'if ! grep -q cnperf.probe=1 /proc/cmdline; then',
    '  for w in $(cat /proc/cmdline); do case "$w" in cnperf.mtu=*) ip link set eth0 mtu "${w#cnperf.mtu=}" ' +
      '|| exit 1 ;; esac; done',
    '  # IPv6 addresses usable at once (no duplicate address detection: the plan made them unique), no RAs',
    '  for k in accept_dad accept_ra; do',
    '    [ -w /proc/sys/net/ipv6/conf/eth0/$k ] && echo 0 > /proc/sys/net/ipv6/conf/eth0/$k',
    '  done',
    '  ip link set eth0 up || { echo "cnperf-init: no eth0"; exit 1; }',
    '  for w in $(cat /proc/cmdline); do case "$w" in',
    '    cnperf.addr=*) ip addr add "${w#cnperf.addr=}" dev eth0 || exit 1 ;;',
    '    cnperf.route=*) ip route add $(echo "${w#cnperf.route=}" | tr , " ") || exit 1 ;;',
    '  esac; done',
    'fi',
    'port=',
    `for p in /sys/class/virtio-ports/*; do [ "$(cat "$p/name" 2>/dev/null)" = ` +
      `${AGENT_PORT_NAME} ] && port="/dev/\${p##*/}"; done`,
    '[ -n "$port" ] || { echo "cnperf-init: no virtio-serial port named cnperf"; exit 1; }',
    'echo "cnperf-init: agent on $port; $(ip -o addr show dev eth0 scope global 2>/dev/null | cut -d" " -f7)"',
    'exec /bin/cnperf-engine agent --port "$port"',
    '',
  ].join('\n');
}

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The kernel package the metapackage points at now ("linux-image-6.1.0-57-cloud-amd64"). */
async function kernelPackageName(run: CommandRunner): Promise<string> {
  const { stdout } = await run(['apt-cache', 'depends', KERNEL_PACKAGE]);
  const m = /Depends:\s*(linux-image-\S+)/.exec(stdout);
  if (!m)
    throw new UserError(
      `apt-cache does not know ${KERNEL_PACKAGE}'s kernel`,
      'run `apt-get update` (scripts/setup.sh does), then try again',
    );
  return m[1]!;
}

/**
 * The unpacked kernel: vmlinuz and the guest's modules under <cache>/kernel/<package>_<version>/. A
 * kernel already there is used without asking apt (runs work offline once it is cached).
 */
async function ensureKernel(run: CommandRunner): Promise<{ dir: string; pkg: string; modules: string[] }> {
  const root = path.join(cacheDir(), 'kernel');
  makeDirs(root, 0o755);
  const cached = readdirSync(root)
    .filter((d) => existsSync(path.join(root, d, 'vmlinuz')))
    .sort();
  let pkg = cached[cached.length - 1];
  if (!pkg) {
    const name = await kernelPackageName(run);
    const tmp = mkdtempSync(path.join(root, '.download-'));
    try {
      try {
        await run(['sh', '-c', `cd "$1" && apt-get download -q "$2"`, 'sh', tmp, name], undefined, 300_000);
      } catch (e) {
        throw new UserError(
          `could not download ${name} (the VM endpoints' kernel) from Debian: ${errorMessage(e)}`,
          "cnperf needs Debian's archive once to fetch the guest kernel; run `apt-get update` and try again",
        );
      }
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))!;
      pkg = deb.replace(/_amd64\.deb$/, '');
      const unpacked = path.join(tmp, 'root');
      await run(['dpkg-deb', '-x', path.join(tmp, deb), unpacked], undefined, 120_000);
      const dir = path.join(tmp, 'kernel');
      makeDirs(path.join(dir, 'modules'), 0o755);
      const vmlinuz = readdirSync(path.join(unpacked, 'boot')).find((f) => f.startsWith('vmlinuz-'));
      if (!vmlinuz) throw new UserError(`${deb} holds no boot/vmlinuz-*`);
      copyFileSync(path.join(unpacked, 'boot', vmlinuz), path.join(dir, 'vmlinuz'));
      const order = loadOrder(GUEST_MODULES, moduleIndex(listFiles(path.join(unpacked, 'lib', 'modules'))));
      for (const f of order) copyFileSync(f, path.join(dir, 'modules', path.basename(f)));
      writeFileSync(path.join(dir, 'modules.order'), order.map((f) => path.basename(f)).join('\n') + '\n');
      renameSync(dir, path.join(root, pkg));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const dir = path.join(root, pkg);
  const modules = readFileSync(path.join(dir, 'modules.order'), 'utf8').split('\n').filter(Boolean);
  return { dir, pkg, modules };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/** The kernel and the initramfs for a guest, built where the cache lacks them. */
export async function ensureGuestImage(run: CommandRunner = runCommand): Promise<GuestImage> {
  const started = Date.now();
  const engine = staticEnginePath();
  if (!existsSync(engine))
    throw new UserError(
      `VM endpoints need the static engine ${engine}, which is not built`,
      'install libbpf-dev, libelf-dev and zlib1g-dev and run `npm run build` (scripts/setup.sh does both)',
    );
  if (!existsSync(BUSYBOX) || !statSync(BUSYBOX).isFile())
    throw new UserError(
      `VM endpoints need ${BUSYBOX} for the guest's init`,
      "install Debian's busybox-static (scripts/setup.sh does)",
    );
  const hadKernel =
    existsSync(path.join(cacheDir(), 'kernel')) &&
    readdirSync(path.join(cacheDir(), 'kernel')).some((d) => !d.startsWith('.'));
  const kernel = await ensureKernel(run);
  const init = initScript(kernel.modules);
  const engineBytes = readFileSync(engine);
  const busybox = readFileSync(BUSYBOX);
  // The initramfs has no dynamic loader: a busybox that needs one (Debian's `busybox`, not
  // `busybox-static`) would fail as the guest's init.
  if (busybox.includes('/lib64/ld-linux'))
    throw new UserError(
      `${BUSYBOX} is dynamically linked: the guest's init needs a static one`,
      'apt-get install busybox-static (scripts/setup.sh does)',
    );
  const key = sha([kernel.pkg, sha(engineBytes), sha(busybox), sha(init)].join('\n')).slice(0, 16);
  const initramfs = path.join(cacheDir(), 'images', `initramfs-${key}.cpio.gz`);
  const cached = existsSync(initramfs);
  if (!cached) {
    const entries: CpioEntry[] = [
      ...['bin', 'dev', 'proc', 'sys', 'run', 'tmp', 'lib', 'lib/modules', 'etc'].map((name): CpioEntry => ({
        name,
        kind: 'dir',
        mode: 0o755,
      })),
      { name: 'init', kind: 'file', mode: 0o755, data: init },
      { name: 'bin/busybox', kind: 'file', mode: 0o755, data: busybox },
      { name: 'bin/sh', kind: 'symlink', mode: 0o777, data: 'busybox' },
      { name: 'bin/cnperf-engine', kind: 'file', mode: 0o755, data: engineBytes },
      ...kernel.modules.map((m): CpioEntry => ({
        name: `lib/modules/${m}`,
        kind: 'file',
        mode: 0o644,
        data: readFileSync(path.join(kernel.dir, 'modules', m)),
      })),
    ];
    makeDirs(path.dirname(initramfs), 0o755);
    // Written aside and renamed: a run reading the cache never sees half an image.
    const tmp = `${initramfs}.${process.pid}.tmp`;
    writeFileSync(tmp, gzipSync(cpioArchive(entries)));
    renameSync(tmp, initramfs);
    // Each engine build makes a new image: keep only the newest (2 MB each) rather than one per build.
    for (const f of readdirSync(path.dirname(initramfs)))
      if (/^initramfs-[0-9a-f]{16}\.cpio\.gz$/.test(f) && f !== path.basename(initramfs))
        rmSync(path.join(path.dirname(initramfs), f), { force: true });
  }
  return {
    kernel: path.join(kernel.dir, 'vmlinuz'),
    initramfs,
    kernelPackage: kernel.pkg,
    buildMs: cached && hadKernel ? 0 : Date.now() - started,
    cached: cached && hadKernel,
  };
}
