/**
 * Across real hosts, the pure parts: the inventory and its errors, which host each part of a plan is
 * built on, the steps in a host's own namespace (each undone one by one), readiness, each host's
 * environment and counters parsed from output captured on a (simulated) host, and the figures.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import type { DatapathOptions } from '../../src/datapaths/types.js';
import { stepsFor } from '../../src/local/steps.js';
import { readyConditions } from '../../src/local/ready.js';
import { unmet } from '../../src/remote/remote-build.js';
import { batchScript } from '../../src/remote/batch.js';
import { execFileSync } from 'node:child_process';
import { parseHostEnvironment } from '../../src/remote/remote-environment.js';
import { combine, parseSnapshot } from '../../src/remote/remote-probes.js';
import { splitByHost } from '../../src/remote/split.js';
import { shellQuote } from '../../src/util/shell.js';
import { summarizeProbes } from '../../src/probes/session.js';
import { ExperimentError } from '../../src/input/experiment-file.js';
import { parseHostsText } from '../../src/input/hosts-file.js';
import { parseExperimentText } from '../../src/input/experiment-file.js';
import type { Topology } from '../../src/topology/model.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES } from '../helpers/paths.js';
import { HOSTS_PART } from '../../src/datapaths/nodes.js';

const fixture = (f: string) => readFileSync(path.join(FIXTURES, 'hosts', f), 'utf8');
const HOSTS = [
  { name: 'a', address: '198.19.10.1', nic: 'eth1', mtu: 1500 },
  { name: 'b', address: '198.19.10.2', nic: 'eno2', mtu: 9000 },
];
const plan = (d: string, o: DatapathOptions = {}) => planDatapath(d, 'ab12cd', 1, { hosts: HOSTS, ...o });

describe('inventory (--hosts FILE)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-inv-'));
  writeFileSync(path.join(dir, 'id'), 'key');
  const file = path.join(dir, 'hosts.yaml');

  it('reads hosts with defaults; key files are resolved against the inventory', () => {
    const inv = parseHostsText(
      'hosts:\n  - name: a\n    address: 198.19.10.1\n    identity: ./id\n    interface: eth1\n  - {name: ' +
        'b, address: 198.19.10.2, user: bench, port: 2222}\n',
      file,
    );
    assert.deepEqual(inv.hosts, [
      { name: 'a', address: '198.19.10.1', user: 'root', port: 22, identity: path.join(dir, 'id'), interface: 'eth1' },
      { name: 'b', address: '198.19.10.2', user: 'bench', port: 2222 },
    ]);
  });

  it('reports every mistake at file:line:col with what is allowed', () => {
    const text =
      'hosts:\n  - name: A\n    address: 10.0.0.300\n    prot: 22\n    known_hosts: ./nope\n  - name: b\n   ' +
      ' port: 70000\n';
    let err: ExperimentError | null = null;
    try {
      parseHostsText(text, file);
    } catch (e) {
      err = e as ExperimentError;
    }
    assert.ok(err instanceof ExperimentError);
    const lines = err.message.split('\n').slice(1);
    assert.deepEqual(lines, [
      `${file}:2:11: hosts[0].name: 'A' is not valid; a short name: lowercase letters, digits and -, at ` +
        `most 16, starting with a letter`,
      `${file}:3:14: hosts[0].address: '10.0.0.300' is not an IPv4 or IPv6 address`,
      `${file}:4:5: unknown key 'prot' (did you mean 'port'?); allowed here: name, address, user, port, ` +
        `identity, known_hosts, interface`,
      `${file}:5:18: hosts[0].known_hosts: ${path.join(dir, 'nope')} does not exist`,
      `${file}:6:5: hosts[1].address: missing; the IP address cnperf connects to (and the host's underlay address)`,
      `${file}:7:11: hosts[1].port: '70000' is not a TCP port (1..65535)`,
    ]);
    assert.match(err.hint ?? '', /hosts: \[\{name: a, address:/);
  });

  it('refuses a file that is not an inventory, and duplicate hosts', () => {
    assert.throws(() => parseHostsText('- a\n- b\n', file), /1:1: an inventory is a map with one key, hosts/);
    assert.throws(() => parseHostsText('hosts: []\n', file), /'hosts': expected a list of at least one host/);
    assert.throws(
      () => parseHostsText('hosts:\n  - {name: a, address: 198.19.10.1}\n  - {name: b, address: 198.19.10.1}\n', file),
      /3:24: hosts\[1\]\.address: '198\.19\.10\.1' is also hosts\[0\]'s/,
    );
  });
});

describe('an experiment file naming its hosts', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-exp-hosts-'));
  writeFileSync(
    path.join(dir, 'hosts.yaml'),
    'hosts:\n  - {name: a, address: 198.19.10.1}\n  - {name: b, address: 198.19.10.2}\n',
  );
  const exp = path.join(dir, 'e.yaml');

  it('resolves the inventory against the file and plans every case against it', () => {
    const { spec } = parseExperimentText('name: t\nworkload: rtt\nhosts: hosts.yaml\ndatapaths: [host, vxlan]\n', exp);
    assert.equal(spec.hosts, path.join(dir, 'hosts.yaml'));
  });

  it('says where the inventory or a case against it is wrong', () => {
    assert.throws(
      () => parseExperimentText('name: t\nworkload: rtt\nhosts: nope.yaml\ndatapaths: [host]\n', exp),
      new RegExp(`e\\.yaml:3:8: hosts: ${path.join(dir, 'nope.yaml').replace(/[.]/g, '\\.')} does not exist`),
    );
    assert.throws(
      () => parseExperimentText('name: t\nworkload: rtt\nhosts: hosts.yaml\ndatapaths: [bridge]\n', exp),
      /e\.yaml:4:13: quick scale: bridge: datapath 'bridge' --hosts: a bridge across hosts would have to enslave/,
    );
  });
});

describe('plans across hosts', () => {
  it("the nodes are the hosts' own namespaces, with their NICs and addresses; nothing wires them", () => {
    const t = plan('routed', { placement: 'cross-node' });
    const nodes = t.namespaces.filter((n) => n.role === 'node');
    assert.deepEqual(
      nodes.map((n) => [n.name, n.on, n.root?.nic]),
      [
        ['cnpab12cd-h', 'a', 'eth1'],
        ['cnpab12cd-h1', 'b', 'eno2'],
      ],
    );
    assert.ok(!t.links.some((l) => l.name === 'eth1' || l.name === 'eno2'), "a host's NIC is never created");
    assert.ok(!t.addresses.some((a) => a.dev === 'eth1' || a.dev === 'eno2'), 'nor re-addressed');
    assert.deepEqual(
      t.routes!.filter((r) => r.dst === '198.18.0.2/32' && r.netns === 'cnpab12cd-h'),
      [{ netns: 'cnpab12cd-h', dst: '198.18.0.2/32', via: '198.19.10.2', dev: 'eth1' }],
    );
    assert.deepEqual(HOSTS_PART.of(t), HOSTS);
  });

  it('each container lands on the host it is wired to', () => {
    for (const [d, o] of [
      ['routed', { placement: 'cross-node' }],
      ['vxlan', { variant: 'bridge' }],
      ['macvlan', { placement: 'cross-node' }],
    ] as const) {
      const parts = splitByHost(plan(d, o as DatapathOptions));
      assert.deepEqual([...parts.keys()], ['a', 'b'], d);
      assert.deepEqual(
        parts
          .get('a')!
          .namespaces.map((n) => n.name)
          .sort(),
        ['cnpab12cd-c', 'cnpab12cd-h'],
        d,
      );
      assert.deepEqual(
        parts
          .get('b')!
          .namespaces.map((n) => n.name)
          .sort(),
        ['cnpab12cd-h1', 'cnpab12cd-s'],
        d,
      );
      for (const [h, part] of parts)
        for (const l of part.links)
          assert.ok(
            part.namespaces.some((n) => n.name === l.netns),
            `${d}: ${l.name} on ${h}`,
          );
    }
    const same = splitByHost(plan('routed', { placement: 'same-node' }));
    assert.deepEqual([...same.keys()], ['a']);
  });

  it('vxlan over hosts: the smaller NIC MTU carries the overlay; --mtu is refused', () => {
    const t = plan('vxlan');
    assert.deepEqual(
      t.links
        .filter((l) => l.kind === 'vxlan')
        .map((l) => [l.netns, l.local, l.remote, (l as { dev: string }).dev, l.mtu]),
      [
        ['cnpab12cd-h', '198.19.10.1', '198.19.10.2', 'eth1', 1450],
        ['cnpab12cd-h1', '198.19.10.2', '198.19.10.1', 'eno2', 1450],
      ],
    );
    assert.throws(() => plan('vxlan', { mtu: 9000 }), /--mtu is not taken/);
  });

  it('refuses what would cut a host off its network or is not built there, each with its reason', () => {
    assert.throws(
      () => plan('bridge', { placement: 'cross-node' }),
      (e: unknown) => e instanceof UserError && /enslave each host's real NIC/.test(e.message),
    );
    assert.throws(() => plan('veth'), /not built across real hosts/);
    assert.throws(() => planDatapath('host', 'ab12cd', 1, {}), /give them with --hosts/);
    assert.throws(
      () => planDatapath('routed', 'ab12cd', 1, { hosts: HOSTS.slice(0, 1), placement: 'cross-node' }),
      /needs 2 hosts; the inventory has 1/,
    );
    assert.throws(
      () => splitByHost(plan('routed', { placement: 'cross-node', netfilter: { netfilter: 'iptables' } })),
      /not built on real hosts yet/,
    );
  });

  it("a host's own namespace is named, never made; what the run adds there is undone one by one", () => {
    const steps = stepsFor(splitByHost(plan('routed', { placement: 'cross-node' })).get('a')!);
    const root = steps.filter((s) => s.argv.includes('cnpab12cd-h') || s.net?.netns === 'cnpab12cd-h');
    assert.deepEqual(root[0]!.argv, ['sh', '-c', 'exec ip netns attach "$1" "$$"', 'sh', 'cnpab12cd-h']);
    assert.deepEqual(root[0]!.undo, { op: 'unname-netns', netns: 'cnpab12cd-h', what: 'host a' });
    assert.ok(!steps.some((s) => s.net?.op === 'netns-add' && s.net.netns === 'cnpab12cd-h'), 'not created');
    assert.ok(
      !steps.some((s) => s.net?.op === 'link-alias' && s.net.netns === 'cnpab12cd-h' && s.net.dev === 'lo'),
      'its loopback keeps its alias',
    );
    for (const s of steps.filter((x) => x.net?.op === 'route-add' && x.net.netns === 'cnpab12cd-h'))
      assert.equal(s.undo?.op, 'del-route', s.argv.join(' '));
    const fwd = steps.find((s) => s.argv.includes('net.ipv4.ip_forward=1'))!;
    assert.deepEqual(fwd.before!.argv, ['ip', 'netns', 'exec', 'cnpab12cd-h', 'sysctl', '-n', 'net.ipv4.ip_forward']);
    assert.deepEqual(fwd.before!.undo('0\n'), {
      op: 'sysctl-restore',
      netns: 'cnpab12cd-h',
      key: 'net.ipv4.ip_forward',
      value: '0',
    });
    // in the containers' own namespaces nothing changes: they go whole
    assert.ok(steps.some((s) => s.undo?.op === 'del-netns' && s.undo.netns === 'cnpab12cd-c'));
  });

  it("the host datapath: the engines in the hosts' namespaces, at their addresses", () => {
    const t = plan('host');
    assert.deepEqual(t.endpoints, {
      client: { netns: 'cnpab12cd-h', ip: '198.19.10.1', dev: 'eth1' },
      server: { netns: 'cnpab12cd-h1', ip: '198.19.10.2', dev: 'eno2' },
    });
    assert.equal(t.links.length, 0);
  });
});

describe('on a host: readiness, environment, counters (captured on a simulated host)', () => {
  it('readiness from `ip -d -j link show`: carrier and bridge ports forwarding', () => {
    const conditions = [
      { op: 'wait-carrier' as const, netns: 'x', dev: 'v0' },
      { op: 'wait-port' as const, netns: 'x', dev: 'v0' },
      { op: 'wait-ports' as const, netns: 'x' },
    ];
    assert.deepEqual(
      unmet(conditions, new Map([['x', JSON.parse(fixture('link-not-ready.json'))]])).map((c) => c.op),
      ['wait-carrier', 'wait-port', 'wait-ports'],
    );
    assert.deepEqual(unmet(conditions, new Map([['x', JSON.parse(fixture('link-ready.json'))]])), []);
    assert.equal(
      unmet([{ op: 'wait-carrier', netns: 'y', dev: 'v0' }], new Map()).length,
      1,
      'a namespace not read is not ready',
    );
    assert.ok(readyConditions(plan('vxlan', { variant: 'bridge' })).length > 0);
  });

  it("a host's environment: kernel, CPU, the NIC's driver, speed and offloads; what it cannot tell is null", () => {
    const env = parseHostEnvironment(fixture('environment.txt'), 'a', '198.19.10.1', 'eth1', 1500);
    assert.equal(env.kernel, '6.18.44-fc-v857');
    assert.equal(env.cpu_model, 'Intel(R) Xeon(R) Processor');
    assert.equal(env.cpu_count, 2);
    assert.equal(env.governor, null, 'no cpufreq here: unknown, not a guess');
    assert.deepEqual(
      { ...env.nic, offloads: undefined },
      { name: 'eth1', mtu: 1500, driver: 'veth', speed_mbps: 10000, offloads: undefined },
    );
    assert.equal(env.nic.offloads?.['generic-receive-offload'], 'off');
    assert.equal(env.nic.offloads?.['tcp-segmentation-offload'], 'on');
    const bare = parseHostEnvironment(
      '\n@@kernel\n6.1.0\n\n@@speed\n-1\n\n@@driver\n\n@@offloads\n',
      'b',
      '198.19.10.2',
      'eno2',
      9000,
    );
    assert.deepEqual(bare.nic, { name: 'eno2', mtu: 9000, driver: null, speed_mbps: null, offloads: null });
  });

  it("a snapshot: /proc/stat, softirqs, interrupts and each namespace's devices and stack", () => {
    const s = parseSnapshot(fixture('snapshot.txt'), 7);
    assert.equal(s.sample.t_ms, 7);
    assert.equal(s.sample.stat.cpus.length, 2);
    assert.equal(s.sample.softirqs.NET_RX?.length, 2);
    assert.equal(s.sample.irqs.length, 2);
    assert.deepEqual(Object.keys(s.counters.devices.capx!).sort(), ['br0', 'lo', 'v0', 'v1']);
    assert.ok(s.counters.snmp.capx!.Udp, "the namespace's /proc/net/snmp");
  });

  it("the run's figures sum the hosts'; each host's per packet counts what the run delivered", () => {
    const s = parseSnapshot(fixture('snapshot.txt'), 0);
    const later = (netRx: number, rx: number) => {
      const x = structuredClone(s);
      x.sample.t_ms = 1000;
      x.sample.softirqs.NET_RX = x.sample.softirqs.NET_RX!.map((v, i) => v + (i === 0 ? netRx : 0));
      x.counters.devices.capx!.v0!.rx_packets += rx;
      return x;
    };
    const part = (ns: string) =>
      ({
        ...plan('host'),
        pairs: [
          { client: { netns: ns, ip: '198.18.0.1', dev: 'v0' }, server: { netns: ns, ip: '198.18.0.2', dev: 'v0' } },
        ],
        namespaces: [{ name: ns, role: 'node' }],
      }) as Topology;
    const rep = (netRx: number, rx: number) => {
      const b = later(netRx, rx);
      return summarizeProbes({ topo: part('capx') }, [s.sample, b.sample], s.counters, b.counters, null, []);
    };
    const run = combine({ a: rep(100, 0), b: rep(1000, 1000) }, []);
    assert.equal(run.packets, 1000);
    assert.equal(run.net_rx_softirqs_per_packet, 1.1);
    assert.equal(
      run.hosts!.a!.net_rx_softirqs_per_packet,
      0.1,
      "the sender's host: its softirqs per packet the run delivered",
    );
    assert.equal(run.hosts!.b!.net_rx_softirqs_per_packet, 1);
    assert.equal(run.cpu.all, null, 'no CPU split across machines: per host only');
    assert.ok(Object.keys(run.devices).every((k) => /^(a|b):capx\//.test(k)));
    assert.deepEqual(combine({}, []).problems, ['no host answered the probes']);
  });

  it('a batch of steps: each undo reaches the journal before its step runs; the first failure stops it, named', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-batch-'));
    const journal = path.join(dir, 'j');
    const log = path.join(dir, 'log');
    const steps = [
      {
        argv: ['sh', '-c', `echo one >> ${log}; tail -1 ${journal} >> ${log}`],
        undo: { op: 'del-netns' as const, netns: 'x' },
      },
      { argv: ['tee', '-a', log], stdin: "it's\n$HOME\n" },
      { argv: ['sh', '-c', 'echo no such thing >&2; exit 3'], undo: { op: 'del-link' as const, netns: 'x', dev: 'y' } },
      { argv: ['sh', '-c', `echo never >> ${log}`] },
    ];
    let err: { status: number; stderr: string } | null = null;
    try {
      execFileSync('sh', ['-c', batchScript(steps), 'sh', journal], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    assert.equal(err?.status, 3);
    assert.match(err!.stderr, /@@cnperf-step 2\nno such thing\n$/);
    assert.equal(
      readFileSync(log, 'utf8'),
      `one\n${JSON.stringify(steps[0]!.undo)}\nit's\n$HOME\n`,
      'undo journaled before its step; input verbatim; nothing after the failure',
    );
    assert.deepEqual(
      readFileSync(journal, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      [steps[0]!.undo, steps[2]!.undo],
    );
  });

  it("arguments reach the host's shell as they were", () => {
    assert.equal(shellQuote('ip'), 'ip');
    assert.equal(shellQuote('exec ip netns attach "$1" "$$"'), `'exec ip netns attach "$1" "$$"'`);
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });
});
