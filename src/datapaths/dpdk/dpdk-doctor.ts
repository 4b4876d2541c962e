/**
 * What `cnperf doctor` says about kernel bypass: DPDK and its engine, hugepages, and the switches and
 * NICs seed 001 used that this machine cannot have (VPP and Snabb are not in Debian; SR-IOV needs a NIC
 * with virtual functions).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onPath } from '../../local/command.js';
import { installHint } from '../../tools/table.js';
import { dpdkEnginePath } from '../../paths.js';
import { hugepagesUnavailable } from './hugepages.js';
import { OVS_VSWITCHD_DPDK } from './ovs-dpdk-switch.js';
import { TESTPMD } from './testpmd-switch.js';

export type DoctorLine = ['ok  ' | 'no  ' | 'info', string, string];

/** NICs with SR-IOV virtual functions (sysfs sriov_totalvfs > 0). */
export function sriovNics(root = '/sys/class/net'): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((dev) => {
    try {
      return Number(readFileSync(path.join(root, dev, 'device', 'sriov_totalvfs'), 'utf8').trim()) > 0;
    } catch {
      return false;
    }
  });
}

export function dpdkDoctorLines(): DoctorLine[] {
  const lines: DoctorLine[] = [];
  const missing = [
    ...(onPath(TESTPMD) ? [] : [`${TESTPMD} (${installHint(TESTPMD)})`]),
    ...(existsSync(dpdkEnginePath()) ? [] : ['cnperf-engine-dpdk (apt-get install libdpdk-dev, then npm run build)']),
  ];
  lines.push(
    missing.length
      ? ['no  ', 'kernel bypass (DPDK)', `missing ${missing.join(', ')}`]
      : ['ok  ', 'kernel bypass (DPDK)', `${TESTPMD} and cnperf-engine-dpdk found`],
  );
  lines.push(
    existsSync(OVS_VSWITCHD_DPDK)
      ? [
          'ok  ',
          'OVS-DPDK (datapath ovs-dpdk)',
          `${OVS_VSWITCHD_DPDK} found (run by path; the host's ovs-vswitchd alternative is untouched)`,
        ]
      : ['no  ', 'OVS-DPDK (datapath ovs-dpdk)', `${OVS_VSWITCHD_DPDK} missing (${installHint(OVS_VSWITCHD_DPDK)})`],
  );
  const huge = hugepagesUnavailable();
  lines.push(
    huge
      ? ['no  ', '2 MB hugepages', huge]
      : ['ok  ', '2 MB hugepages', 'a run reserves what it needs and gives it back'],
  );
  const cpus = os.cpus().length;
  lines.push([
    'info',
    'CPUs for pollers',
    cpus >= 3
      ? `${cpus} CPUs: the switch's poller and each engine can have one`
      : `${cpus} CPU${cpus > 1 ? 's' : ''}: the switch polls one (--switch-cpu), the engines share ` +
        `${cpus > 1 ? 'the other' : 'it'} and yield — every result says who shared`,
  ]);
  lines.push(['info', 'VPP, Snabb (seed 001)', 'not in Debian: cnperf does not build them']);
  const vfs = sriovNics();
  lines.push(
    vfs.length
      ? [
          'info',
          'SR-IOV',
          `NICs with virtual functions: ${vfs.join(', ')} (cnperf does not build SR-IOV datapaths yet)`,
        ]
      : ['no  ', 'SR-IOV', 'no NIC here has virtual functions (sysfs sriov_totalvfs)'],
  );
  return lines;
}
