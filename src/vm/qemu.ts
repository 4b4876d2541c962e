/**
 * qemu's command line for a VM endpoint, and the choice between KVM and TCG. Pure but for the probe.
 *
 * The guest: one virtio-net NIC on the endpoint's tap, one virtio-serial port for the agent (a unix
 * socket qemu listens on), the console in a file, no other device. -daemonize and -pidfile: qemu runs
 * in its own session (its own process group), its stop is journaled by pidfile like the OVS daemons'.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Guest } from '../topology/model.js';
import type { VmPlan } from '../topology/guests.js';
import { AGENT_PORT_NAME } from './image.js';

export const QEMU = 'qemu-system-x86_64';
/** qemu's process name as /proc/PID/comm shows it (15 characters): the pidfile stop checks it. */
export const QEMU_COMM = 'qemu-system-x86';

export interface GuestFiles {
  dir: string;
  console: string;
  socket: string;
  pidfile: string;
}

export function guestFiles(runDir: string, netns: string): GuestFiles {
  const dir = path.join(runDir, `vm-${netns}`);
  return {
    dir,
    console: path.join(dir, 'console.log'),
    socket: path.join(dir, 'agent.sock'),
    pidfile: path.join(dir, 'qemu.pid'),
  };
}

/** The kernel command line: the console, no reboot on panic, and the network for the guest's init. */
export function kernelCmdline(g: Guest): string {
  const words = ['console=ttyS0', 'panic=-1', 'loglevel=4', 'cnperf.boot=1'];
  if (g.mtu) words.push(`cnperf.mtu=${g.mtu}`);
  for (const a of g.addresses) words.push(`cnperf.addr=${a}`);
  for (const r of g.routes) {
    const route = [r.dst, ...(r.via ? ['via', r.via] : []), 'dev', 'eth0', ...(r.onlink ? ['onlink'] : [])];
    words.push(`cnperf.route=${route.join(',')}`);
  }
  return words.join(' ');
}

export interface QemuInput {
  guest: Guest | null;
  vm: Pick<VmPlan, 'vcpus' | 'memory_mb' | 'vhost'>;
  accel: 'kvm' | 'tcg';
  kernel: string;
  initramfs: string;
  files: GuestFiles;
  name: string;
  /** qemu's own confinement, where its build has it (qemuHardening) */
  hardening?: readonly string[];
}

/**
 * qemu starts as root (it opens the tap and /dev/kvm): where its build has them, a seccomp sandbox
 * (obsolete and resource-control calls denied) and -runas nobody once the VM is set up, so a guest that
 * escaped into qemu does not hold root. spawn=deny is not set: it also stops -daemonize's fork, and
 * elevateprivileges=deny stops -runas's own setuid (both tried with Debian's qemu 7.2: qemu died with
 * "Bad system call"). Decided from `qemu -help`.
 */
export function qemuHardening(help: string, nobodyExists: boolean): string[] {
  return [
    ...(/^-sandbox /m.test(help) ? ['-sandbox', 'on,obsolete=deny,resourcecontrol=deny'] : []),
    ...(/^-runas /m.test(help) && nobodyExists ? ['-runas', 'nobody'] : []),
  ];
}

export function qemuArgv(o: QemuInput): string[] {
  const a = [
    QEMU,
    '-name',
    o.name,
    '-accel',
    o.accel,
    ...(o.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
  ];
  a.push('-m', String(o.vm.memory_mb), '-smp', String(o.vm.vcpus));
  a.push(
    '-kernel',
    o.kernel,
    '-initrd',
    o.initramfs,
    '-append',
    o.guest ? kernelCmdline(o.guest) : 'console=ttyS0 panic=-1 loglevel=4 cnperf.probe=1',
  );
  a.push('-no-reboot', '-serial', `file:${o.files.console}`);
  if (o.guest) {
    // a tun/tap qemu opens by name, or a device opened for it as fd 3 (a macvtap's /dev/tapN: see bootOne)
    const backend = o.guest.tapDevice ? 'fd=3' : `ifname=${o.guest.tap},script=no,downscript=no`;
    a.push('-netdev', `tap,id=n0,${backend},vhost=${o.vm.vhost ? 'on' : 'off'}`);
    a.push('-device', `virtio-net-pci,netdev=n0,mac=${o.guest.mac}`);
  }
  a.push(
    '-device',
    'virtio-serial-pci',
    '-chardev',
    `socket,id=agent,path=${o.files.socket},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
  );
  a.push(...(o.hardening ?? []));
  a.push('-pidfile', o.files.pidfile, '-daemonize');
  return a;
}

/** Why the guest cannot use vhost-net here, or null. */
export function vhostUnavailable(): string | null {
  return existsSync('/dev/vhost-net') ? null : 'this host has no /dev/vhost-net (the vhost_net module)';
}
