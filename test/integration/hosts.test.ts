/**
 * Across real hosts (issue 18), on hosts simulated faithfully (test/helpers/sim-hosts.ts: each host a
 * namespace with its own sshd and its own /run). Every datapath that runs across hosts measures there
 * and leaves both hosts as they were; a SIGKILLed run is cleaned by `cnperf clean --hosts`; a cut
 * connection ends the run naming the host and leaves no engine behind; doctor names a missing tool.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cnperf, collect, liveEngines, liveProcesses, sleep, spawnCnperf, waitForStderr } from '../helpers/host.js';
import { SimHosts } from '../helpers/sim-hosts.js';
import { loadHostsFile } from '../../src/input/hosts-file.js';
import { HostSet } from '../../src/remote/host-set.js';
import { KEEPER_TIMEOUT_S } from '../../src/remote/remote-host.js';
import { ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-hosts-'));
const db = path.join(tmp, 'results.sqlite');
let sim: SimHosts;

interface Result {
  datapath: string;
  status: string;
  problem: string | null;
  samples: number;
  rtt_ns: { p50: number; p99: number } | null;
  stream?: { rx_pps: number } | null;
  hosts?: Array<{
    name: string;
    address: string;
    kernel: string;
    nic: { name: string; driver: string | null; mtu: number };
  }>;
  probes?: {
    packets: number;
    hosts?: Record<
      string,
      {
        packets: number;
        softirqs: { net_rx: number };
        devices: Record<string, { rx_packets: number; tx_packets: number }>;
      }
    >;
  };
}
const results = (stdout: string) => (JSON.parse(stdout) as { results: Result[] }).results;
const states = () => sim.hosts.map((h) => sim.state(h.name));
const sshClients = () => liveProcesses(['ssh']);
const RTT = ['--count', '300', '--interval', '200us'];

before(async () => {
  sim = await SimHosts.start(path.join(tmp, 'sim'));
});
after(() => {
  sim?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('across real hosts (simulated: a namespace with its own sshd and /run each)', () => {
  it('host, routed and vxlan cross-node: three results naming both hosts, both hosts unchanged', async () => {
    const before = states();
    const r = await cnperf([
      'quick',
      'host',
      'routed',
      'vxlan',
      '--hosts',
      sim.inventory,
      '--placement',
      'cross-node',
      ...RTT,
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rs = results(r.stdout);
    assert.deepEqual(
      rs.map((x) => x.datapath),
      ['host', 'routed', 'vxlan'],
    );
    for (const x of rs) {
      assert.equal(x.status, 'ok', `${x.datapath}: ${x.problem}`);
      assert.equal(x.samples, 300);
      assert.ok(x.rtt_ns && x.rtt_ns.p50 > 0);
      assert.deepEqual(
        x.hosts?.map((h) => `${h.name}@${h.address}`),
        ['a@198.19.10.1', 'b@198.19.10.2'],
      );
      assert.equal(x.hosts![0]!.nic.name, 'eth1');
      assert.equal(x.hosts![0]!.nic.driver, 'veth');
      assert.ok(x.hosts![0]!.kernel);
    }
    assert.deepEqual(states(), before);
    assert.deepEqual(sshClients(), [], 'no ssh connection outlives the run');
  });

  it(
    'vxlan --variant bridge, macvlan cross-node, routed, macvlan and cni (the bridge plugin) on one host; ' +
      'ipvlan where the kernel has it',
    async () => {
      const before = states();
      const cniConfig = path.join(ROOT, 'experiments', 'cni', 'bridge.conflist');
      for (const args of [
        ['vxlan', '--variant', 'bridge'],
        ['macvlan', '--placement', 'cross-node'],
        ['routed', '--placement', 'same-node'],
        ['macvlan', '--placement', 'same-node'],
        ['cni', '--cni-config', cniConfig, '--placement', 'same-node'],
      ]) {
        const r = await cnperf(['quick', ...args, '--hosts', sim.inventory, ...RTT, '--json', '--db', db]);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        const [x] = results(r.stdout);
        assert.equal(x!.status, 'ok', `${args.join(' ')}: ${x!.problem}`);
        assert.equal(x!.samples, 300);
        assert.equal(x!.hosts?.length, args.includes('same-node') ? 1 : 2);
      }
      const ipvlan = await cnperf([
        'quick',
        'ipvlan',
        '--placement',
        'cross-node',
        '--hosts',
        sim.inventory,
        ...RTT,
        '--json',
        '--db',
        db,
      ]);
      const [iv] = results(ipvlan.stdout);
      if (iv!.status !== 'ok')
        assert.match(iv!.problem ?? '', /this kernel has no ipvlan/, 'ipvlan fails only for the kernel it lacks');
      assert.deepEqual(states(), before);
    },
  );

  it('over IPv6, by an inventory of IPv6 addresses: host, vxlan, macvlan across hosts; hosts unchanged', async () => {
    const before = states();
    const args = ['quick', 'host', 'vxlan', 'macvlan', '--hosts', sim.inventory6, '--placement', 'cross-node'];
    const r = await cnperf([...args, '--ip', '6', ...RTT, '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    for (const x of results(r.stdout)) {
      assert.equal(x.status, 'ok', `${x.datapath}: ${x.problem}`);
      assert.equal(x.samples, 300);
      assert.deepEqual(
        x.hosts?.map((h) => `${h.name}@${h.address}`),
        ['a@2001:2:0:10a::1', 'b@2001:2:0:10a::2'],
      );
    }
    // refused before connecting: a family the hosts' addresses are not of, and IPv6 forwarding in a host's namespace
    const v4 = await cnperf(['quick', 'host', '--hosts', sim.inventory, '--ip', '6', '--db', db]);
    assert.equal(v4.code, 2);
    assert.match(v4.stderr, /host a's address 198\.19\.10\.1 is IPv4, but the run's underlay is IPv6/);
    const routed = await cnperf([
      'quick',
      'routed',
      '--hosts',
      sim.inventory6,
      '--placement',
      'cross-node',
      '--ip',
      '6',
    ]);
    assert.equal(routed.code, 2);
    assert.match(routed.stderr, /would turn on IPv6 forwarding in a host's own namespace/);
    assert.deepEqual(states(), before);
    assert.deepEqual(sshClients(), [], 'no ssh connection outlives the run');
  });

  it("a stream over vxlan reads probes on both hosts: the sender's NIC sent what the receiver's got", async () => {
    const r = await cnperf([
      'quick',
      'vxlan',
      '--hosts',
      sim.inventory,
      '--workload',
      'stream',
      '--api',
      'sendmmsg',
      '--burst',
      '32',
      '--duration',
      '3s',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [x] = results(r.stdout);
    assert.equal(x!.status, 'ok', x!.problem ?? '');
    assert.ok(x!.stream && x!.stream.rx_pps > 0);
    const hosts = x!.probes?.hosts;
    assert.deepEqual(Object.keys(hosts ?? {}).sort(), ['a', 'b']);
    const nic = (h: string) => Object.entries(hosts![h]!.devices).find(([k]) => k.endsWith('/eth1'))![1];
    assert.ok(nic('a').tx_packets > 1000, 'host a sent on its NIC');
    assert.ok(nic('b').rx_packets >= nic('a').tx_packets * 0.99, 'host b received on its NIC what a sent');
    assert.ok(hosts!.b!.packets > hosts!.a!.packets, "the receiver's endpoint got the packets");
  });

  it(
    "--trace on both hosts: stack traversals per packet from each host's tracepoints; no instance or mount " + 'left',
    async () => {
      const before = states();
      const r = await cnperf(['quick', 'vxlan', '--hosts', sim.inventory, '--trace', ...RTT, '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      const [x] = results(r.stdout) as Array<
        Result & {
          probes: {
            traversals_per_packet: number | null;
            hosts: Record<
              string,
              { traversals_per_packet: number | null; trace: { receive_by_device: Record<string, number> } | null }
            >;
          };
        }
      >;
      assert.equal(x!.status, 'ok', x!.problem ?? '');
      for (const h of ['a', 'b']) {
        const p = x!.probes.hosts[h]!;
        assert.ok(p.trace, `host ${h} traced`);
        // each packet enters a host's stack on its NIC and again on its VXLAN device
        assert.ok(
          (p.trace.receive_by_device.eth1 ?? 0) >= 300 &&
            Object.keys(p.trace.receive_by_device).some((d) => /-v(x|1)$/.test(d)),
          JSON.stringify(p.trace.receive_by_device),
        );
        assert.ok(
          p.traversals_per_packet !== null && p.traversals_per_packet >= 1,
          `host ${h}: ${p.traversals_per_packet}`,
        );
      }
      assert.deepEqual(states(), before, 'no tracefs instance or mount left on a host');
    },
  );

  it(
    "128 pairs routed across the hosts: each host's steps (~200 KB of script) go in one call on stdin, " +
      'every pair measured',
    async () => {
      const before = states();
      // (a stream over the first pairs of such a build lost both hosts' sessions mid-run, once: not yet
      // understood — see the session note; RTT through each pair in turn is what this test measures)
      const r = await cnperf([
        'quick',
        'routed',
        '--placement',
        'cross-node',
        '--pairs',
        '128',
        '--hosts',
        sim.inventory,
        '--count',
        '20',
        '--interval',
        '0',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr.slice(-2000)); // was: spawn E2BIG, the batch script being one argument
      const [x] = results(r.stdout);
      assert.equal(x!.status, 'ok', x!.problem ?? '');
      assert.equal(x!.samples, 128 * 20);
      assert.deepEqual(states(), before);
    },
  );

  it(
    'seven seconds of synchronous work here (more than the keepers wait for a heartbeat): the hosts stay ' +
      'connected',
    async () => {
      const dir = mkdtempSync(path.join(tmp, 'state-'));
      const set = await HostSet.open(loadHostsFile(sim.inventory).hosts, { stateDir: dir, owner: 'test' });
      try {
        const [a] = set.hosts;
        const keeperAlive = () => sim.ssh('a', `kill -0 ${a!.keeper.pid} && echo alive || echo gone`).trim();
        assert.equal(keeperAlive(), 'alive');
        const until = Date.now() + (KEEPER_TIMEOUT_S + 2) * 1000;
        while (Date.now() < until); // the event loop held, as a parse of 10^8 samples once held it
        await sleep(500); // the session's exit, had it ended, is seen now
        assert.equal(a!.lost, null);
        assert.equal(keeperAlive(), 'alive', "the host's keeper kept its heartbeat");
      } finally {
        await set.close();
        rmSync(dir, { recursive: true, force: true });
      }
      assert.deepEqual(sshClients(), [], 'no ssh connection outlives the session');
      const cmdline = (pid: string) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          return ''; // ended meanwhile
        }
      };
      const pacemakers = liveProcesses(['sh']).filter((pid) => cmdline(pid).includes('kill -0'));
      assert.deepEqual(pacemakers, [], 'no heartbeat outlives the session');
    },
  );

  it('refuses what cannot run across hosts, each with its reason, before connecting', async () => {
    const bridge = await cnperf(['quick', 'bridge', '--placement', 'cross-node', '--hosts', sim.inventory]);
    assert.equal(bridge.code, 2);
    assert.match(bridge.stderr, /enslave each host's real NIC/);
    const veth = await cnperf(['quick', 'veth', '--hosts', sim.inventory]);
    assert.match(veth.stderr, /not built across real hosts/);
    const host = await cnperf(['quick', 'host']);
    assert.match(host.stderr, /needs? --hosts|give them with --hosts/);
    const breakdown = await cnperf([
      'quick',
      'routed',
      '--placement',
      'cross-node',
      '--hosts',
      sim.inventory,
      '--breakdown',
    ]);
    assert.match(breakdown.stderr, /two hosts have two clocks/);
    assert.doesNotMatch(bridge.stderr + veth.stderr + host.stderr + breakdown.stderr, /\n\s+at /, 'no stack trace');
  });

  it(
    'never takes over the NIC a host is reached by: macvlan passthru refused before connecting, and after ' +
      'it when the named NIC carries the address',
    async () => {
      const before = states();
      const r = await cnperf([
        'quick',
        'macvlan',
        '--placement',
        'cross-node',
        '--mode',
        'passthru',
        '--hosts',
        sim.inventory,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /macvlan --mode passthru takes over host a's NIC \(none named in the inventory\)/);
      assert.deepEqual(sshClients(), [], 'refused before connecting');
      // interface: names the NIC — which here carries the address: found on connecting, refused before any change
      const named = path.join(path.dirname(sim.inventory), 'hosts-named-nic.yaml');
      writeFileSync(
        named,
        readFileSync(sim.inventory, 'utf8').replace(/^(\s+)user: root$/gm, '$1user: root\n$1interface: eth1'),
      );
      const r2 = await cnperf([
        'quick',
        'macvlan',
        '--placement',
        'cross-node',
        '--mode',
        'passthru',
        '--hosts',
        named,
        '--count',
        '100',
      ]);
      assert.notEqual(r2.code, 0);
      assert.match(r2.stdout + r2.stderr, /takes over host a's NIC \(eth1\), which carries 198\.19\.10\.1/);
      assert.deepEqual(states(), before, 'nothing changed on a host');
      for (const h of ['a', 'b']) sim.ssh(h, 'true'); // both still answer
    },
  );

  it('SIGKILL mid-run, then cnperf clean --hosts: both hosts as before, no engine, no ssh', async () => {
    const before = states();
    const child = spawnCnperf([
      'quick',
      'routed',
      '--placement',
      'cross-node',
      '--hosts',
      sim.inventory,
      '--count',
      '1000000',
      '--db',
      db,
    ]);
    const done = collect(child);
    try {
      await waitForStderr(child, /measuring/, 60_000);
      // the engines start on the hosts just after 'measuring': wait for them, however loaded the machine is
      for (let i = 0; i < 200 && liveEngines().length < 2; i++) await sleep(50);
      assert.ok(liveEngines().length >= 2, 'engines run on the hosts');
    } finally {
      child.kill('SIGKILL'); // also when the wait failed: a run left going holds the lock for the tests after
    }
    await done;
    assert.notDeepEqual(states(), before, 'the killed run left its namespaces on the hosts');
    const c = await cnperf(['clean', '--hosts', sim.inventory]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /host a: .*namespace/);
    assert.match(c.stdout, /host b: .*namespace/);
    assert.deepEqual(states(), before);
    for (let i = 0; i < 50 && liveEngines().length; i++) await sleep(100);
    assert.deepEqual(liveEngines(), [], 'no engine outlives its session');
    for (let i = 0; i < 150 && sshClients().length; i++) await sleep(100);
    assert.deepEqual(sshClients(), [], "the killed run's ssh connections ended");
  });

  it(
    'a connection cut mid-run ends the run naming the host; once it is back, clean leaves no engine and ' +
      'the hosts as before',
    async () => {
      const before = states();
      const child = spawnCnperf([
        'quick',
        'routed',
        '--placement',
        'cross-node',
        '--hosts',
        sim.inventory,
        '--workload',
        'stream',
        '--duration',
        '60s',
        '--json',
        '--db',
        db,
      ]);
      const done = collect(child);
      try {
        await waitForStderr(child, /streaming/, 60_000);
        for (let i = 0; i < 200 && liveEngines().length < 2; i++) await sleep(50);
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
      sim.cut('b');
      const r = await done;
      sim.restore('b');
      assert.notEqual(r.code, 0);
      const text = r.stdout + r.stderr;
      assert.match(text, /host b/, text);
      assert.doesNotMatch(text, /\n\s+at /, 'no stack trace');
      const c = await cnperf(['clean', '--hosts', sim.inventory]);
      assert.equal(c.code, 0, c.stderr);
      for (let i = 0; i < 100 && liveEngines().length; i++) await sleep(100);
      assert.deepEqual(liveEngines(), [], 'no remote engine is left running');
      assert.deepEqual(states(), before);
    },
  );

  it('doctor --hosts names a tool a host lacks, with its package', async () => {
    // hide sysctl on host b only (its own mount namespace: the machine and host a keep theirs)
    sim.ssh('b', 'mount --bind /dev/null /usr/sbin/sysctl');
    try {
      const r = await cnperf(['doctor', '--hosts', sim.inventory]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /FAIL host b \(root@198\.19\.10\.2:22\): sysctl is not installed: Debian package procps/);
      assert.doesNotMatch(r.stdout, /host a .*sysctl/);
    } finally {
      sim.ssh('b', 'umount /usr/sbin/sysctl');
    }
    const ok = await cnperf(['doctor', '--hosts', sim.inventory]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /ok {3}datapath vxlan across hosts/);
  });

  it('a host whose key is not known is refused, never trusted on first use', async () => {
    const inv = path.join(tmp, 'unknown-key.yaml');
    writeFileSync(path.join(tmp, 'empty_known_hosts'), '');
    writeFileSync(
      inv,
      `hosts:\n  - {name: a, address: 198.19.10.1, identity: ` +
        `${path.join(sim.dir, 'id_ed25519')}, known_hosts: ` +
        `${path.join(tmp, 'empty_known_hosts')}}\n  - {name: b, address: 198.19.10.2, identity: ` +
        `${path.join(sim.dir, 'id_ed25519')}}\n`,
    );
    const before = states();
    const r = await cnperf(['quick', 'host', '--hosts', inv, ...RTT]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /host a \(root@198\.19\.10\.1:22\): its host key is not known or does not match/);
    assert.match(r.stderr, /cnperf never disables host key checking/);
    assert.equal(readFileSync(path.join(tmp, 'empty_known_hosts'), 'utf8'), '', 'nothing was added to known_hosts');
    assert.deepEqual(states(), before);
    assert.deepEqual(sshClients(), []);
  });

  it('an inventory with mistakes: every one at file:line:col, nothing connected', async () => {
    const bad = path.join(tmp, 'bad.yaml');
    writeFileSync(
      bad,
      'hosts:\n  - name: a\n    address: 198.19.10.300\n    prot: 22\n  - name: a\n    address: 198.19.10.2\n',
    );
    const r = await cnperf(['quick', 'host', '--hosts', bad]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`${bad}:3:14: hosts\\[0\\]\\.address: '198\\.19\\.10\\.300' is not an IPv4 or IPv6 address`),
    );
    assert.match(r.stderr, new RegExp(`${bad}:4:5: unknown key 'prot' \\(did you mean 'port'\\?\\)`));
    assert.match(r.stderr, new RegExp(`${bad}:5:11: hosts\\[1\\]\\.name: 'a' is also hosts\\[0\\]'s`));
  });
});
