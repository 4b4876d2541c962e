/**
 * A real host's environment, stored with every result measured on it: the kernel, the CPU and the
 * NIC the datapath uses (driver, link speed, offloads) — read on the host in one call. An item the
 * host cannot tell (no ethtool, a virtual NIC without a speed) is null, never a guess.
 */
import type { HostEnvironment } from '../env/environment.js';
import type { RemoteHost } from './remote-host.js';
import { sections, sh } from '../util/shell.js';

export type { HostEnvironment };

export const ENV_SCRIPT = `n=$1
sec() { printf '\\n@@%s\\n' "$1"; }
sec hostname; cat /proc/sys/kernel/hostname
sec kernel; uname -r
sec kernel_version; uname -v
sec cpuinfo; grep -m1 '^model name' /proc/cpuinfo
sec cpus; getconf _NPROCESSORS_ONLN
sec governor; cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor 2>/dev/null
sec smt; cat /sys/devices/system/cpu/smt/active 2>/dev/null
sec clocksource; cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null
sec driver; ethtool -i "$n" 2>/dev/null | sed -n 's/^driver: //p'
sec speed; cat /sys/class/net/"$n"/speed 2>/dev/null
sec offloads; ethtool -k "$n" 2>/dev/null
true`;

/** The sections of the script's output. Pure. */
export function parseHostEnvironment(
  out: string,
  name: string,
  address: string,
  nic: string,
  mtu: number,
): HostEnvironment {
  const sec = sections(out);
  const s = (k: string) => sec.get(k)?.trim() || null;
  const speed = Number(s('speed'));
  let offloads: Record<string, 'on' | 'off'> | null = null;
  const k = s('offloads');
  if (k) {
    offloads = {};
    for (const line of k.split('\n')) {
      const m = /^([a-z0-9-]+): (on|off)/.exec(line.trim());
      if (m) offloads[m[1]!] = m[2] as 'on' | 'off';
    }
  }
  return {
    name,
    address,
    hostname: s('hostname'),
    kernel: s('kernel'),
    kernel_version: s('kernel_version'),
    cpu_model: s('cpuinfo')?.replace(/^model name\s*:\s*/, '') ?? null,
    cpu_count: Number(s('cpus')) || null,
    governor: s('governor'),
    smt: s('smt'),
    clocksource: s('clocksource'),
    // a virtual NIC reports -1 (or nothing): unknown, not a speed
    nic: {
      name: nic,
      mtu,
      driver: s('driver'),
      speed_mbps: Number.isFinite(speed) && speed > 0 ? speed : null,
      offloads,
    },
  };
}

export async function hostEnvironment(host: RemoteHost): Promise<HostEnvironment> {
  const out = (await host.ssh.run(sh(ENV_SCRIPT, host.nic))).stdout;
  return parseHostEnvironment(out, host.name, host.inv.address, host.nic, host.mtu);
}
