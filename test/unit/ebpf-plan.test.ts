import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pairMac } from '../../src/datapaths/ebpf/ebpf.js';
import { bpfDelta, parseBpfStats } from '../../src/probes/bpf.js';
import { FIXTURES } from '../helpers/paths.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import { MAX_PAIRS } from '../../src/datapaths/types.js';
import { stepsFor } from '../../src/local/steps.js';
import { planQuick } from '../../src/input/quick-plan.js';
import { type Link } from '../../src/topology/model.js';
import { validateTopology } from '../../src/topology/well-formed.js';

const veths = (links: Link[]) => links.filter((l): l is Extract<Link, { kind: 'veth' }> => l.kind === 'veth');

describe('eBPF datapath planning', () => {
  it('pair MACs: locally administered unicast, unique over every pair and end', () => {
    const all = new Set<string>();
    for (let i = 0; i < MAX_PAIRS; i++)
      for (const side of ['c', 's'] as const) for (const inside of [true, false]) all.add(pairMac(i, side, inside));
    assert.equal(all.size, MAX_PAIRS * 4);
    for (const m of all) {
      assert.match(m, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.equal(parseInt(m.slice(0, 2), 16) & 3, 2, `${m}: locally administered, not multicast`);
    }
  });

  it(
    'xdp: every node-side end forwards (xdp_fwd, a DEVMAP port), every container end runs xdp_peer, every ' +
      'container MAC maps to its node-side end',
    () => {
      const t = planDatapath('xdp', 'abc123', 3);
      assert.equal(t.bpf?.length, 1);
      const load = t.bpf![0]!;
      assert.equal(load.object, 'fwd_xdp');
      assert.equal(load.pinDir, `${load.root}/${load.netns}`);
      assert.match(load.root, /\/cnpabc123\/bpf$/);
      const req = (op: string) => load.requests.filter((r) => r[0] === op);
      const containerEnds = veths(t.links);
      assert.equal(containerEnds.length, 6);
      for (const l of containerEnds) {
        assert.ok(l.mac && l.peerMac, `${l.name} has planned MACs`);
        assert.ok(
          req('xdp').some((r) => r[1] === l.peerNetns && r[2] === l.peer && r[3] === 'xdp_fwd'),
          `${l.peer} forwards`,
        );
        assert.ok(
          req('xdp').some((r) => r[1] === l.netns && r[2] === l.name && r[3] === 'xdp_peer'),
          `${l.name} takes redirected frames`,
        );
        assert.ok(req('port').some((r) => r[2] === l.peer));
        assert.deepEqual(
          req('fdb').find((r) => r[2] === l.mac),
          ['fdb', load.netns, l.mac, l.peer],
        );
      }
      assert.deepEqual(t.offload, { tx: 'off' }, 'the sender fills checksums: XDP frames carry no pending checksum');
      assert.deepEqual(validateTopology(t), []);
    },
  );

  it('tcx same-node: no forwarding and no routes on the node: the program is the only way through', () => {
    const t = planDatapath('tcx', 'abc123', 2);
    const node = t.bpf![0]!.netns;
    assert.equal(t.sysctls!.filter((c) => c.key === 'net.ipv4.ip_forward').length, 0);
    assert.equal(t.routes!.filter((r) => r.netns === node).length, 0);
    const load = t.bpf![0]!;
    for (const p of t.pairs) {
      for (const ep of [p.client, p.server]) {
        const l = veths(t.links).find((x) => x.netns === ep.netns)!;
        assert.deepEqual(
          load.requests.find((r) => r[0] === 'local' && r[2] === ep.ip),
          ['local', node, ep.ip, l.peer, l.mac, l.peerMac],
        );
        assert.ok(load.requests.some((r) => r[0] === 'tc' && r[2] === l.peer));
      }
    }
    assert.equal(load.requests.filter((r) => r[0] === 'remote').length, 0);
    assert.deepEqual(validateTopology(t), []);
  });

  it(
    'tcx cross-node: one object per node, NIC ingress attached, remote containers reached through the ' +
      "other node's underlay address",
    () => {
      const t = planDatapath('tcx', 'abc123', 1, { placement: 'cross-node' });
      const [a, b] = t.bpf!;
      assert.ok(a && b && a.netns !== b.netns && a.pinDir !== b.pinDir && a.root === b.root);
      const under = (ns: string) => t.addresses.find((x) => x.netns === ns && x.cidr.startsWith('198.19.'))!;
      assert.deepEqual(
        a.requests.find((r) => r[0] === 'remote'),
        ['remote', a.netns, t.endpoints.server.ip, under(a.netns).dev, under(b.netns).cidr.split('/')[0]],
      );
      assert.deepEqual(
        b.requests.find((r) => r[0] === 'remote'),
        ['remote', b.netns, t.endpoints.client.ip, under(b.netns).dev, under(a.netns).cidr.split('/')[0]],
      );
      assert.ok(
        a.requests.some((r) => r[0] === 'tc' && r[2] === under(a.netns).dev),
        "the NIC's ingress redirects arrivals to their container",
      );
    },
  );

  it("steps: the run's own bpffs is mounted (journaled) before the loaders run, one per node", () => {
    const steps = stepsFor(planDatapath('tcx', 'abc123', 1, { placement: 'cross-node' }));
    const mount = steps.findIndex((s) => s.argv[0] === 'mount');
    assert.ok(mount > 0);
    assert.deepEqual(steps[mount]!.argv.slice(0, 4), ['mount', '-t', 'bpf', '-o']);
    assert.equal(steps[mount]!.undo?.op, 'umount-bpffs');
    const loads = steps.map((s, i) => [s, i] as const).filter(([s]) => s.argv[1] === 'load');
    assert.equal(loads.length, 2);
    assert.ok(loads.every(([, i]) => i > mount));
    assert.ok(
      steps.some((s) => s.undo?.op === 'rm-dir' && steps[mount]!.argv.at(-1)!.startsWith(s.undo.path + '/')),
      'the run directory that holds it is removed too',
    );
  });

  it('--api xdp is refused before anything is built where an AF_XDP receiver cannot work, saying why', () => {
    assert.throws(
      () => planQuick(['xdp'], { workload: 'stream', api: 'xdp' }),
      /datapath 'xdp' with --api xdp: .*needs that hook for its own/,
    );
    assert.throws(
      () => planQuick(['veth', 'tcx'], { workload: 'rtt', api: 'send,xdp' }),
      /datapath 'tcx' with --api xdp: bpf_redirect_peer/,
    );
    assert.equal(
      planQuick(['tcx'], { workload: 'stream', api: 'raw-ring' }).jobs.length,
      1,
      "raw frames do reach tcx's containers",
    );
    assert.equal(planQuick(['veth', 'bridge'], { workload: 'stream', api: 'xdp' }).jobs.length, 1);
  });

  it('a request naming a device the plan does not have is caught before anything is built', () => {
    const t = planDatapath('xdp', 'abc123');
    t.bpf![0]!.requests.push(['xdp', t.bpf![0]!.netns, 'nosuchdev', 'xdp_fwd']);
    assert.match(validateTopology(t).join('\n'), /undeclared device 'nosuchdev'/);
  });
});

describe('BPF program statistics', () => {
  // `cnperf-bpf stats` on an xdp datapath (topo up xdp), before and after 201 round trips with
  // run statistics held on: 402 datagrams, an ARP request (flooded) and its reply.
  const fx = (n: string) => parseBpfStats(readFileSync(path.join(FIXTURES, n), 'utf8'));

  it('per program: runs, mean run time and runs per delivered packet over the window; actions summed', () => {
    const topo = planDatapath('xdp', 'uto0ai');
    const [before, after] = [fx('bpf-stats-before.txt'), fx('bpf-stats-after.txt')];
    topo.bpf![0]!.pinDir = after[0]!.dir; // the capture's state directory
    const r = bpfDelta(topo, before, after, 404);
    assert.deepEqual(
      r.programs.map((p) => [p.name, p.node, p.runs, p.ns_per_run, p.runs_per_packet]),
      [
        ['xdp_fwd', 'cnputo0ai-n', 404, 236.6, 1],
        ['xdp_peer', 'cnputo0ai-n', 404, 45.8, 1],
      ],
    );
    assert.deepEqual(r.actions, { redirect: 403, flood: 1, pass: 0, drop: 0, peer_pass: 404 });
  });

  it('nothing ran, or nothing was delivered: "not measured", never 0', () => {
    const before = fx('bpf-stats-before.txt');
    const r = bpfDelta(planDatapath('xdp', 'uto0ai'), before, before, 0);
    assert.ok(r.programs.every((p) => p.runs === 0 && p.ns_per_run === null && p.runs_per_packet === null));
  });
});
