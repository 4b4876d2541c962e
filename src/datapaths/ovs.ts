import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Daemon } from '../topology/model.js';
import { ownedName } from '../topology/well-formed.js';
import { addVethContainer, complete, draftTopology, endpointOf, type Pair } from './nodes.js';
import { pairIps, type Datapath } from './types.js';

/** Where Debian's openvswitch-common keeps the schema a fresh database is created from. */
export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

/**
 * Open vSwitch in place of the Linux bridge (seeds 001/004): container veths are ports of an OVS bridge
 * in the node's namespace. cnperf runs a private ovsdb-server and ovs-vswitchd inside that namespace,
 * with database, sockets, pidfiles and logs in the run's own directory, and stops them at teardown.
 * The datapath is OVS's userspace one (datapath_type=netdev) by default: it needs no kernel module;
 * `--ovs-datapath system` uses the kernel module where it exists (not on the machines cnperf is
 * developed on, so that path is untested here). Userspace OVS receives the veths' packets through
 * packet sockets with their checksums still partial (TX checksum offload) and forwards them that way,
 * so the receiver drops UDP as corrupt: TX checksum offload is turned off on every port, as OVS's own
 * documentation advises for veths.
 */
export const ovs: Datapath = {
  name: 'ovs',
  description: 'container veths on an Open vSwitch bridge in the node (userspace datapath, private daemons)',
  noVm:
    "tried: through OVS's userspace (netdev) datapath a guest on a tap answered none of 300 round " +
    'trips — the symptom OVS shows for containers with TX checksum offload on, which cnperf cannot turn off ' +
    'inside a guest yet',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['ovs-datapath'],
  // the bridge's NORMAL action learns and floods by MAC: IPv6 is carried as IPv4 is
  ipv6: true,
  tools: ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl'],
  // Checked before anything is built (it reads the host, but changes nothing).
  refuse: ({ ovsDatapath }) =>
    ovsDatapath === 'system' && !existsSync('/sys/module/openvswitch')
      ? 'the kernel datapath needs the openvswitch kernel module, which this kernel lacks: use --ovs-datapath netdev'
      : null,
  plan({ runId, pairs = 1, runDir, ovsDatapath = 'netdev' }) {
    const dir = runDir ?? `/run/cnperf/cnp${runId}`;
    const node = ownedName(runId, 'n');
    const br = ownedName(runId, 'ovs');
    const { daemons, vsctl } = ovsDaemons(dir, node);
    const t = draftTopology(runId, 'ovs');
    t.namespaces.push({ name: node, role: 'node' });
    t.daemons = daemons;
    t.configure = [vsctl('add-br', br, '--', 'set', 'bridge', br, `datapath_type=${ovsDatapath}`)];
    // Userspace: TX checksum offload off on both ends of every port's veth (see above).
    if (ovsDatapath === 'netdev') t.offload = { tx: 'off' };
    const out: Pair[] = [];
    let summary = '';
    for (let i = 0; i < pairs; i++) {
      const ip = pairIps(i);
      const attach = (side: 'c' | 's', addr: string) => {
        const e = addVethContainer(t, runId, i, side, node, `${addr}/16`, 'b');
        t.configure!.push(vsctl('add-port', br, e.peer));
        return e;
      };
      const c = attach('c', ip.client);
      const s = attach('s', ip.server);
      out.push({ client: endpointOf(c), server: endpointOf(s) });
      if (i === 0)
        summary =
          `${c.netns} ` +
          `[${c.dev}] ═veth═ [${c.peer}] OVS ${br} (${ovsDatapath})@${node} [${s.peer}] ═veth═ [${s.dev}] ${s.netns}`;
    }
    return complete(t, out, summary);
  },
};

/**
 * A private ovsdb-server and ovs-vswitchd in `node` with every file in `dir` (the ovs datapath's; the
 * ovs-dpdk one runs the DPDK build of ovs-vswitchd), and ovs-vsctl against that database.
 */
export function ovsDaemons(
  dir: string,
  node: string,
  vswitchd = 'ovs-vswitchd',
): { daemons: Daemon[]; vsctl: (...args: string[]) => string[] } {
  const db = `unix:${path.join(dir, 'db.sock')}`;
  const env = { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_PKGDATADIR: path.dirname(OVS_SCHEMA) };
  return {
    vsctl: (...args: string[]) => ['ovs-vsctl', `--db=${db}`, '--timeout=10', ...args],
    daemons: [
      {
        netns: node,
        comm: 'ovsdb-server',
        runDir: dir,
        prepare: [['ovsdb-tool', 'create', path.join(dir, 'conf.db'), OVS_SCHEMA]],
        argv: [
          'ovsdb-server',
          path.join(dir, 'conf.db'),
          `--remote=punix:${path.join(dir, 'db.sock')}`,
          `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`,
          `--unixctl=${path.join(dir, 'ovsdb-server.ctl')}`,
          `--log-file=${path.join(dir, 'ovsdb-server.log')}`,
          '--detach',
        ],
        env,
        pidfile: path.join(dir, 'ovsdb-server.pid'),
      },
      {
        netns: node,
        // /proc/PID/comm: the binary's name cut to 15 characters (ovs-vswitchd-dpdk → ovs-vswitchd-dp)
        comm: path.basename(vswitchd).slice(0, 15),
        runDir: dir,
        argv: [
          vswitchd,
          db,
          `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`,
          `--unixctl=${path.join(dir, 'ovs-vswitchd.ctl')}`,
          `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`,
          '--detach',
        ],
        env,
        pidfile: path.join(dir, 'ovs-vswitchd.pid'),
      },
    ],
  };
}
