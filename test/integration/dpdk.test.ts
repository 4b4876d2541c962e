/**
 * Kernel bypass (seed 001): the testpmd datapath — DPDK engines on virtio-user ports, testpmd between
 * them over vhost-user — and the ovs-dpdk one (OVS's DPDK build in testpmd's place) carry RTT and a stream, and leaves
 * no process, socket, DPDK runtime file,
 * hugepage reservation or hugetlbfs mount behind: after success, after a failure once built, after
 * SIGINT, and after SIGKILL followed by `cnperf clean`. Rates are compared in bench/, not here.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { OVS_VSWITCHD_DPDK } from '../../src/datapaths/dpdk/ovs-dpdk-switch.js';
import { dpdkEnginePath } from '../../src/paths.js';
import { cnperf, collect, hostSnapshot, liveProcesses, sleep, spawnCnperf, waitForStderr } from '../helpers/host.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-dpdk-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  datapath: string;
  status: string;
  problem: string | null;
  samples: number;
  rtt_ns: { p50: number } | null;
  stream?: { api: string; burst: number; rx_pps: number; tx_pps: number };
}
const results = (stdout: string) => (JSON.parse(stdout) as { results: Result[] }).results;
const skip = !existsSync(dpdkEnginePath()) ? 'DPDK is not installed (the DPDK engine is not built)' : false;

describe('kernel-bypass datapaths: testpmd, ovs-dpdk', { skip }, () => {
  it('carries RTT between two DPDK engines through testpmd, and gives back what it took', async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'testpmd', '--count', '2000', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'ok', res!.problem ?? '');
    assert.equal(res!.samples, 2000);
    assert.ok(res!.rtt_ns!.p50 > 0);
    console.log(`# testpmd rtt p50 ${res!.rtt_ns!.p50} ns`);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('carries RTT over IPv6: the engines build IPv6 frames, and both switches carry them', async () => {
    const before = hostSnapshot();
    const switches = existsSync(OVS_VSWITCHD_DPDK) ? ['testpmd', 'ovs-dpdk'] : ['testpmd'];
    const r = await cnperf(['quick', ...switches, '--ip', '6', '--count', '1000', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    for (const res of results(r.stdout)) {
      assert.equal(res.status, 'ok', res.problem ?? '');
      assert.equal(res.samples, 1000, res.datapath);
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('carries a stream: the sender runs DPDK bursts of 32 unless told, the result says so', async () => {
    const before = hostSnapshot();
    const r = await cnperf([
      'quick',
      'testpmd',
      '--workload',
      'stream',
      '--size',
      '64',
      '--duration',
      '3s',
      '--warmup',
      '1s',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'ok', res!.problem ?? '');
    assert.equal(res!.stream!.api, 'dpdk');
    assert.equal(res!.stream!.burst, 32);
    assert.ok(
      res!.stream!.rx_pps > 0 && res!.stream!.rx_pps <= res!.stream!.tx_pps * 1.01,
      JSON.stringify(res!.stream),
    );
    const one = results(
      (
        await cnperf([
          'quick',
          'testpmd',
          '--workload',
          'stream',
          '--burst',
          '4',
          '--duration',
          '2s',
          '--warmup',
          '1s',
          '--json',
          '--db',
          db,
        ])
      ).stdout,
    )[0]!;
    assert.equal(one.stream!.burst, 4);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('--pairs 2: a port per container, the pairs measured in turn through one testpmd', async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'testpmd', '--pairs', '2', '--count', '300', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'ok', res!.problem ?? '');
    assert.equal(res!.samples, 600);
    assert.deepEqual(hostSnapshot(), before);
  });

  it(
    'load: an open-loop probe over DPDK under a DPDK stream, each on its own port; the result says who ' +
      'shared CPUs',
    async () => {
      const before = hostSnapshot();
      const r = await cnperf([
        'quick',
        'testpmd',
        '--workload',
        'load',
        '--count',
        '500',
        '--interval',
        '997us',
        '--rate',
        '20k',
        '--json',
        '--db',
        db,
      ]);
      const res = (
        JSON.parse(r.stdout) as {
          results: Array<
            Result & { load: { timing: string }; dpdk: { engine_cpus: Record<string, number>; shared: string | null } }
          >;
        }
      ).results[0]!;
      // partial (exit 1) when the yielding load sender, starved on two CPUs, ends before the probe does
      assert.ok(
        res.status === 'ok' ? r.code === 0 : res.status === 'partial' && r.code === 1,
        `${res.status} (exit ${r.code}): ${res.problem}`,
      );
      assert.equal(res.load.timing, 'open-loop');
      assert.equal(res.samples, 500);
      assert.ok(res.stream!.rx_pps > 0);
      assert.deepEqual(Object.keys(res.dpdk.engine_cpus).sort(), ['client', 'load receiver', 'load sender', 'server']);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('a workload the DPDK engine cannot run is refused before anything is built', async () => {
    const r = await cnperf(['quick', 'testpmd', '--workload', 'rr', '--count', '10', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /--workload rr over testpmd: cnperf's DPDK engine runs rtt, stream, sweep and load \(TCP needs a kernel stack\)/,
    );
  });

  it('an engine that fails after the build fails the run, naming why, and leaves nothing', async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'testpmd', '--size', '2000', '--count', '10', '--json', '--db', db]);
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'failed');
    assert.match(res!.problem!, /--size 2000: a frame carries at most 1472 bytes/);
    // what teardown said goes with a leftover: this test flaked in three sessions without saying why
    assert.deepEqual(hostSnapshot(), before, `left behind; cnperf's stderr:\n${r.stderr.slice(-3000)}`);
  });

  it(
    "ovs-dpdk: RTT and a stream through OVS's DPDK datapath; its daemons stop, its pages come back",
    { skip: existsSync(OVS_VSWITCHD_DPDK) ? false : 'openvswitch-switch-dpdk is not installed' },
    async () => {
      const before = hostSnapshot();
      const r = await cnperf(['quick', 'ovs-dpdk', '--count', '2000', '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      const [res] = results(r.stdout);
      assert.equal(res!.status, 'ok', res!.problem ?? '');
      assert.equal(res!.samples, 2000);
      const st = results(
        (
          await cnperf([
            'quick',
            'ovs-dpdk',
            '--workload',
            'stream',
            '--duration',
            '2s',
            '--warmup',
            '1s',
            '--json',
            '--db',
            db,
          ])
        ).stdout,
      )[0]!;
      assert.equal(st.status, 'ok', st.problem ?? '');
      assert.equal(st.stream!.api, 'dpdk');
      assert.ok(st.stream!.rx_pps > 0);
      console.log(`# ovs-dpdk rtt p50 ${res!.rtt_ns!.p50} ns, stream ${st.stream!.rx_pps} pps received`);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  const switches = [
    ['testpmd', 'dpdk-testpmd'],
    ...(existsSync(OVS_VSWITCHD_DPDK) ? [['ovs-dpdk', 'ovs-vswitchd-dp']] : []),
  ] as const;
  for (const [datapath, daemon] of switches) {
    for (const sig of ['SIGINT', 'SIGKILL'] as const) {
      it(
        `${datapath}: ` +
          `${sig} mid-run${
            sig === 'SIGKILL' ? ', then `cnperf clean`,' : ''
          } stops the switch and gives back hugepages and mount`,
        async () => {
          const before = hostSnapshot();
          const child = spawnCnperf(['quick', datapath, '--count', '1000000', '--interval', '1ms', '--db', db]);
          const done = collect(child);
          await waitForStderr(child, /measuring/, 60_000);
          await sleep(300);
          assert.equal(liveProcesses([daemon]).length, 1, `${daemon} runs`);
          child.kill(sig);
          const r = await done;
          assert.notEqual(r.code, 0);
          if (sig === 'SIGKILL') {
            const c = await cnperf(['clean']);
            assert.equal(c.code, 0, c.stderr);
            assert.match(c.stdout, /2 MB hugepages back to \d+/);
          }
          assert.deepEqual(hostSnapshot(), before);
        },
      );
    }
  }
});
