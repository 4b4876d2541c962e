import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DATAPATHS, checkDatapathOptions, getDatapath } from '../../src/datapaths/registry.js';
import { nearest } from '../../src/util/nearest.js';
import { explainBuildFailure, planDatapath } from '../../src/datapaths/plan.js';
import { MAX_PAIRS, pairIps } from '../../src/datapaths/types.js';
import { parseOffload } from '../../src/options/options.js';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { ownerMark, stepsFor } from '../../src/local/steps.js';
import { bpfToolPath } from '../../src/paths.js';
import { type Topology } from '../../src/topology/model.js';
import { IFNAME_MAX, validateTopology } from '../../src/topology/well-formed.js';
import { UserError } from '../../src/util/errors.js';

const RUN = 'ab12cd';
/** The cni datapath plans from a network configuration: the bridge plugin with host-local IPAM. */
const CNI = {
  cniVersion: '1.0.0',
  name: 'cnperf-test',
  disableCheck: false,
  file: 'test.conflist',
  plugins: [{ type: 'bridge', bridge: 'cni0', isGateway: true, ipam: { type: 'host-local', subnet: '198.18.0.0/16' } }],
};
/** existing measures between namespaces the user names: two processes' (named for the run at attach). */
/** host measures between real hosts: two of them, as connecting found them. */
const HOSTS = [
  { name: 'a', address: '198.19.10.1', nic: 'eth1', mtu: 1500 },
  { name: 'b', address: '198.19.10.2', nic: 'eth1', mtu: 1500 },
];
const ctxFor = (d: { name: string }) =>
  d.name === 'cni'
    ? { own: { cni: CNI } }
    : d.name === 'existing'
      ? { own: { existing: { client: 'pid:1', server: 'pid:2' } } }
      : d.name === 'host'
        ? { hosts: HOSTS }
        : {};
/** Every link is named cnp<run>-…, but for the cni node's NIC: eth0, what CNI configurations name as master. */
const ownedLink = (d: { name: string }, name: string) =>
  (d.name === 'cni' && name === 'eth0') || new RegExp(`^cnp${RUN}-`).test(name);

describe('datapath planning', () => {
  for (const d of DATAPATHS) {
    it(`${d.name}: plans a valid topology with owned, short names`, () => {
      const t = d.plan({ runId: RUN, placement: d.placements[0], ...ctxFor(d) });
      assert.deepEqual(validateTopology(t), []);
      assert.equal(t.runId, RUN);
      for (const ns of t.namespaces) assert.match(ns.name, new RegExp(`^cnp${RUN}-`));
      for (const l of t.links) {
        assert.ok(l.name.length <= IFNAME_MAX);
        assert.ok(ownedLink(d, l.name), l.name);
      }
      assert.ok(t.namespaces.some((n) => n.name === t.endpoints.client.netns));
      assert.ok(t.namespaces.some((n) => n.name === t.endpoints.server.netns));
    });

    it(`${d.name}: every command is ip, no shell, and everything created has an undo`, () => {
      const t = d.plan({ runId: RUN, placement: d.placements[0], ...ctxFor(d) });
      const steps = stepsFor(t);
      // argv arrays of known tools only: nothing is ever a shell string
      // (but naming a real host's own namespace after the session's shell there, src/local/steps.ts)
      for (const s of steps)
        assert.ok(
          ['ip', 'mkdir', 'ovsdb-tool', 'ovs-vsctl', 'mount', bpfToolPath()].includes(s.argv[0]!) ||
            (s.argv[0] === 'sh' && s.undo?.op === 'unname-netns'),
          s.argv.join(' '),
        );
      // A mount outside our namespaces (the eBPF datapaths' bpffs) is journaled for unmounting.
      for (const s of steps.filter((x) => x.argv[0] === 'mount'))
        assert.deepEqual(s.undo, { op: 'umount-bpffs', path: s.argv.at(-1) });
      const undone = new Set(
        steps.flatMap((s) =>
          s.undo?.op === 'del-netns'
            ? [s.undo.netns]
            : s.undo?.op === 'del-link'
              ? [`${s.undo.netns}/${s.undo.dev}`]
              : [],
        ),
      );
      // (a namespace cnperf adopts is named by the datapath's attach, which journals that name)
      const made = t.namespaces.filter((n) => !n.adopted && !n.root);
      for (const ns of t.namespaces.filter((n) => n.root))
        assert.ok(
          steps.some((s) => s.undo?.op === 'unname-netns' && s.undo.netns === ns.name),
          `host namespace ${ns.name}: its name has no undo`,
        );
      for (const ns of made) assert.ok(undone.has(ns.name), `namespace ${ns.name} has no undo`);
      for (const l of t.links) assert.ok(undone.has(`${l.netns}/${l.name}`), `link ${l.name} has no undo`);
      // The undo is recorded before anything inside the namespace is touched.
      const firstUse = made.length ? steps.findIndex((s) => s.argv.includes(made[0]!.name)) : -1;
      if (made.length) assert.ok(steps[firstUse]!.undo, 'first command touching a namespace must carry its undo');
      for (const ns of t.namespaces.filter((n) => n.adopted))
        assert.ok(!steps.some((s) => s.argv.includes(ns.name)), `a step touches adopted namespace ${ns.name}`);
      // Every namespace and every link carries the ownership mark.
      const marked = steps.filter((s) => s.argv.includes('alias') && s.argv.includes(ownerMark(RUN))).length;
      assert.equal(marked, made.length + t.links.length + t.links.filter((l) => l.kind === 'veth').length);
    });
  }

  it('loopback: one namespace, both endpoints on 127.0.0.1', () => {
    const t = getDatapath('loopback').plan({ runId: RUN });
    assert.equal(t.namespaces.length, 1);
    assert.equal(t.links.length, 0);
    assert.deepEqual(t.endpoints.client, t.endpoints.server);
    assert.equal(t.endpoints.server.ip, '127.0.0.1');
  });

  it('veth: client and server in two namespaces joined by one pair', () => {
    const t = getDatapath('veth').plan({ runId: RUN });
    assert.equal(t.namespaces.length, 2);
    assert.deepEqual(
      t.links.map((l) => l.kind),
      ['veth'],
    );
    const l = t.links[0]!;
    assert.ok(l.kind === 'veth' && l.netns === t.endpoints.client.netns && l.peerNetns === t.endpoints.server.netns);
    assert.notEqual(t.endpoints.client.ip, t.endpoints.server.ip);
  });

  it('bridge: two veths whose node ends are ports of one bridge in a third namespace', () => {
    const t = getDatapath('bridge').plan({ runId: RUN });
    const node = t.namespaces.find((n) => n.role === 'node')!;
    const br = t.links.find((l) => l.kind === 'bridge')!;
    assert.equal(br.netns, node.name);
    const veths = t.links.filter((l) => l.kind === 'veth');
    assert.equal(veths.length, 2);
    for (const v of veths) {
      assert.ok(v.kind === 'veth' && v.peerNetns === node.name);
      assert.ok(t.ports.some((p) => p.dev === v.peer && p.master === br.name));
    }
    // Addresses on the container ends only; the bridge forwards at layer 2.
    assert.ok(t.addresses.every((a) => a.netns !== node.name));
    // Creation order: bridge before ports are enslaved, addresses before links come up.
    const steps = stepsFor(t).map((s) => s.argv.join(' '));
    const idx = (re: RegExp) => steps.findIndex((s) => re.test(s));
    assert.ok(idx(/type bridge/) < idx(/ master /));
    assert.ok(idx(/addr add/) < idx(/dev (?!lo )\S+ up$/));
  });

  // (existing measures the one pair of namespaces the user names; the DPDK switches join one pair; host: the hosts)
  for (const d of DATAPATHS.filter((x) => !['existing', 'testpmd', 'ovs-dpdk', 'host'].includes(x.name))) {
    it(`${d.name}: plans ${MAX_PAIRS} pairs with unique names of at most 15 characters`, () => {
      const opts = {
        placement: d.placements[0],
        ...(d.variants?.includes('bridge') ? { variant: 'bridge' } : {}),
        ...ctxFor(d),
      };
      const t = d.plan({ runId: RUN, pairs: MAX_PAIRS, ...opts });
      assert.deepEqual(validateTopology(t), []);
      assert.equal(t.pairs.length, MAX_PAIRS);
      assert.deepEqual(t.pairs[0], t.endpoints);
      const one = d.plan({ runId: RUN, ...opts });
      assert.deepEqual(t.endpoints, one.endpoints, 'pair 0 keeps the single-pair names and addresses');
      if (d.name !== 'loopback') {
        // every pair in namespaces of its own, with addresses of its own
        assert.equal(new Set(t.pairs.map((p) => p.client.netns)).size, MAX_PAIRS);
        // (cni, podman: the plugins or podman's IPAM give the addresses, at attach)
        if (d.name !== 'cni' && d.name !== 'podman')
          assert.equal(new Set(t.pairs.flatMap((p) => [p.client.ip, p.server.ip])).size, 2 * MAX_PAIRS);
      }
    });
  }

  it('pair addresses stay in 198.18.0.0/16 and never repeat up to the limit; pair 0 keeps .1 and .2', () => {
    const all = Array.from({ length: MAX_PAIRS }, (_, i) => pairIps(i)).flatMap((p) => [p.client, p.server]);
    assert.equal(new Set(all).size, all.length);
    for (const ip of all) assert.match(ip, /^198\.18\.\d{1,3}\.\d$/);
    assert.deepEqual(pairIps(0), { client: '198.18.0.1', server: '198.18.0.2' });
    assert.deepEqual(pairIps(256), { client: '198.18.0.3', server: '198.18.0.4' });
  });

  it(
    'routed: /32 per container, a default route to the link-local gateway on the node end, host routes, ' +
      'forwarding',
    () => {
      const t = getDatapath('routed').plan({ runId: RUN, placement: 'cross-node' });
      const [n0, n1] = t.namespaces.filter((n) => n.role === 'node');
      assert.ok(n0 && n1);
      const c = t.endpoints.client;
      assert.ok(t.addresses.some((a) => a.netns === c.netns && a.cidr === `${c.ip}/32`));
      assert.ok(
        t.routes!.some((r) => r.netns === c.netns && r.dst === 'default' && r.via === '169.254.1.1' && r.onlink),
      );
      assert.ok(t.routes!.some((r) => r.netns === n0.name && r.dst === `${c.ip}/32`));
      assert.ok(
        t.routes!.some((r) => r.netns === n0.name && r.dst === `${t.endpoints.server.ip}/32` && r.via === '198.19.0.2'),
      );
      assert.deepEqual(t.sysctls!.map((x) => `${x.netns} ${x.key}=${x.value}`).sort(), [
        `${n0.name} net.ipv4.ip_forward=1`,
        `${n1.name} net.ipv4.ip_forward=1`,
      ]);
      assert.match(t.rawUnsupported ?? '', /next hop is the node/);
    },
  );

  it('macvlan: devices on the node NIC moved into the containers; modes that cannot talk locally are refused', () => {
    const d = getDatapath('macvlan');
    const t = d.plan({ runId: RUN });
    const m = t.links.filter((l) => l.kind === 'macvlan');
    assert.equal(m.length, 2);
    for (const l of m)
      assert.ok(l.kind === 'macvlan' && l.mode === 'bridge' && l.lower === `cnp${RUN}-ne` && l.netns !== l.lowerNetns);
    assert.equal(d.refuse!({ runId: RUN, mode: 'bridge' }), null);
    for (const mode of ['private', 'vepa', 'passthru']) {
      assert.match(d.refuse!({ runId: RUN, mode }) ?? '', /use --placement cross-node/, mode);
      assert.equal(d.refuse!({ runId: RUN, mode, placement: 'cross-node' }), null, mode);
    }
    assert.match(d.refuse!({ runId: RUN, mode: 'passthru', placement: 'cross-node', pairs: 2 }) ?? '', /one pair only/);
  });

  it('vxlan: two nodes, VNI and port as asked, inner MTU = underlay − 50; host variant puts apps on the nodes', () => {
    const d = getDatapath('vxlan');
    const host = d.plan({ runId: RUN, vni: 7, vxlanPort: 8472, mtu: 9000 });
    const vx = host.links.filter((l) => l.kind === 'vxlan');
    assert.equal(vx.length, 2);
    for (const l of vx) assert.ok(l.kind === 'vxlan' && l.vni === 7 && l.port === 8472 && l.mtu === 8950);
    assert.equal(host.namespaces.filter((n) => n.role === 'node').length, 2);
    assert.ok(host.namespaces.some((n) => n.name === host.endpoints.client.netns && n.role === 'node'));
    const br = d.plan({ runId: RUN, variant: 'bridge' });
    for (const l of br.links) if (l.kind === 'veth' && l.netns.endsWith('-c')) assert.equal(l.mtu, 1450);
    assert.ok(
      br.ports.some((p) => p.dev === `cnp${RUN}-vx`),
      'the VXLAN device is a bridge port',
    );
    assert.match(d.refuse!({ runId: RUN, variant: 'host', pairs: 2 }) ?? '', /one pair only/);
  });

  it('bridge cross-node: a bridge per node with its NIC enslaved, one L2 segment over the wire', () => {
    const t = getDatapath('bridge').plan({ runId: RUN, placement: 'cross-node' });
    assert.equal(t.links.filter((l) => l.kind === 'bridge').length, 2);
    assert.ok(t.ports.some((p) => p.dev === `cnp${RUN}-ne`) && t.ports.some((p) => p.dev === `cnp${RUN}-n1e`));
    assert.notEqual(
      t.namespaces.find((n) => n.name === t.endpoints.client.netns),
      undefined,
    );
  });

  it('checks options against what each datapath supports, before anything is built', () => {
    assert.throws(
      () => checkDatapathOptions(getDatapath('veth'), { runId: RUN, placement: 'cross-node' }),
      /cannot be placed cross-node[\s\S]*/,
    );
    assert.throws(
      () => checkDatapathOptions(getDatapath('macvlan'), { runId: RUN, mode: 'l3' }),
      /expected bridge, private, vepa, passthru/,
    );
    assert.throws(
      () => checkDatapathOptions(getDatapath('vxlan'), { runId: RUN, placement: 'same-node' }),
      /cannot be placed same-node/,
    );
    // Without --placement, each datapath's own default: vxlan crosses nodes.
    assert.doesNotThrow(() => checkDatapathOptions(getDatapath('vxlan'), { runId: RUN }));
    assert.equal(planDatapath('vxlan', RUN).namespaces.filter((n) => n.role === 'node').length, 2);
    assert.doesNotThrow(() => checkDatapathOptions(getDatapath('vxlan'), { runId: RUN, placement: 'cross-node' }));
  });

  it('--offload: validated, then one ethtool -K per created device (bridges excepted)', () => {
    assert.deepEqual(parseOffload('gro=off,tso=on'), { gro: 'off', tso: 'on' });
    assert.throws(() => parseOffload('gro=maybe'), /expected FEATURE=on\|off/);
    assert.throws(() => parseOffload('warp=on'), /unknown feature 'warp'/);
    assert.throws(() => parseOffload('gro=on,gro=off'), /named twice/);
    const t = planDatapath('bridge', RUN, 1, { offload: { gro: 'on', tso: 'off' } });
    const ethtool = stepsFor(t)
      .filter((st) => st.argv.includes('ethtool'))
      .map((st) => st.argv.slice(4).join(' '));
    assert.equal(ethtool.length, 4, 'two veth pairs, both ends; not the bridge');
    assert.ok(ethtool.every((x) => x.startsWith('ethtool -K cnp') && x.endsWith(' gro on tso off')));
  });

  it('ovs: private daemons in the run directory, stopped by pidfile; ports with TX checksum offload off', () => {
    const t = planDatapath('ovs', RUN);
    const steps = stepsFor(t);
    const dir = t.daemons![0]!.runDir;
    assert.match(dir, new RegExp(`/cnp${RUN}$`));
    const mkdir = steps.findIndex((st) => st.argv[0] === 'mkdir');
    assert.deepEqual(steps[mkdir]!.undo, { op: 'rm-dir', path: dir });
    const daemons = steps.filter((st) => st.undo?.op === 'kill-pidfile');
    assert.deepEqual(
      daemons.map((st) => (st.undo as { comm: string }).comm),
      ['ovsdb-server', 'ovs-vswitchd'],
    );
    for (const d of daemons) {
      assert.deepEqual(d.argv.slice(0, 4), ['ip', 'netns', 'exec', `cnp${RUN}-n`]);
      assert.ok(d.argv.includes('--detach') && d.argv.some((a) => a.startsWith(`--pidfile=${dir}/`)));
    }
    const ovsdb = steps.findIndex((st) => (st.undo as { comm?: string } | undefined)?.comm === 'ovsdb-server');
    assert.ok(steps.findIndex((st) => st.argv[0] === 'ovsdb-tool') < ovsdb, 'the database exists before its server');
    assert.ok(steps.some((st) => st.argv.includes('datapath_type=netdev')));
    assert.equal(steps.filter((st) => st.argv[0] === 'ovs-vsctl' && st.argv.includes('add-port')).length, 2);
    assert.equal(steps.filter((st) => st.argv.includes('ethtool') && st.argv.join(' ').endsWith(' tx off')).length, 4);
  });

  it('--rps/--xps: one write per created device and queue, inside its namespace', () => {
    const t = planDatapath('veth', RUN, 1, { rps: '3', xps: '1' });
    const writes = stepsFor(t).filter((st) => st.argv.includes('tee'));
    assert.deepEqual(
      writes.map((st) => `${st.argv[3]} ${st.argv[5]} ${st.stdin}`),
      [
        `cnp${RUN}-c /sys/class/net/cnp${RUN}-c0/queues/rx-0/rps_cpus 3`,
        `cnp${RUN}-s /sys/class/net/cnp${RUN}-s0/queues/rx-0/rps_cpus 3`,
        `cnp${RUN}-c /sys/class/net/cnp${RUN}-c0/queues/tx-0/xps_cpus 1`,
        `cnp${RUN}-s /sys/class/net/cnp${RUN}-s0/queues/tx-0/xps_cpus 1`,
      ],
    );
    assert.throws(() => parseQuickArgs(['veth', '--rps', 'zz']), /hexadecimal CPU mask/);
    assert.throws(() => parseQuickArgs(['veth', '--ovs-datapath', 'system']), /--ovs-datapath does not apply to veth/);
  });

  it('--fabric switch: nodes join a bridge in a fabric namespace instead of a wire', () => {
    const t = planDatapath('routed', RUN, 1, { placement: 'cross-node', fabric: 'switch' });
    const fabric = t.namespaces.find((n) => n.role === 'fabric')!;
    assert.ok(fabric);
    const sw = t.links.find((l) => l.kind === 'bridge' && l.netns === fabric.name)!;
    assert.deepEqual(
      t.ports.filter((p) => p.netns === fabric.name && p.master === sw.name).map((p) => p.dev),
      [`cnp${RUN}-nf`, `cnp${RUN}-n1f`],
    );
    assert.ok(
      !t.links.some((l) => l.kind === 'veth' && l.netns === `cnp${RUN}-n` && l.peerNetns === `cnp${RUN}-n1`),
      'no direct wire',
    );
    assert.throws(
      () => planDatapath('veth', RUN, 1, { fabric: 'switch' }),
      /--fabric applies to datapaths with simulated nodes/,
    );
    assert.throws(() => parseQuickArgs(['routed', '--fabric', 'hub']), /expected wire .* or switch/);
  });

  it('names the Debian package of a missing tool', () => {
    assert.match(
      explainBuildFailure(
        getDatapath('ovs'),
        'command failed (exit null): ovsdb-tool create x y: ovsdb-tool not found on PATH',
      ),
      /^ovsdb-tool is not installed \(Debian package openvswitch-common/,
    );
  });

  it('explains kernel answers that mean a missing feature', () => {
    assert.match(
      explainBuildFailure(
        getDatapath('ipvlan'),
        'command failed (exit 2): ip -n x link add y link z type ipvlan mode l2: Error: Unknown device type.',
      ),
      /^this kernel has no ipvlan/,
    );
    assert.equal(explainBuildFailure(getDatapath('ipvlan'), 'something else'), 'something else');
    // A datapath names only its own kernel features: macvlan's message is not ipvlan's.
    assert.doesNotMatch(
      explainBuildFailure(getDatapath('macvlan'), 'type ipvlan mode l2: Error: Unknown device type.'),
      /ipvlan \(CONFIG/,
    );
  });

  it('an unknown datapath is a user error that suggests the nearest name and lists all', () => {
    assert.throws(
      () => getDatapath('brigde'),
      (e: unknown) =>
        e instanceof UserError &&
        /did you mean 'bridge'/.test(e.message) &&
        /loopback, veth, bridge, routed, macvlan, ipvlan, vxlan, ovs, cni/.test(e.hint ?? ''),
    );
    assert.equal(nearest('xyzzy', ['bridge', 'veth']), undefined);
  });
});

describe('topology validation', () => {
  const base = (): Topology => getDatapath('bridge').plan({ runId: RUN });

  it('rejects names over 15 characters, undeclared namespaces, dangling ports and bad addresses', () => {
    const t = base();
    t.links.push({
      kind: 'veth',
      name: 'this-name-is-too-long',
      netns: 'nowhere',
      peer: 'x',
      peerNetns: t.namespaces[0]!.name,
    });
    t.ports.push({ netns: t.namespaces[0]!.name, dev: 'ghost', master: 'nobr' });
    t.addresses.push({ netns: t.namespaces[1]!.name, dev: 'lo', cidr: '300.1.1.1/24' });
    const problems = validateTopology(t).join('\n');
    assert.match(problems, /this-name-is-too-long' is not valid/);
    assert.match(problems, /undeclared namespace 'nowhere'/);
    assert.match(problems, /port 'ghost' is not a declared device/);
    assert.match(problems, /no bridge 'nobr'/);
    assert.match(problems, /'300.1.1.1\/24' is not an IPv4 or IPv6 CIDR/);
  });

  it('rejects duplicate namespaces and path-like namespace names', () => {
    const t = base();
    t.namespaces.push({ ...t.namespaces[0]! }, { name: '../etc', role: 'evil' });
    const problems = validateTopology(t).join('\n');
    assert.match(problems, /declared twice/);
    assert.match(problems, /'\.\.\/etc' is not valid/);
  });
});
