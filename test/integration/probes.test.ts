/**
 * Probes and the round-trip breakdown through real datapaths: the bridge's extra stack traversal is
 * seen, softirq durations and per-packet softirq counts are reported, each RTT's parts add up to it,
 * and tracefs is left exactly as it was — not mounted, mounted by someone else, after SIGINT and
 * after SIGKILL + clean.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isTracefsMounted, TRACEFS_MOUNT } from '../../src/local/tracefs.js';
import { cnperf, collect, hostSnapshot, sleep, spawnCnperf, tracefsState, waitForStderr } from '../helpers/host.js';
import { joined } from '../helpers/regex.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-probes-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  datapath: string;
  status: string;
  probes: {
    packets: number;
    traversals_per_packet: number | null;
    softirq_max_ns: number | null;
    net_rx_softirqs_per_packet: number | null;
    cpu: { all: { softirq: number } | null; server?: { cpu: number; softirq?: number } };
    trace: { lost_events: number; softirq: Record<string, { max_ns: number }> } | null;
  };
  breakdown_ns?: Record<string, { p50: number; p99: number; max: number }>;
  breakdown?: { samples: number; over_tolerance: number; max_sum_error_ns: number };
}

async function quickJson(args: string[]): Promise<Result[]> {
  const r = await cnperf(['quick', ...args, '--json', '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { results: Result[] }).results;
}

/** Runs fn with tracefs unmounted (the state of a fresh machine here), restoring the mount after. */
async function withTracefsUnmounted(fn: () => Promise<void>): Promise<void> {
  const wasMounted = isTracefsMounted(TRACEFS_MOUNT);
  if (wasMounted) execFileSync('umount', [TRACEFS_MOUNT]);
  try {
    await fn();
  } finally {
    if (wasMounted && !isTracefsMounted(TRACEFS_MOUNT))
      execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS_MOUNT]);
  }
}

describe('probes through real datapaths', () => {
  it(
    'veth vs bridge: traversals per packet are larger on the bridge; softirq max reported; the parts of ' +
      'every RTT add up to it',
    async () => {
      await withTracefsUnmounted(async () => {
        const before = hostSnapshot();
        const [veth, bridge] = await quickJson([
          'veth',
          'bridge',
          '--trace',
          '--breakdown',
          '--count',
          '1000',
          '--interval',
          '200us',
          '--cpus',
          '0,1',
        ]);
        for (const r of [veth!, bridge!]) {
          assert.equal(r.status, 'ok');
          assert.ok(r.probes.packets >= 2000, `${r.datapath}: ${r.probes.packets} packets delivered`);
          assert.ok(r.probes.softirq_max_ns! > 0, `${r.datapath}: softirq max`);
          assert.ok(r.probes.trace!.softirq.NET_RX!.max_ns > 0);
          assert.ok(r.probes.net_rx_softirqs_per_packet! > 0);
          assert.equal(r.probes.trace!.lost_events, 0);
          assert.ok(
            r.breakdown!.samples >= 990,
            `${r.datapath}: only ${r.breakdown!.samples} of 1000 round trips split`,
          );
          assert.equal(
            r.breakdown!.over_tolerance,
            0,
            `${r.datapath}: parts miss the RTT by up to ${r.breakdown!.max_sum_error_ns} ns`,
          );
          for (const part of [
            'client_send',
            'forward_path',
            'server_wakeup',
            'server_turnaround',
            'return_path',
            'client_wakeup',
          ]) {
            const c = r.breakdown_ns![part]!;
            assert.ok(c.p50 >= 0 && c.p50 <= c.p99 && c.p99 <= c.max, `${r.datapath} ${part}: ${JSON.stringify(c)}`);
          }
        }
        // Within 1 %: the namespaces' own chatter (the bridge device's IPv6 neighbour discovery, sent
        // from inside the bridge) reaches an endpoint without entering a port first.
        const near = (x: number | null, v: number) => x !== null && Math.abs(x - v) < 0.01 * v;
        assert.ok(
          near(veth!.probes.traversals_per_packet, 1),
          `veth: the packet enters one stack, the receiver's (${veth!.probes.traversals_per_packet})`,
        );
        assert.ok(
          near(bridge!.probes.traversals_per_packet, 2),
          `bridge: the bridge port, then the receiver (${bridge!.probes.traversals_per_packet})`,
        );
        assert.ok(bridge!.probes.traversals_per_packet! > veth!.probes.traversals_per_packet!);
        assert.deepEqual(hostSnapshot(), before, 'tracefs was not mounted before: it must not be after');
      });
    },
  );

  it('a mounted tracefs stays mounted, with its instances and settings as they were', async () => {
    const mountedHere = !isTracefsMounted(TRACEFS_MOUNT);
    if (mountedHere) execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS_MOUNT]);
    try {
      const before = tracefsState();
      const [r] = await quickJson(['loopback', '--trace', '--count', '200', '--interval', '0']);
      assert.equal(r!.probes.traversals_per_packet, 1);
      assert.equal(tracefsState(), before);
    } finally {
      if (mountedHere) execFileSync('umount', [TRACEFS_MOUNT]);
    }
  });

  it(
    "VXLAN overlay vs veth at the same packet rate: NET_RX softirqs per packet and the receiver core's " +
      'softirq share',
    async () => {
      const before = hostSnapshot();
      const [veth, vxlan] = await quickJson([
        'veth',
        'vxlan',
        '--workload',
        'stream',
        '--api',
        'send',
        '--rate',
        '20k',
        '--duration',
        '3s',
        '--warmup',
        '1s',
        '--cpus',
        '0,1',
      ]);
      for (const r of [veth!, vxlan!]) {
        // ≥ 2 s of the window at 20 kpps is ~40 000; this 2-CPU VM's paced sender falls a few % short at
        // times (39 895 seen once): enough packets for per-packet figures is what matters here
        assert.ok(r.probes.packets > 30_000, `${r.datapath}: ${r.probes.packets} packets`);
        assert.ok(r.probes.net_rx_softirqs_per_packet! > 0, `${r.datapath}: NET_RX softirqs per packet`);
        assert.equal(r.probes.cpu.server?.cpu, 1);
        assert.equal(typeof r.probes.cpu.server?.softirq, 'number', `${r.datapath}: receiver core's softirq share`);
      }
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('SIGINT during a traced run, and SIGKILL + clean: tracefs as it was', async () => {
    await withTracefsUnmounted(async () => {
      const before = hostSnapshot();
      const long = ['quick', 'veth', '--trace', '--breakdown', '--count', '1000000', '--interval', '1ms', '--db', db];
      let child = spawnCnperf(long);
      let done = collect(child);
      await waitForStderr(child, /measuring/);
      await sleep(300);
      assert.ok(isTracefsMounted(TRACEFS_MOUNT), 'tracefs is mounted while the traced run measures');
      child.kill('SIGINT');
      const r = await done;
      assert.equal(r.code, 130, r.stderr);
      assert.deepEqual(hostSnapshot(), before);

      child = spawnCnperf(long);
      done = collect(child);
      await waitForStderr(child, /measuring/);
      await sleep(300);
      child.kill('SIGKILL');
      await done;
      const c = await cnperf(['clean']);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /removed tracefs instance .*cnperf-[a-z0-9]{6}/);
      assert.match(c.stdout, /removed tracefs mount \/sys\/kernel\/tracing/);
      assert.deepEqual(hostSnapshot(), before);
    });
  });
});

describe('calibration', () => {
  it('cnperf calibrate measures and stores the floor; quick shows it under its results', async () => {
    const before = hostSnapshot();
    const c = await cnperf(['calibrate', '--json', '--db', db]);
    assert.equal(c.code, 0, c.stderr);
    const cal = (
      JSON.parse(c.stdout) as {
        calibration: {
          clock_read_ns: { monotonic: number };
          min_rtt_ns: { one_core: { min: number } | null; two_cores_spin: { min: number } | null };
          timer_lateness_ns: { wakeups: number; p99: number };
          noise: { duration_ns: number; max_ns: number };
        };
      }
    ).calibration;
    assert.ok(cal.clock_read_ns.monotonic > 0 && cal.clock_read_ns.monotonic < 5000);
    assert.ok(cal.min_rtt_ns.one_core!.min > 0);
    assert.ok(cal.min_rtt_ns.two_cores_spin!.min > 0);
    assert.equal(cal.timer_lateness_ns.wakeups, 5000);
    assert.ok(cal.noise.duration_ns >= 5e9);
    const q = await cnperf(['quick', 'loopback', '--count', '100', '--db', db]);
    assert.match(
      q.stdout,
      joined(
        /Floor \(cnperf calibrate, \d{4}-\d\d-\d\d \d\d:\d\d\): clock read [\d.]+ ns · /,
        /min RTT loopback one core [\d.]+ µs/,
      ),
    );
    assert.deepEqual(hostSnapshot(), before);
  });
});
