/**
 * What the machine was when a run measured: numbers are meaningless without it (a governor in
 * powersave, SMT, a virtual clocksource or a non-preemptible kernel all move tails).
 * Everything is read from /proc and /sys; an unreadable item is null, never a guess.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { VERSION } from '../version.js';

/** A real host's (--hosts), read there: an item the host cannot tell is null. */
export interface HostEnvironment {
  name: string;
  address: string;
  hostname: string | null;
  kernel: string | null;
  kernel_version: string | null;
  cpu_model: string | null;
  cpu_count: number | null;
  governor: string | null;
  smt: string | null;
  clocksource: string | null;
  nic: {
    name: string;
    mtu: number;
    driver: string | null;
    speed_mbps: number | null;
    offloads: Record<string, 'on' | 'off'> | null;
  };
}

export interface Environment {
  kernel: string;
  kernel_version: string;
  preemption: string | null;
  cpu_model: string | null;
  cpu_count: number;
  governor: string | null;
  smt: string | null;
  clocksource: string | null;
  virtualization: string | null;
  cnperf_version: string;
  engine_version: string | null;
  node_version: string;
  hostname: string;
  /** across real hosts (--hosts): each host's own (kernel, CPU, the NIC's driver, speed and offloads) */
  hosts?: HostEnvironment[];
}

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** PREEMPT_RT / PREEMPT / PREEMPT_DYNAMIC (with the active mode when debugfs shows it) / none. */
export function preemptionModel(unameVersion: string, dynamicMode: string | null): string | null {
  if (/PREEMPT_RT/.test(unameVersion)) return 'PREEMPT_RT';
  if (/PREEMPT_DYNAMIC/.test(unameVersion)) {
    const active = dynamicMode ? /\(([a-z]+)\)/.exec(dynamicMode)?.[1] : undefined;
    return active ? `PREEMPT_DYNAMIC (${active})` : 'PREEMPT_DYNAMIC';
  }
  if (/PREEMPT/.test(unameVersion)) return 'PREEMPT';
  return unameVersion ? 'none (voluntary or server)' : null;
}

/** The hypervisor, from CPU flags and DMI; null on bare metal. */
export function virtualization(
  cpuinfo: string | null,
  sysVendor: string | null,
  productName: string | null,
): string | null {
  const isGuest = cpuinfo ? /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo) : false;
  if (!isGuest) return null;
  const known: Array<[RegExp, string]> = [
    [/qemu|kvm/i, 'kvm'],
    [/firecracker/i, 'firecracker'],
    [/vmware/i, 'vmware'],
    [/microsoft/i, 'hyper-v'],
    [/xen/i, 'xen'],
    [/amazon/i, 'aws-nitro'],
    [/google/i, 'gce'],
  ];
  const id = `${sysVendor ?? ''} ${productName ?? ''}`;
  for (const [re, name] of known) if (re.test(id)) return name;
  return 'unknown hypervisor';
}

export function collectEnvironment(engineVersion: string | null): Environment {
  const cpuinfo = read('/proc/cpuinfo');
  return {
    kernel: os.release(),
    kernel_version: os.version(),
    preemption: preemptionModel(os.version(), read('/sys/kernel/debug/sched/preempt')),
    cpu_model: cpuinfo ? (/^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? null) : null,
    cpu_count: os.cpus().length,
    governor: read('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'),
    smt: read('/sys/devices/system/cpu/smt/active'),
    clocksource: read('/sys/devices/system/clocksource/clocksource0/current_clocksource'),
    virtualization: virtualization(
      cpuinfo,
      read('/sys/class/dmi/id/sys_vendor'),
      read('/sys/class/dmi/id/product_name'),
    ),
    cnperf_version: VERSION,
    engine_version: engineVersion,
    node_version: process.version,
    hostname: os.hostname(),
  };
}
