import { existsSync } from 'node:fs';
import path from 'node:path';
import { ownedName, type Topology } from '../topology/model.js';
import { pairIps, pairSuffix, type Datapath } from './types.js';

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
  placements: ['same-node'],
  takes: ['ovs-datapath'],
  // Checked before anything is built (it reads the host, but changes nothing).
  refuse: ({ ovsDatapath }) => (ovsDatapath === 'system' && !existsSync('/sys/module/openvswitch') ? 'the kernel datapath needs the openvswitch kernel module, which this kernel lacks: use --ovs-datapath netdev' : null),
  plan({ runId, pairs = 1, runDir, ovsDatapath = 'netdev' }) {
    const dir = runDir ?? `/run/cnperf/cnp${runId}`;
    const node = ownedName(runId, 'n');
    const br = ownedName(runId, 'ovs');
    const db = `unix:${path.join(dir, 'db.sock')}`;
    const vsctl = (...args: string[]) => ['ovs-vsctl', `--db=${db}`, '--timeout=10', ...args];
    const env = { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_PKGDATADIR: path.dirname(OVS_SCHEMA) };
    const t: Topology = {
      runId,
      datapath: 'ovs',
      summary: '',
      namespaces: [{ name: node, role: 'node' }],
      links: [],
      ports: [],
      addresses: [],
      endpoints: undefined!,
      pairs: [],
      daemons: [
        {
          netns: node,
          comm: 'ovsdb-server',
          runDir: dir,
          prepare: [['ovsdb-tool', 'create', path.join(dir, 'conf.db'), OVS_SCHEMA]],
          argv: ['ovsdb-server', path.join(dir, 'conf.db'), `--remote=punix:${path.join(dir, 'db.sock')}`, `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`, `--unixctl=${path.join(dir, 'ovsdb-server.ctl')}`, `--log-file=${path.join(dir, 'ovsdb-server.log')}`, '--detach'],
          env,
          pidfile: path.join(dir, 'ovsdb-server.pid'),
        },
        {
          netns: node,
          comm: 'ovs-vswitchd',
          runDir: dir,
          argv: ['ovs-vswitchd', db, `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`, `--unixctl=${path.join(dir, 'ovs-vswitchd.ctl')}`, `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`, '--detach'],
          env,
          pidfile: path.join(dir, 'ovs-vswitchd.pid'),
        },
      ],
      configure: [vsctl('add-br', br, '--', 'set', 'bridge', br, `datapath_type=${ovsDatapath}`)],
      // Userspace: TX checksum offload off on both ends of every port's veth (see above).
      ...(ovsDatapath === 'netdev' ? { offload: { tx: 'off' as const } } : {}),
    };
    for (let i = 0; i < pairs; i++) {
      const x = pairSuffix(i);
      const ip = pairIps(i);
      const attach = (side: 'c' | 's', addr: string) => {
        const ns = ownedName(runId, `${side}${x}`);
        const dev = ownedName(runId, i ? `${side}${x}e` : `${side}0`);
        const port = ownedName(runId, `${side}${x}b`);
        t.namespaces.push({ name: ns, role: side === 'c' ? 'client' : 'server' });
        t.links.push({ kind: 'veth', name: dev, netns: ns, peer: port, peerNetns: node });
        t.configure!.push(vsctl('add-port', br, port));
        t.addresses.push({ netns: ns, dev, cidr: `${addr}/16` });
        return { netns: ns, ip: addr, dev, port };
      };
      const c = attach('c', ip.client);
      const s = attach('s', ip.server);
      t.pairs.push({ client: { netns: c.netns, ip: c.ip, dev: c.dev }, server: { netns: s.netns, ip: s.ip, dev: s.dev } });
      if (i === 0) t.summary = `${c.netns} [${c.dev}] ═veth═ [${c.port}] OVS ${br} (${ovsDatapath})@${node} [${s.port}] ═veth═ [${s.dev}] ${s.netns}`;
    }
    if (pairs > 1) t.summary += ` (×${pairs} pairs)`;
    t.endpoints = t.pairs[0]!;
    return t;
  },
};
