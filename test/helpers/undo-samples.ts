/** One journal entry of every kind: a new kind without a sample here does not compile. */
import type { UndoAction } from '../../src/local/steps.js';
// the modules that register kinds of their own (every datapath, and the ssh connections of --hosts)
import '../../src/datapaths/registry.js';
import '../../src/remote/host-set.js';

export const UNDO_SAMPLES: { [K in UndoAction['op']]: Extract<UndoAction, { op: K }> } = {
  'del-netns': { op: 'del-netns', netns: 'cnpffffff-c' },
  'del-link': { op: 'del-link', netns: 'cnpffffff-c', dev: 'cnpffffff-c0' },
  'kill-pidfile': { op: 'kill-pidfile', pidfile: '/run/cnperf/x.pid', comm: 'ovs-vswitchd' },
  'rm-dir': { op: 'rm-dir', path: '/run/cnperf/cnpffffff' },
  'rm-trace-instance': { op: 'rm-trace-instance', path: '/sys/kernel/tracing/instances/cnperf-ffffff-a' },
  'umount-bpffs': { op: 'umount-bpffs', path: '/run/cnperf/cnpffffff/bpf' },
  'umount-tracefs': { op: 'umount-tracefs', path: '/sys/kernel/tracing' },
  'unname-netns': { op: 'unname-netns', netns: 'cnpffffff-s', what: 'process 42' },
  'podman-rm': { op: 'podman-rm', name: 'cnperf-ffffff-c' },
  'podman-network-rm': { op: 'podman-network-rm', name: 'cnperf-ffffff' },
  'podman-rmi': { op: 'podman-rmi', image: 'localhost/cnperf-ffffff:engine' },
  'netavark-residue': { op: 'netavark-residue', before: { chains: [], tables: ['ip filter'], ipForward: '0' } },
  'hugepages-restore': { op: 'hugepages-restore', before: 0 },
  'umount-hugetlbfs': { op: 'umount-hugetlbfs', path: '/run/cnperf/cnpffffff/hugepages' },
  'rm-dpdk-runtime': { op: 'rm-dpdk-runtime', prefix: 'cnpffffff' },
  'del-route': { op: 'del-route', netns: 'cnpffffff-h', dst: '198.18.0.2/32', dev: 'eth1' },
  'sysctl-restore': { op: 'sysctl-restore', netns: 'cnpffffff-h', key: 'net.ipv4.ip_forward', value: '0' },
  'ssh-exit': { op: 'ssh-exit', socket: '/run/cnperf/cnpffffff/ssh-0', host: 'a' },
  'cni-del': {
    op: 'cni-del',
    network: { cniVersion: '1.0.0', name: 'n', disableCheck: false, plugins: [{ type: 'bridge' }], file: 'f' },
    netns: 'cnpffffff-c',
    ifname: 'eth0',
    containerId: 'c',
    runIn: 'cnpffffff-n',
    cacheFile: '/run/cnperf/c.json',
  },
};
