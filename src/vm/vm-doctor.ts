/**
 * What `cnperf doctor` says about VM endpoints: qemu, the parts of the guest image, the cached
 * kernel, how the guests will be accelerated (the KVM probe's answer, once a run has asked) and
 * vhost-net. Reads only; the first VM run downloads, builds and probes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { onPath } from '../local/command.js';
import { installHint } from '../tools/table.js';
import { staticEnginePath } from '../paths.js';
import { BUSYBOX, cacheDir, KERNEL_PACKAGE } from './image.js';
import { QEMU, vhostUnavailable } from './qemu.js';

export type DoctorLine = ['ok  ' | 'no  ' | 'info', string, string];

export function vmDoctorLines(): DoctorLine[] {
  const lines: DoctorLine[] = [];
  const missing: string[] = [];
  if (!onPath(QEMU)) missing.push(`${QEMU} (${installHint(QEMU)})`);
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (${installHint(BUSYBOX)})`);
  if (!existsSync(staticEnginePath()))
    missing.push(`the static engine (libbpf-dev, libelf-dev, zlib1g-dev, then npm run build)`);
  lines.push(
    missing.length
      ? ['no  ', 'VM endpoints (--endpoint vm)', `missing ${missing.join(', ')}`]
      : ['ok  ', 'VM endpoints (--endpoint vm)', `${QEMU}, busybox-static and the static engine found`],
  );
  const kernels = existsSync(path.join(cacheDir(), 'kernel'))
    ? readdirSync(path.join(cacheDir(), 'kernel')).filter((d) => !d.startsWith('.'))
    : [];
  lines.push([
    'info',
    'VM guest kernel',
    kernels.length
      ? `${kernels.sort().at(-1)} (cached in ${cacheDir()})`
      : `not cached: the first VM run downloads ${KERNEL_PACKAGE}'s kernel with apt-get download`,
  ]);
  let accel = existsSync('/dev/kvm')
    ? "auto: /dev/kvm exists; the first VM run probes whether it boots Debian's kernel (up to 10 s)"
    : 'TCG (emulation): this host has no /dev/kvm';
  try {
    const probe = JSON.parse(readFileSync(path.join(cacheDir(), 'kvm-probe.json'), 'utf8')) as {
      bootId: string;
      ok: boolean;
      detail: string;
    };
    if (probe.bootId === readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())
      accel = probe.ok ? `KVM: ${probe.detail}` : `TCG (emulation; latencies dominated by it): ${probe.detail}`;
  } catch {
    /* not probed since this host booted */
  }
  lines.push(['info', 'VM acceleration', accel]);
  const vhost = vhostUnavailable();
  lines.push(
    vhost
      ? ['no  ', 'VM vhost-net (--vm-vhost on)', vhost]
      : ['ok  ', 'VM vhost-net (--vm-vhost on)', '/dev/vhost-net exists'],
  );
  return lines;
}
