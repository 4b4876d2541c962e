/**
 * VM endpoints (seed 003): a qemu guest behind a tap takes an endpoint's place on bridge and routed,
 * carries RTT and stream traffic, and leaves no qemu, tap, socket or file behind — after success, a
 * failed boot, SIGINT, and SIGKILL followed by `cnperf clean`. Boot and image build times are printed,
 * not asserted (TCG here: about 2.5 s a boot).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  cnperf,
  collect,
  hostSnapshot,
  liveProcesses,
  ownedNetns,
  sleep,
  spawnCnperf,
  waitForStderr,
} from '../helpers/host.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-vm-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  status: string;
  problem: string | null;
  samples: number;
  ip: 4 | 6;
  lost: number;
  rtt_ns: { p50: number; p99: number } | null;
  stream?: { rx_pps: number; tx_pps: number };
  vm?: {
    accel: string;
    endpoints: { client: string; server: string };
    boot_ms: number[];
    image_build_ms: number;
    vcpus: number;
    memory_mb: number;
    net_backend: string;
  };
}
const results = (stdout: string) => (JSON.parse(stdout) as { results: Result[] }).results;
const qemus = () => liveProcesses(['qemu-system-x86']);

/** A run with two guests that measures for as long as it is let: returned once it measures. */
async function midRun() {
  const child = spawnCnperf(['quick', 'bridge', '--endpoint', 'vm', '--count', '1000000', '--db', db]);
  const done = collect(child);
  await waitForStderr(child, /measuring/, 120_000);
  await sleep(500);
  return { child, done };
}

describe('VM endpoints', () => {
  it('bridge --endpoint vm: both endpoints in guests carry RTT; the result says how they ran', async () => {
    const before = hostSnapshot();
    const r = await cnperf([
      'quick',
      'bridge',
      '--endpoint',
      'vm',
      '--count',
      '500',
      '--interval',
      '10ms',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'ok', res!.problem ?? '');
    assert.equal(res!.samples, 500);
    assert.ok(res!.rtt_ns!.p50 > 0);
    assert.match(res!.vm!.accel, /^(kvm|tcg)$/);
    assert.deepEqual(res!.vm!.endpoints, { client: 'vm', server: 'vm' });
    assert.equal(res!.vm!.boot_ms.length, 2);
    console.log(
      `# boot ${res!.vm!.boot_ms.join(
        ', ',
      )} ms (${res!.vm!.accel}), image build ${res!.vm!.image_build_ms} ms, rtt p50 ${res!.rtt_ns!.p50} ns`,
    );
    assert.deepEqual(qemus(), []);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('--ip 6 with a VM server, routed and macvtap: the guest configures IPv6 (no DAD); none lost', async () => {
    const before = hostSnapshot();
    // routed: a link-local gateway in the guest; macvtap: neighbour solicitations reach the guest through
    // its macvtap (all multicast passed: the guest's solicited-node groups are joined where the host cannot see)
    const r = await cnperf([
      ...['quick', 'routed', 'macvtap', '--placement', 'cross-node', '--ip', '6', '--server-endpoint', 'vm'],
      ...['--count', '200', '--interval', '10ms', '--json', '--db', db],
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const res of results(r.stdout)) {
      assert.equal(res.status, 'ok', res.problem ?? '');
      assert.deepEqual([res.ip, res.samples, res.lost], [6, 200, 0]);
      assert.deepEqual(res.vm!.endpoints, { client: 'container', server: 'vm' });
    }
    assert.deepEqual(qemus(), []);
    assert.deepEqual(hostSnapshot(), before);
  });

  it(
    "macvtap, cross-node: a container and a VM on macvtaps of their nodes' NICs (KubeVirt's binding), the VM's " +
      'NIC backed by its /dev/tapN; nothing left',
    async () => {
      const before = hostSnapshot();
      const taps = () => readdirSync('/dev').filter((n) => /^tap\d+$/.test(n));
      const tapsBefore = taps();
      const r = await cnperf([
        ...['quick', 'macvtap', '--placement', 'cross-node', '--server-endpoint', 'vm'],
        ...['--count', '300', '--interval', '10ms', '--json', '--db', db],
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [res] = results(r.stdout);
      assert.equal(res!.status, 'ok', res!.problem ?? '');
      assert.equal(res!.samples, 300);
      assert.deepEqual(res!.vm!.endpoints, { client: 'container', server: 'vm' });
      assert.equal(res!.vm!.net_backend, 'macvtap');
      assert.deepEqual(qemus(), []);
      // devtmpfs removes a device's node in its own thread, moments after the device is gone
      for (let i = 0; i < 20 && taps().length > tapsBefore.length; i++) await sleep(50);
      assert.deepEqual(taps(), tapsBefore, "the macvtap's character device went with it");
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('a container client streams to a VM server on routed; the table says when TCG emulated it', async () => {
    const before = hostSnapshot();
    const r = await cnperf([
      'quick',
      'routed',
      '--client-endpoint',
      'container',
      '--server-endpoint',
      'vm',
      '--workload',
      'stream',
      '--duration',
      '3s',
      '--warmup',
      '1s',
      '--rate',
      '5000',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /routed ctr→vm/);
    assert.match(r.stdout, /VM endpoints/);
    if (/emulated \(TCG\)/.test(r.stdout)) assert.match(r.stdout, /latencies dominated by emulation/);
    const run = /\b([a-z0-9]{6})\s*$/m.exec(r.stdout.split('\n').find((l) => l.includes('routed ctr→vm'))!)![1]!;
    const show = await cnperf(['results', 'show', run, '--json', '--db', db]);
    assert.equal(show.code, 0, show.stderr);
    const last = JSON.parse(show.stdout) as Result;
    assert.equal(last.status, 'ok', last.problem ?? '');
    assert.ok(last.stream!.rx_pps > 2500, `received ${last.stream!.rx_pps} pps of 5000 offered`);
    assert.deepEqual(last.vm!.endpoints, { client: 'container', server: 'vm' });
    assert.deepEqual(qemus(), []);
    assert.deepEqual(hostSnapshot(), before);
  });

  it("a boot that misses its deadline fails the run with the console's last lines, and leaves nothing", async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'bridge', '--server-endpoint', 'vm', '--count', '10', '--json', '--db', db], {
      CNPERF_VM_BOOT_TIMEOUT_MS: '200',
    });
    const [res] = results(r.stdout);
    assert.equal(res!.status, 'failed');
    assert.match(res!.problem!, /did not boot .*its console \(.*console\.log\) ended/s);
    assert.deepEqual(qemus(), []);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('a datapath without a place for a tap refuses before anything is built', async () => {
    const r = await cnperf(['quick', 'veth', '--endpoint', 'vm', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /veth cannot take a VM endpoint: .*joined by one veth pair directly/);
    assert.match(r.stderr, /datapaths that can: bridge, routed/);
    assert.deepEqual(ownedNetns(), []);
  });

  it('SIGINT mid-run stops the guests and removes everything', async () => {
    const before = hostSnapshot();
    const { child, done } = await midRun();
    assert.equal(qemus().length, 2);
    child.kill('SIGINT');
    const r = await done;
    assert.notEqual(r.code, 0);
    assert.deepEqual(qemus(), []);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('SIGKILL mid-run: `cnperf clean` stops the guests from the journal and removes taps and files', async () => {
    const before = hostSnapshot();
    const { child, done } = await midRun();
    child.kill('SIGKILL');
    await done;
    assert.equal(qemus().length, 2, 'the guests outlive a SIGKILLed cnperf (they are daemons)');
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /qemu-system-x86/);
    assert.deepEqual(qemus(), []);
    assert.deepEqual(ownedNetns(), []);
    assert.deepEqual(hostSnapshot(), before);
  });
});
