/**
 * The pure parts of the container datapaths: endpoint specs, podman's probe arithmetic, netavark's
 * rules as iptables lists them (captured), address reading (captured), and the plans of podman and
 * existing — adopted namespaces that no step creates or changes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseGlobalAddresses } from '../../src/datapaths/existing/addresses.js';
import { parseEndpointSpec } from '../../src/datapaths/existing/endpoint.js';
import { checkDatapathOptions, getDatapath } from '../../src/datapaths/registry.js';
import { stepsFor, type UndoAction } from '../../src/local/steps.js';
import { isNetavarkRule, otherForwarders, parseIptablesS, shellWords } from '../../src/datapaths/podman/firewall.js';
import type { CommandRunner } from '../../src/local/command.js';
import { undoAll } from '../../src/local/undo.js';
import { firstLine, hardLimits, refusedLimit, ulimitArgs } from '../../src/datapaths/podman/podman-runtime.js';
import { validateTopology } from '../../src/topology/well-formed.js';
import { HostCommandError, UserError } from '../../src/util/errors.js';
import { FIXTURES } from '../helpers/paths.js';
import { PODMAN_PART } from '../../src/datapaths/podman/podman-plan.js';

const fixture = (f: string) => readFileSync(path.join(FIXTURES, f), 'utf8');

describe('endpoint specs (--client, --server)', () => {
  it('reads the four forms', () => {
    assert.deepEqual(parseEndpointSpec('netns:A', '--client'), { kind: 'netns', name: 'A' });
    assert.deepEqual(parseEndpointSpec('pid:4242', '--client'), { kind: 'pid', pid: 4242 });
    assert.deepEqual(parseEndpointSpec('podman:web-1', '--server'), { kind: 'podman', name: 'web-1' });
    assert.deepEqual(parseEndpointSpec('docker:3f2a9c', '--server'), { kind: 'docker', name: '3f2a9c' });
  });

  it('refuses anything else, naming the flag and the forms', () => {
    for (const [text, re] of [
      ['A', /--client 'A': expected netns:NAME, pid:PID, podman:CONTAINER or docker:CONTAINER/],
      ['pid:0', /a process id is a positive number/],
      ['pid:12x', /a process id is a positive number/],
      ['netns:../etc', /is not a namespace name/],
      ['podman:a b', /is not a container name or id/],
    ] as const)
      assert.throws(
        () => parseEndpointSpec(text, '--client'),
        (e: unknown) => e instanceof UserError && re.test(e.message),
        text,
      );
  });
});

describe('podman probe arithmetic', () => {
  it('reads the hard limits from /proc/self/limits (captured)', () => {
    assert.deepEqual(hardLimits(fixture('proc-limits.txt')), { nofile: 20000, nproc: 96364 });
    assert.deepEqual(
      hardLimits(
        'Max open files            1024                 unlimited            files\nMax processes 10 20 processes\n',
      ),
      { nofile: 1 << 20, nproc: 20 },
    );
  });

  it("names the limit runc could not set, from podman's own message (captured), without the syslog noise", () => {
    const stderr = fixture('podman-run-rlimit.stderr');
    const why = firstLine(new HostCommandError(['podman', 'run'], stderr, 126));
    assert.match(why, /^runc: runc create failed: .*error setting rlimit type 7/);
    assert.equal(refusedLimit(why), 'nofile');
    assert.equal(refusedLimit('error setting rlimit type 6: operation not permitted'), 'nproc');
    assert.equal(refusedLimit('crun: cgroups in hybrid mode not supported'), null);
  });

  it('passes explicit ulimits only when the probe needed them', () => {
    const rt = { runtime: 'runc', cgroup_manager: 'cgroupfs', tried: [] };
    assert.deepEqual(ulimitArgs({ ...rt, ulimits: null }), []);
    assert.deepEqual(ulimitArgs({ ...rt, ulimits: { nofile: 20000, nproc: 24091 } }), [
      '--ulimit',
      'nofile=20000:20000',
      '--ulimit',
      'nproc=24091:24091',
    ]);
  });
});

describe("netavark's rules in the host (iptables -S, captured)", () => {
  it('splits a rule with a quoted comment into its words', () => {
    assert.deepEqual(
      shellWords('-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD'),
      ['-A', 'FORWARD', '-m', 'comment', '--comment', 'netavark firewall plugin rules', '-j', 'NETAVARK_FORWARD'],
    );
  });

  it("finds netavark's chains and rules, and nothing else", () => {
    const filter = parseIptablesS(fixture('netavark-iptables-filter.txt'));
    assert.deepEqual(filter.chains, ['INPUT', 'FORWARD', 'OUTPUT', 'NETAVARK_FORWARD']);
    assert.equal(filter.rules.filter(isNetavarkRule).length, 3);
    const nat = parseIptablesS(fixture('netavark-iptables-nat.txt'));
    assert.deepEqual(
      nat.chains.filter((c) => c.startsWith('NETAVARK')),
      ['NETAVARK-D16A79E2381BE', 'NETAVARK-HOSTPORT-DNAT', 'NETAVARK-HOSTPORT-MASQ', 'NETAVARK-HOSTPORT-SETMARK'],
    );
    assert.equal(nat.rules.filter(isNetavarkRule).length, 8);
    assert.ok(!isNetavarkRule(['FORWARD', '-s', '198.18.0.0/24', '-j', 'ACCEPT']));
  });
});

describe("netavark's residue undone: ip_forward only when the run changed it and nothing else forwards", () => {
  const DOCKER_FILTER = '-P INPUT ACCEPT\n-P FORWARD DROP\n-N DOCKER\n-N DOCKER-USER\n-A FORWARD -j DOCKER-USER\n';
  /** The host as the undo sees it, answered from memory; what it was told to write is recorded. */
  function host(o: { forward: string; filter?: string; nftTables?: string[] }): {
    run: CommandRunner;
    wrote: string[];
  } {
    const wrote: string[] = [];
    const answers: Record<string, string> = {
      'podman ps --format {{.Names}}': '',
      'iptables --version': 'iptables v1.8.9 (legacy)',
      'iptables -t filter -S': o.filter ?? '-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n',
      'iptables -t nat -S': '-P PREROUTING ACCEPT\n',
      'nft -j list tables': JSON.stringify({
        nftables: (o.nftTables ?? []).map((n) => ({ table: { family: n.split(' ')[0], name: n.split(' ')[1] } })),
      }),
      'sysctl -n net.ipv4.ip_forward': o.forward,
    };
    const run: CommandRunner = async (argv) => {
      const k = argv.join(' ');
      if (k.startsWith('sysctl -qw')) return (wrote.push(k), { stdout: '', stderr: '' });
      if (!(k in answers)) throw new Error(`unexpected command: ${k}`);
      return { stdout: answers[k]!, stderr: '' };
    };
    return { run, wrote };
  }
  const entry: Extract<UndoAction, { op: 'netavark-residue' }> = {
    op: 'netavark-residue',
    before: {
      chains: ['filter INPUT', 'filter FORWARD', 'filter OUTPUT', 'nat PREROUTING'],
      tables: [],
      ipForward: '0',
    },
  };

  it('turned on by the run, nothing else forwarding: set back to 0', async () => {
    const h = host({ forward: '1' });
    const r = await undoAll([entry], h.run);
    assert.deepEqual([r.failed, h.wrote], [[], ['sysctl -qw net.ipv4.ip_forward=0']]);
  });

  it('Docker or Kubernetes forward now (their chains, FORWARD rules, nft tables): left on', async () => {
    for (const o of [
      { filter: DOCKER_FILTER },
      { filter: '-P FORWARD ACCEPT\n-A FORWARD -s 10.244.0.0/16 -j ACCEPT\n' },
      { nftTables: ['ip filter', 'inet kube-proxy'] },
    ]) {
      const h = host({ forward: '1', ...o });
      const r = await undoAll([entry], h.run);
      assert.deepEqual([r.failed, h.wrote], [[], []], JSON.stringify(o));
    }
    assert.deepEqual(otherForwarders([DOCKER_FILTER], ['ip nat']), [
      'iptables chain DOCKER',
      'iptables chain DOCKER-USER',
      'a FORWARD rule (FORWARD -j DOCKER-USER)',
    ]);
  });

  it('already back, or not the value the run set, or a journal value cnperf never saved: not written', async () => {
    for (const forward of ['0', '2']) {
      const h = host({ forward });
      await undoAll([entry], h.run);
      assert.deepEqual(h.wrote, [], forward);
    }
    const h = host({ forward: '1' });
    const r = await undoAll([{ ...entry, before: { ...entry.before, ipForward: '0; reboot' } }], h.run);
    assert.match(r.failed[0]?.error ?? '', /refusing to set net\.ipv4\.ip_forward to '0; reboot'/);
    assert.deepEqual(h.wrote, []);
  });
});

describe('reading addresses', () => {
  it("a container's global IPv4 addresses (ip -4 -j addr, captured)", () => {
    assert.deepEqual(parseGlobalAddresses(fixture('ip-addr-global-podman.json')), [{ dev: 'eth0', ip: '198.18.0.3' }]);
    assert.deepEqual(parseGlobalAddresses(''), []);
  });
  it("a namespace's global IPv6 addresses (ip -6 -j addr, captured): that family's only", () => {
    assert.deepEqual(parseGlobalAddresses(fixture('ip-addr-global6.json'), 6), [{ dev: 'fx0', ip: '2001:2:0:3c::2' }]);
    assert.deepEqual(parseGlobalAddresses(fixture('ip-addr-global6.json'), 4), []);
  });
});

describe('podman and existing plans', () => {
  it('podman: the containers and the host are adopted namespaces; no step creates or changes them', () => {
    const t = getDatapath('podman').plan({ runId: 'abc123', pairs: 2 });
    assert.deepEqual(validateTopology(t), []);
    assert.deepEqual(
      t.namespaces.map((n) => [n.name, n.role, !!n.adopted]),
      [
        ['cnpabc123-h', 'node', true],
        ['cnpabc123-c', 'client', true],
        ['cnpabc123-s', 'server', true],
        ['cnpabc123-c1', 'client', true],
        ['cnpabc123-s1', 'server', true],
      ],
    );
    assert.deepEqual(
      PODMAN_PART.of(t)!.containers.map((c) => c.name),
      ['cnperf-abc123-c', 'cnperf-abc123-s', 'cnperf-abc123-c1', 'cnperf-abc123-s1'],
    );
    assert.equal(PODMAN_PART.of(t)!.network.subnet, '198.18.0.0/24');
    assert.equal(
      PODMAN_PART.of(getDatapath('podman').plan({ runId: 'abc123', pairs: 200 }))!.network.subnet,
      '198.18.0.0/16',
    );
    assert.deepEqual(stepsFor(t), []);
  });

  it(
    "podman --podman-driver macvlan: the parent is a veth of the run's, its peer in a stub namespace of " + "the run's",
    () => {
      const t = getDatapath('podman').plan({ runId: 'abc123', own: { podman: { driver: 'macvlan' } } });
      assert.deepEqual(PODMAN_PART.of(t)!.network.parent, {
        dev: 'cnpabc123-pm',
        peer: 'cnpabc123-pw',
        stub: 'cnpabc123-w',
      });
      // the stub is a namespace of the run's: made (and removed) by the steps, unlike the adopted ones
      assert.deepEqual(
        stepsFor(t)
          .filter((s) => s.undo?.op === 'del-netns')
          .map((s) => s.argv.join(' ')),
        ['ip netns add cnpabc123-w'],
      );
    },
  );

  it('podman refuses options that would change what podman built', () => {
    assert.throws(
      () => checkDatapathOptions(getDatapath('podman'), { runId: 'abc123', offload: { gro: 'off' } }),
      /devices are podman's to set up: --offload/,
    );
  });

  it(
    "existing: a named namespace keeps its name, the others get the run's; one namespace for both ends is " +
      'declared once',
    () => {
      const d = getDatapath('existing');
      const t = d.plan({ runId: 'abc123', own: { existing: { client: 'netns:A', server: 'pid:42' } } });
      assert.deepEqual(t.namespaces, [
        { name: 'A', role: 'client', adopted: { what: 'namespace A' } },
        { name: 'cnpabc123-s', role: 'server', adopted: { what: 'process 42' } },
      ]);
      assert.deepEqual(validateTopology(t), []);
      assert.deepEqual(stepsFor(t), []);
      const same = d.plan({ runId: 'abc123', own: { existing: { client: 'netns:A', server: 'netns:A' } } });
      assert.equal(same.namespaces.length, 1);
    },
  );

  it('existing refuses what it cannot do, before anything runs', () => {
    const check =
      (existing: Record<string, string>, extra = {}) =>
      () =>
        checkDatapathOptions(getDatapath('existing'), { runId: 'abc123', own: { existing }, ...extra });
    assert.throws(check({ client: 'netns:A' }), /give --client and --server/);
    assert.throws(check({ client: 'netns:A', server: 'netns:B' }, { pairs: 2 }), /--pairs does not apply/);
    assert.throws(
      check({ client: 'netns:A', server: 'netns:B' }, { mtu: 9000, rps: '3' }),
      /changes nothing in the namespaces it measures between, and --mtu, --rps would/,
    );
    assert.throws(check({ client: 'netns:A', server: 'vm:B' }), /--server 'vm:B': expected netns:NAME/);
  });
});
