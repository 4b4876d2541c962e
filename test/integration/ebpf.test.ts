/**
 * The eBPF datapaths in real namespaces: xdp and tcx carry traffic with fewer stack traversals than
 * the bridge, their programs count what they did, tcx works across nodes, and nothing of theirs
 * (program, map, pin, bpffs mount) outlives a run — also after SIGKILL and `cnperf clean`. And a
 * program the verifier refuses is named with the verifier's words.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { stepsFor } from '../../src/local/steps.js';
import { bpfToolPath } from '../../src/paths.js';
import { bpfState, cnperf, hostSnapshot, ownedNetns } from '../helpers/host.js';

interface Result {
  datapath: string;
  samples: number;
  rtt_ns: { p50: number; p99: number } | null;
  probes: {
    traversals_per_packet: number | null;
    bpf: {
      programs: Array<{ name: string; runs: number; runs_per_packet: number | null; ns_per_run: number | null }>;
      actions: Record<string, number>;
    } | null;
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'cnperf-ebpf-'));
const db = path.join(dir, 'r.sqlite');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('eBPF datapaths', () => {
  it(
    'bridge vs xdp vs tcx: all carry the round trips; xdp and tcx pass fewer stacks than the bridge; their ' +
      'programs ran once per packet and redirected',
    async () => {
      const before = hostSnapshot();
      const r = await cnperf([
        'quick',
        'bridge',
        'xdp',
        'tcx',
        '--count',
        '2000',
        '--interval',
        '200us',
        '--trace',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const { results } = JSON.parse(r.stdout) as { results: Result[] };
      const by = (d: string) => results.find((x) => x.datapath === d)!;
      for (const d of ['bridge', 'xdp', 'tcx']) {
        assert.equal(by(d).samples, 2000, `${d}: every round trip came back`);
        assert.ok(by(d).rtt_ns!.p50 > 0);
      }
      const trav = (d: string) => by(d).probes.traversals_per_packet!;
      assert.ok(Math.abs(trav('bridge') - 2) < 0.1, `bridge ${trav('bridge')}`);
      assert.ok(
        trav('xdp') < trav('bridge') && trav('tcx') < trav('bridge'),
        `xdp ${trav('xdp')}, tcx ${trav('tcx')}, bridge ${trav('bridge')}`,
      );
      assert.equal(by('bridge').probes.bpf, null, 'no programs, no BPF figures');
      const xdp = by('xdp').probes.bpf!;
      const fwd = xdp.programs.find((p) => p.name === 'xdp_fwd')!;
      assert.ok(
        fwd.runs_per_packet! > 0.95 && fwd.runs_per_packet! < 1.1,
        `xdp_fwd runs once per delivered packet (${fwd.runs_per_packet})`,
      );
      assert.ok(fwd.ns_per_run! > 0, 'run time measured');
      assert.ok(xdp.actions.redirect! >= 4000, `both directions redirected: ${JSON.stringify(xdp.actions)}`);
      assert.ok(xdp.actions.peer_pass! >= 4000);
      const tcx = by('tcx').probes.bpf!;
      assert.ok(tcx.actions.redirect_peer! >= 4000, JSON.stringify(tcx.actions));
      assert.equal(tcx.actions.drop, 0);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('tcx across nodes: redirect_neigh out of one node, redirect_peer into the container on the other', async () => {
    const before = hostSnapshot();
    const r = await cnperf([
      'quick',
      'tcx',
      '--placement',
      'cross-node',
      '--count',
      '500',
      '--interval',
      '200us',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(res!.samples, 500);
    const a = res!.probes.bpf!.actions;
    assert.ok(a.redirect_neigh! >= 1000 && a.redirect_peer! >= 1000, JSON.stringify(a));
    assert.equal(res!.probes.bpf!.programs.length, 2, 'one program per node');
    assert.deepEqual(hostSnapshot(), before);
  });

  it(
    'killed right after its programs were attached: clean removes namespaces, programs, maps, pins and the ' +
      'bpffs mount',
    async () => {
      const before = hostSnapshot();
      const load = stepsFor(planDatapath('xdp')).findIndex((s) => s.argv[1] === 'load');
      assert.ok(load > 0);
      const r = await cnperf(['quick', 'xdp', '--count', '10', '--db', db], { CNPERF_TEST_FAULT: `kill@${load + 1}` });
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(ownedNetns().length > 0);
      const leftover = bpfState(false);
      assert.match(leftover, /xdp_fwd/, 'the programs were attached when it died');
      assert.match(leftover, /mounts \/run\/cnperf\/cnp[a-z0-9]{6}\/bpf/);
      const c = await cnperf(['clean']);
      assert.equal(c.code, 0, c.stderr);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it(
    "AF_XDP beside send on veth: both rates, the receiver's program native and gone afterwards, no frame " +
      'past a stack',
    async () => {
      const before = hostSnapshot();
      const r = await cnperf([
        'quick',
        'veth',
        '--workload',
        'stream',
        '--api',
        'send,xdp',
        '--duration',
        '3s',
        '--trace',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const { results } = JSON.parse(r.stdout) as {
        results: Array<{
          status: string;
          stream: {
            api: string;
            rx_pps: number;
            burst: number;
            rx_call: string;
            xdp_mode?: string;
            loss_ratio: number;
          };
          probes: { traversals_per_packet: number | null };
        }>;
      };
      const [send, xdp] = [results[0]!, results[1]!];
      assert.equal(send.stream.api, 'send');
      assert.equal(xdp.stream.api, 'xdp');
      assert.ok(
        send.stream.rx_pps > 10_000 && xdp.stream.rx_pps > 10_000,
        `${send.stream.rx_pps} / ${xdp.stream.rx_pps}`,
      );
      assert.equal(xdp.stream.rx_call, 'AF_XDP');
      assert.equal(xdp.stream.xdp_mode, 'native', 'veth runs XDP natively');
      assert.equal(xdp.stream.burst, 32, "AF_XDP's default batch");
      assert.equal(send.stream.xdp_mode, undefined);
      // redirected to the socket before any stack: nothing passes netif_receive_skb on the way in
      assert.ok(xdp.probes.traversals_per_packet! < 0.05, `xdp traversals ${xdp.probes.traversals_per_packet}`);
      assert.ok(send.probes.traversals_per_packet! > 0.9);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it("a program the kernel refuses: named, with the verifier's last lines, and nothing attached", () => {
    const src = path.join(dir, 'bad.bpf.c');
    // reads past the packet without a bounds check: the verifier refuses it
    writeFileSync(
      src,
      '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int xdp_bad(struct xdp_md *c) { ' +
        'return *(unsigned char *)(long)c->data; }\nchar LICENSE[] SEC("license") = "Dual MIT/GPL";\n',
    );
    const arch = execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim();
    execFileSync('clang', [
      '-O2',
      '-target',
      'bpf',
      `-I/usr/include/${arch}`,
      '-c',
      src,
      '-o',
      path.join(dir, 'bad.bpf.o'),
    ]);
    const r = spawnSync(bpfToolPath(), ['load', path.join(dir, 'bad.bpf.o'), path.join(dir, 'pins')], {
      input: '',
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /program xdp_bad of .*bad\.bpf\.o was refused by the kernel \(Permission denied\); the verifier's last lines:/,
    );
    assert.match(r.stderr, /invalid access to packet/);
  });
});
