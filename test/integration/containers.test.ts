/**
 * Real container runtimes: the podman datapath (podman's own network, image and containers, all
 * gone after the run — also after SIGKILL and `cnperf clean` — and netavark's host firewall
 * changes with them), and the `existing` datapath between namespaces the test made, which it must
 * leave byte for byte as they were.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cnperf, collect, hostSnapshot, ownedNetns, sleep, spawnCnperf, waitForStderr } from '../helpers/host.js';
import { ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-containers-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

const sh = (file: string, args: string[]) =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Everything podman holds that a cnperf run made: containers, networks, images, named cnperf-<run id>
 * or labelled cnperf.run — not cnperf's own OCI image (localhost/cnperf:VERSION, scripts/image.sh),
 * which a user may have built on this machine.
 */
function podmanOfCnperf(): string {
  const lines = [
    ...sh('podman', ['ps', '-a', '--format', '{{.Names}} {{.Labels}}']).split('\n'),
    ...sh('podman', ['network', 'ls', '--format', '{{.Name}} {{.Labels}}']).split('\n'),
    ...sh('podman', ['images', '--format', '{{.Repository}} {{.Labels}}']).split('\n'),
  ];
  return lines.filter((l) => /cnperf-[a-z0-9]{6}\b|cnperf\.run/.test(l)).join('\n');
}

interface Result {
  datapath: string;
  workload: string;
  status: string;
  problem: string | null;
  samples?: number;
  lost?: number;
  ip?: 4 | 6;
  rtt_ns?: { p50: number } | null;
  stream?: { rx_pps: number; tx_pps: number };
  probes?: { devices: Record<string, { rx_packets: number }> };
}
const results = (stdout: string) => (JSON.parse(stdout) as { results: Result[] }).results;

describe('podman datapath', () => {
  it(
    'carries RTT between two containers of its own network, and leaves no container, network, image, rule ' +
      'or sysctl',
    async () => {
      const hostBefore = hostSnapshot();
      const r = await cnperf(['quick', 'podman', '--count', '2000', '--interval', '200us', '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      const [res] = results(r.stdout);
      assert.equal(res!.status, 'ok', res!.problem ?? '');
      assert.equal(res!.samples, 2000);
      assert.ok(res!.rtt_ns!.p50 > 0);
      // the probes read the containers' eth0 and podman's bridge and veths in the host
      const devs = Object.keys(res!.probes!.devices);
      assert.ok(devs.some((d) => /-c\/eth0$/.test(d)) && devs.some((d) => /-h\/podman\d+$/.test(d)), devs.join(' '));
      assert.equal(podmanOfCnperf(), '');
      assert.deepEqual(hostSnapshot(), hostBefore);
    },
  );

  it('--ip 6: a network with an IPv6 subnet; the IPv6 chains and forwarding netavark turned on undone', async () => {
    // (seen by hand mid-run: NETAVARK chains in ip6tables, net.ipv6.conf.all.forwarding=1)
    const hostBefore = hostSnapshot();
    const r = await cnperf([
      'quick',
      'podman',
      '--ip',
      '6',
      '--count',
      '500',
      '--interval',
      '200us',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.deepEqual([res!.status, res!.ip, res!.samples, res!.lost], ['ok', 6, 500, 0]);
    assert.match(r.stderr, /2001:2::\/64/);
    assert.equal(podmanOfCnperf(), '');
    assert.deepEqual(hostSnapshot(), hostBefore);
  });

  it("carries a UDP stream, in the same run as cnperf's own bridge", async () => {
    const hostBefore = hostSnapshot();
    const r = await cnperf([
      'quick',
      'bridge',
      'podman',
      '--workload',
      'stream',
      '--duration',
      '2s',
      '--warmup',
      '1s',
      '--rate',
      '20000',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [own, pod] = results(r.stdout);
    assert.equal(own!.datapath, 'bridge');
    assert.equal(pod!.status, 'ok', pod!.problem ?? '');
    // what was sent arrived (how much a paced sender gets out is the VM's business: 31 % steal once cost it 20 %)
    const s = pod!.stream!;
    assert.ok(s.tx_pps > 1000 && s.rx_pps >= 0.98 * s.tx_pps, `sent ${s.tx_pps} pps, received ${s.rx_pps}`);
    // netavark's rules in the host, and how podman had to be run here, go with the result
    const podman = (
      JSON.parse(r.stdout) as {
        results: Array<{ podman?: { runtime: { runtime: string }; firewall: { rules: number } } }>;
      }
    ).results[1]!.podman!;
    assert.ok(podman.firewall.rules > 0 && /^(runc|crun)$/.test(podman.runtime.runtime), JSON.stringify(podman));
    assert.equal(podmanOfCnperf(), '');
    assert.deepEqual(hostSnapshot(), hostBefore);
  });

  it('clean removes podman objects labelled with a run whose journal is gone', async () => {
    sh('podman', [
      'network',
      'create',
      '--label',
      'cnperf.run=zzzzzz',
      '--subnet',
      '198.18.77.0/24',
      '--disable-dns',
      'cnperf-zzzzzz',
    ]);
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /removed podman network cnperf-zzzzzz \(run zzzzzz, no journal\)/);
    assert.equal(podmanOfCnperf(), '');
  });

  it(
    "--podman-driver macvlan: on a veth of the run's in the host (never a real NIC), no netavark rule, " +
      'nothing left',
    async () => {
      const hostBefore = hostSnapshot();
      const r = await cnperf([
        'quick',
        'podman',
        '--podman-driver',
        'macvlan',
        '--count',
        '1000',
        '--interval',
        '200us',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const res = (
        JSON.parse(r.stdout) as {
          results: Array<
            Result & { podman: { network: { driver: string; parent: { dev: string } }; firewall: { rules: number } } }
          >;
        }
      ).results[0]!;
      assert.equal(res.samples, 1000);
      assert.equal(res.podman.network.driver, 'macvlan');
      // the macvlans' parent is the run's own veth: it carried the containers' ARP, no real NIC did
      assert.match(res.podman.network.parent.dev, /^cnp[a-z0-9]{6}-pm$/);
      assert.ok(Object.keys(res.probes!.devices).some((d) => d.endsWith(`/${res.podman.network.parent.dev}`)));
      assert.equal(res.podman.firewall.rules, 0);
      assert.equal(podmanOfCnperf(), '');
      assert.deepEqual(hostSnapshot(), hostBefore);
    },
  );

  it(
    "SIGKILL mid-run: `cnperf clean` removes containers, network, image and netavark's leftovers from the " + 'journal',
    async () => {
      const hostBefore = hostSnapshot();
      const child = spawnCnperf(['quick', 'podman', '--count', '1000000', '--db', db]);
      const done = collect(child);
      await waitForStderr(child, /measuring/, 60_000);
      await sleep(300);
      const live = podmanOfCnperf();
      assert.notEqual(live, '');
      // a live run's objects are its own: clean leaves them (its journal's owner is alive)
      const early = await cnperf(['clean']);
      assert.equal(early.code, 0, early.stderr);
      assert.equal(podmanOfCnperf(), live);
      child.kill('SIGKILL');
      await done;
      const c = await cnperf(['clean']);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /removed podman container cnperf-[a-z0-9]{6}-c/);
      assert.match(c.stdout, /removed podman network cnperf-[a-z0-9]{6}/);
      assert.equal(podmanOfCnperf(), '');
      assert.deepEqual(ownedNetns(), []);
      assert.deepEqual(hostSnapshot(), hostBefore);
    },
  );
});

/** What `existing` must not change in a namespace: addresses, routes, rules, sysctls. */
function nsSnapshot(ns: string): string {
  const sysctls = sh('ip', ['netns', 'exec', ns, 'sysctl', '-a'])
    .split('\n')
    // counters and per-boot randomness, not configuration
    .filter((l) => l.startsWith('net.') && !/nf_conntrack_count|random|boot_id|\.stable_secret/.test(l))
    .join('\n');
  return [
    sh('ip', ['-n', ns, '-d', 'addr']),
    sh('ip', ['-n', ns, 'route', 'show', 'table', 'all']),
    sh('ip', ['-n', ns, 'rule']),
    sysctls,
  ].join('\n--\n');
}

describe('existing datapath', () => {
  const A = 'cxtest-exA';
  const B = 'cxtest-exB';
  const NOIP = 'cxtest-exN';
  before(async () => {
    for (const ns of [A, B, NOIP]) {
      sh('ip', ['netns', 'add', ns]);
      // no IPv6: its link-local address arrives (and leaves "tentative") on its own time, after the snapshot
      sh('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ]);
    }
    sh('ip', ['link', 'add', 'exa0', 'netns', A, 'type', 'veth', 'peer', 'name', 'exb0', 'netns', B]);
    sh('ip', ['-n', A, 'addr', 'add', '198.18.60.1/24', 'dev', 'exa0']);
    sh('ip', ['-n', B, 'addr', 'add', '198.18.60.2/24', 'dev', 'exb0']);
    for (const [ns, dev] of [
      [A, 'exa0'],
      [B, 'exb0'],
      [A, 'lo'],
      [B, 'lo'],
    ] as const)
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    sh('ip', ['-n', B, 'route', 'add', 'default', 'via', '198.18.60.1']);
    // the kernel reports carrier lazily: snapshot the namespaces only once it has
    for (let i = 0; i < 100 && /NO-CARRIER/.test(sh('ip', ['-n', A, 'link']) + sh('ip', ['-n', B, 'link'])); i++)
      await sleep(20);
  });
  after(() => {
    for (const ns of [A, B, NOIP]) sh('ip', ['netns', 'del', ns]);
  });

  it('measures between two named namespaces and leaves them byte for byte as they were', async () => {
    const a = nsSnapshot(A);
    const b = nsSnapshot(B);
    const r = await cnperf([
      'quick',
      'existing',
      '--client',
      `netns:${A}`,
      '--server',
      `netns:${B}`,
      '--count',
      '1000',
      '--interval',
      '200us',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.equal(res!.samples, 1000);
    assert.ok(res!.rtt_ns!.p50 > 0);
    assert.equal(nsSnapshot(A), a);
    assert.equal(nsSnapshot(B), b);
    assert.deepEqual(ownedNetns(), []);
  });

  it(
    "pid: enters a process's namespace under a name of the run's, gone afterwards; the stream workload " + 'too',
    async () => {
      const holder = execFileSync('bash', ['-c', `ip netns exec ${B} sleep 60 >/dev/null 2>&1 & echo $!`], {
        encoding: 'utf8',
      }).trim();
      try {
        const r = await cnperf([
          'quick',
          'existing',
          '--client',
          `netns:${A}`,
          '--server',
          `pid:${holder}`,
          '--workload',
          'stream',
          '--duration',
          '2s',
          '--warmup',
          '1s',
          '--rate',
          '10000',
          '--json',
          '--db',
          db,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const [res] = results(r.stdout);
        assert.equal(res!.status, 'ok', res!.problem ?? '');
        assert.ok(res!.stream!.rx_pps > 8000, `received ${res!.stream!.rx_pps} pps of 10000 offered`);
        assert.deepEqual(ownedNetns(), []);
      } finally {
        process.kill(Number(holder));
      }
    },
  );

  it(
    'says what is wrong with an endpoint, naming it: unknown namespace, no process, no IPv4, no address to ' + 'find',
    async () => {
      const cases: Array<[string[], RegExp]> = [
        [
          ['--client', 'netns:cxtest-nope', '--server', `netns:${B}`],
          /--client netns:cxtest-nope: no namespace 'cxtest-nope'/,
        ],
        [['--client', `netns:${A}`, '--server', 'pid:999999999'], /--server pid:999999999: no process 999999999/],
        [
          ['--client', `netns:${A}`, '--server', `netns:${NOIP}`],
          new RegExp(`--server netns:${NOIP}: the namespace has no global IPv4 address`),
        ],
        // A has no default route: which address is the server's is not known without --server-address
        [
          ['--client', `netns:${B}`, '--server', `netns:${A}`],
          /the namespace has no IPv4 default route; give --server-address, one of: 198\.18\.60\.1 \(exa0\)/,
        ],
        [
          ['--client', `netns:${A}`, '--server', `netns:${B}`, '--server-address', '198.18.99.9'],
          /--server-address 198\.18\.99\.9 is not an address of that namespace/,
        ],
        // whichever this machine has: no docker, docker without its engine (here), or an engine without the container
        [
          ['--client', 'docker:cxtest-none', '--server', `netns:${B}`],
          new RegExp(
            'docker:cxtest-none: (docker is not installed here|the Docker engine is not reachable|' +
              "docker has no container 'cxtest-none')",
          ),
        ],
        [['--client', 'podman:cxtest-none', '--server', `netns:${B}`], /podman has no container 'cxtest-none'/],
        [
          ['--client', 'box:1', '--server', `netns:${B}`],
          /--client 'box:1': expected netns:NAME, pid:PID, podman:CONTAINER or docker:CONTAINER/,
        ],
      ];
      for (const [args, re] of cases) {
        const r = await cnperf(['quick', 'existing', ...args, '--count', '10', '--db', db]);
        assert.notEqual(r.code, 0, args.join(' '));
        assert.match(r.stderr, re, args.join(' '));
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
      }
      assert.deepEqual(ownedNetns(), []);
    },
  );

  it('podman:NAME: a stopped container, and a running one without IPv4, are refused by name', async () => {
    const image = 'localhost/cxtest-engine:latest';
    const tar = path.join(tmp, 'engine.tar');
    sh('tar', [
      '-C',
      path.join(ROOT, 'engine'),
      '--transform',
      's,cnperf-engine-static,cnperf-engine,',
      '-cf',
      tar,
      'cnperf-engine-static',
    ]);
    sh('podman', ['import', tar, image]);
    try {
      // the ulimits this host's podman needs, as the podman datapath found them (or none)
      const probe = await cnperf(['quick', 'podman', '--count', '10', '--json', '--db', db]);
      const rt = (
        JSON.parse(probe.stdout) as {
          results: Array<{
            podman: { runtime: { runtime: string; ulimits: { nofile: number; nproc: number } | null } };
          }>;
        }
      ).results[0]!.podman.runtime;
      const limits = rt.ulimits
        ? [
            '--ulimit',
            `nofile=${rt.ulimits.nofile}:${rt.ulimits.nofile}`,
            '--ulimit',
            `nproc=${rt.ulimits.nproc}:${rt.ulimits.nproc}`,
          ]
        : [];
      sh('podman', [
        '--runtime',
        rt.runtime,
        'create',
        '--name',
        'cxtest-stopped',
        '--network',
        'none',
        ...limits,
        image,
        '/cnperf-engine',
        'pause',
      ]);
      sh('podman', [
        '--runtime',
        rt.runtime,
        'run',
        '-d',
        '--name',
        'cxtest-noip',
        '--network',
        'none',
        ...limits,
        image,
        '/cnperf-engine',
        'pause',
      ]);
      const stopped = await cnperf([
        'quick',
        'existing',
        '--client',
        'podman:cxtest-stopped',
        '--server',
        `netns:${B}`,
        '--count',
        '10',
        '--db',
        db,
      ]);
      assert.match(stopped.stderr, /podman:cxtest-stopped: the container is not running \(status created\)/);
      const noip = await cnperf([
        'quick',
        'existing',
        '--client',
        `netns:${A}`,
        '--server',
        'podman:cxtest-noip',
        '--count',
        '10',
        '--db',
        db,
      ]);
      assert.match(noip.stderr, /--server podman:cxtest-noip: the namespace has no global IPv4 address/);
      assert.deepEqual(ownedNetns(), []);
    } finally {
      sh('podman', ['rm', '-f', '-t', '0', 'cxtest-stopped', 'cxtest-noip']);
      sh('podman', ['rmi', '-f', image]);
    }
  });

  it('--server-address picks the address where the namespace has no default route', async () => {
    const r = await cnperf([
      'quick',
      'existing',
      '--client',
      `netns:${B}`,
      '--server',
      `netns:${A}`,
      '--server-address',
      '198.18.60.1',
      '--count',
      '200',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(results(r.stdout)[0]!.samples, 200);
  });
});

describe('existing datapath over IPv6', () => {
  const A = 'cxtest-ex6A';
  const B = 'cxtest-ex6B';
  before(async () => {
    for (const ns of [A, B]) sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', 'ex6a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'ex6b0', 'netns', B]);
    for (const [ns, dev, addr] of [
      [A, 'ex6a0', '2001:2:0:3c::1/64'],
      [B, 'ex6b0', '2001:2:0:3c::2/64'],
    ] as const) {
      // no link-local address: nothing arrives on its own time (DAD) between the snapshots
      sh('ip', ['-n', ns, 'link', 'set', dev, 'addrgenmode', 'none']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev, 'nodad']);
    }
    sh('ip', ['-n', B, '-6', 'route', 'add', 'default', 'via', '2001:2:0:3c::1']);
    for (let i = 0; i < 100 && /NO-CARRIER/.test(sh('ip', ['-n', A, 'link']) + sh('ip', ['-n', B, 'link'])); i++)
      await sleep(20);
  });
  after(() => {
    for (const ns of [A, B]) sh('ip', ['netns', 'del', ns]);
  });

  it('--ip 6: the server by its global IPv6 address on its default route, the namespaces unchanged', async () => {
    const a = nsSnapshot(A);
    const b = nsSnapshot(B);
    const args = ['quick', 'existing', '--client', `netns:${A}`, '--server', `netns:${B}`, '--ip', '6'];
    const r = await cnperf([...args, '--count', '300', '--interval', '200us', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.deepEqual([res!.ip, res!.samples, res!.lost], [6, 300, 0]);
    assert.equal(nsSnapshot(A), a);
    assert.equal(nsSnapshot(B), b);
    assert.deepEqual(ownedNetns(), []);
  });
});
