/**
 * Each datapath, in each placement it supports, built for real in fresh namespaces: the kernel
 * objects are what the plan says, RTT is measured through it, the packets took the intended path
 * (the devices that define the datapath counted them), and afterwards the host is exactly as before.
 * A datapath this kernel cannot build is skipped, with the kernel's reason.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { DATAPATHS } from '../../src/datapaths/registry.js';
import type { Placement } from '../../src/datapaths/types.js';
import { collectEnvironment } from '../../src/env/environment.js';
import { ownerMark } from '../../src/local/steps.js';
import { stateDir } from '../../src/paths.js';
import { rttSummaryOf } from '../../src/report/run-tables.js';
import { explainBuildFailure, planDatapath } from '../../src/datapaths/plan.js';
import { getDatapath } from '../../src/datapaths/registry.js';
import { buildTopology } from '../../src/runner/build.js';
import { measure } from '../../src/runner/measure.js';
import { installStopHandlers, resetStopState } from '../../src/runner/signals.js';
import type { Topology } from '../../src/topology/model.js';
import { errorMessage } from '../../src/util/errors.js';
import { RTT_DEFAULTS, runRtt } from '../../src/workloads/rtt.js';
import { hostSnapshot } from '../helpers/host.js';

function ipJson(netns: string, ...args: string[]): Array<Record<string, unknown>> {
  return JSON.parse(execFileSync('ip', ['-n', netns, '-d', '-j', ...args], { encoding: 'utf8' })) as Array<
    Record<string, unknown>
  >;
}

function packets(netns: string, dev: string): { rx: number; tx: number } {
  const s = (
    JSON.parse(
      execFileSync('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' }),
    ) as Array<{ stats64: { rx: { packets: number }; tx: { packets: number } } }>
  )[0]!.stats64;
  return { rx: s.rx.packets, tx: s.tx.packets };
}

/** The devices whose counters prove a packet took this datapath (and not some shortcut). */
function definingDevices(t: Topology): Array<{ netns: string; dev: string }> {
  const devs: Array<{ netns: string; dev: string }> = [];
  for (const l of t.links) {
    if (l.kind === 'macvlan' || l.kind === 'ipvlan' || l.kind === 'vxlan') devs.push({ netns: l.netns, dev: l.name });
    if (l.kind === 'veth' && t.namespaces.find((n) => n.name === l.peerNetns)?.role === 'node')
      devs.push({ netns: l.peerNetns, dev: l.peer }); // bridge ports, routed node ends, the wire
    if (l.kind === 'veth' && t.datapath === 'veth') devs.push({ netns: l.netns, dev: l.name });
  }
  return devs;
}

/**
 * Why this kernel cannot build the datapath, or null: probed by building it. Only a missing kernel
 * feature the datapath itself names (its kernelFailures: ipvlan here) is a reason to skip; any other
 * build error is a regression and fails the test. A datapath that needs the user's input (cni, existing)
 * is skipped with its own refusal.
 */
async function unavailable(name: string, placement: Placement): Promise<string | null> {
  const d = getDatapath(name);
  const refusal = d.refuse?.({ runId: 'aaaaaa', placement }) ?? null;
  if (refusal) return refusal;
  try {
    const host = await buildTopology(planDatapath(name, undefined, 1, { placement }), 'run');
    await host.teardown();
    return null;
  } catch (e) {
    const message = errorMessage(e);
    if ((d.kernelFailures ?? []).some((f) => f.match.test(message))) return explainBuildFailure(d, message);
    throw e;
  }
}

describe('datapaths in real namespaces', () => {
  for (const d of DATAPATHS) {
    for (const placement of d.placements) {
      const name = `${d.name} (${placement})`;

      it(
        `${name}: builds what it planned, marked as ours, carries RTT over its own devices, removes all of ` + `it`,
        async (t) => {
          const why = await unavailable(d.name, placement);
          if (why) return t.skip(why);
          const before = hostSnapshot();
          const topo = planDatapath(d.name, undefined, 1, { placement });
          const host = await buildTopology(topo, 'run');
          try {
            // (namespaces cnperf adopts — podman's containers, the host — are not marked: they are not ours)
            for (const ns of topo.namespaces.filter((n) => !n.adopted)) {
              const lo = ipJson(ns.name, 'link', 'show', 'dev', 'lo')[0]!;
              assert.equal(lo.ifalias, ownerMark(topo.runId), `lo of ${ns.name} is not marked`);
            }
            for (const l of topo.links) {
              const link = ipJson(l.netns, 'link', 'show', 'dev', l.name)[0]!;
              assert.equal(link.ifalias, ownerMark(topo.runId));
              assert.equal((link.linkinfo as { info_kind: string }).info_kind, l.kind);
              assert.ok((link.flags as string[]).includes('UP'), `${l.name} is not up`);
              if (l.mtu) assert.equal(link.mtu, l.mtu);
            }
            for (const p of topo.ports)
              assert.equal(ipJson(p.netns, 'link', 'show', 'dev', p.dev)[0]!.master, p.master);
            for (const a of topo.addresses) {
              const addrs = ipJson(a.netns, 'addr', 'show', 'dev', a.dev)[0]!.addr_info as Array<{
                local: string;
                prefixlen: number;
              }>;
              assert.ok(
                addrs.some((x) => `${x.local}/${x.prefixlen}` === a.cidr),
                `${a.cidr} missing on ${a.dev}`,
              );
              assert.ok(!addrs.some((x) => x.local.startsWith('fe80:')), `${a.dev} has an IPv6 link-local address`);
            }
            const count = 300;
            const out = await runRtt(
              topo.endpoints.client,
              topo.endpoints.server,
              { ...RTT_DEFAULTS, count, intervalNs: 0 },
              { workDir: stateDir() },
            );
            assert.equal(out.client.received, count, out.problem ?? '');
            for (const dev of definingDevices(topo)) {
              const c = packets(dev.netns, dev.dev);
              assert.ok(
                c.rx + c.tx >= count,
                `${dev.dev} in ${dev.netns} counted ${c.rx + c.tx} packets, fewer than the ${count} round trips`,
              );
            }
          } finally {
            const r = await host.teardown();
            assert.deepEqual(r.failed, []);
          }
          assert.deepEqual(hostSnapshot(), before);
        },
      );

      it(`${name}: measured end to end through the runner; the host is unchanged afterwards`, async (t) => {
        const why = await unavailable(d.name, placement);
        if (why) return t.skip(why);
        resetStopState();
        const before = hostSnapshot();
        const m = await measure(
          d.name,
          { workload: 'rtt', params: { ...RTT_DEFAULTS, count: 500, intervalNs: 0 } },
          {
            batchId: 'itest0',
            env: collectEnvironment(null),
            stop: installStopHandlers(),
            progress: () => {},
            datapathOptions: { placement },
          },
        );
        assert.equal(m.record.status, 'ok', m.record.problem ?? '');
        assert.equal(m.record.samples, 500);
        assert.equal(m.record.lost, 0);
        const s = rttSummaryOf(m.record)!;
        assert.ok(
          s.min > 0 && s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max,
          JSON.stringify(s),
        );
        assert.ok(s.p50 < 10_000_000, `p50 of ${s.p50} ns is not a local round trip`);
        assert.equal((m.record.engine as { sent: number }).sent, 501); // 500 + 1 discarded warm-up
        // what teardown could not remove, in its own words (the snapshot below only shows that something stayed)
        assert.deepEqual(m.teardown.failed, []);
        assert.deepEqual(hostSnapshot(), before);
      });
    }
  }

  it('vxlan --variant bridge (Docker overlay): containers talk across nodes through the VXLAN devices', async () => {
    const before = hostSnapshot();
    const topo = planDatapath('vxlan', undefined, 1, { placement: 'cross-node', variant: 'bridge' });
    const host = await buildTopology(topo, 'run');
    try {
      const out = await runRtt(
        topo.endpoints.client,
        topo.endpoints.server,
        { ...RTT_DEFAULTS, count: 200, intervalNs: 0 },
        { workDir: stateDir() },
      );
      assert.equal(out.client.received, 200);
      for (const l of topo.links.filter((x) => x.kind === 'vxlan')) assert.ok(packets(l.netns, l.name).tx >= 200);
      assert.equal(ipJson(topo.endpoints.client.netns, 'link', 'show', 'dev', topo.endpoints.client.dev)[0]!.mtu, 1450);
    } finally {
      await host.teardown();
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('bridge with 128 container pairs: builds, measures one RTT through every pair, leaves nothing', async () => {
    resetStopState();
    const before = hostSnapshot();
    const started = Date.now();
    const m = await measure(
      'bridge',
      { workload: 'rtt', params: { ...RTT_DEFAULTS, count: 1, intervalNs: 0 } },
      {
        batchId: 'itest128',
        env: collectEnvironment(null),
        stop: installStopHandlers(),
        progress: () => {},
        datapathOptions: { pairs: 128 },
      },
    );
    assert.equal(m.record.status, 'ok', m.record.problem ?? '');
    assert.equal((m.record.topology as Topology).namespaces.length, 257);
    assert.equal(m.record.samples, 128, 'one round trip through each of the 128 pairs');
    assert.equal((m.record.summary as { pairs: number }).pairs, 128);
    assert.deepEqual(hostSnapshot(), before);
    process.stderr.write(
      `# 128 bridge pairs: build + 128 RTTs + teardown in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  });

  for (const [datapath, netfilter, extra, ip] of [
    ['bridge', 'nftables', {}, 4],
    ['bridge', 'nftables', { brNetfilter: 'off' }, 4],
    ['bridge', 'iptables', { conntrack: 'on' }, 4],
    ['routed', 'nftables', { conntrack: 'on' }, 4],
    // over IPv6: ip6 rules, ip6tables, the bridge's IPv6 hook
    ['bridge', 'iptables', { conntrack: 'on' }, 6],
    ['bridge', 'nftables', { brNetfilter: 'off' }, 6],
    ['routed', 'nftables', {}, 6],
  ] as const) {
    it(
      `${datapath} --netfilter ` +
        `${netfilter} ${JSON.stringify(extra)}${ip === 6 ? ' --ip 6' : ''}: every packet walks past all the rules`,
      async () => {
        const before = hostSnapshot();
        const topo = planDatapath(datapath, undefined, 1, {
          netfilter: { netfilter, rules: 200, ...extra },
          ...(ip === 6 ? { ip } : {}),
        });
        const host = await buildTopology(topo, 'run');
        const count = 300;
        try {
          const out = await runRtt(
            topo.endpoints.client,
            topo.endpoints.server,
            { ...RTT_DEFAULTS, count, intervalNs: 0 },
            { workDir: stateDir() },
          );
          assert.equal(out.client.received, count);
          const node = topo.namespaces.find((n) => n.role === 'node')!.name;
          const counted =
            netfilter === 'nftables'
              ? Number(
                  /counter packets (\d+)/.exec(
                    execFileSync('ip', ['netns', 'exec', node, 'nft', 'list', 'ruleset'], { encoding: 'utf8' }),
                  )![1],
                )
              : Number(
                  execFileSync(
                    'ip',
                    [
                      ...['netns', 'exec', node, ip === 6 ? 'ip6tables' : 'iptables'],
                      ...['-L', `CNP${topo.runId.toUpperCase()}`, '-v', '-x', '-n'],
                    ],
                    { encoding: 'utf8' },
                  )
                    .trim()
                    .split('\n')
                    .at(-1)!
                    .trim()
                    .split(/\s+/)[0],
                );
          // Both directions of every round trip (and the warm-up) pass the node's forwarding hook.
          assert.ok(counted >= 2 * count, `the counting rule after the 200 rules saw ${counted} packets`);
        } finally {
          await host.teardown();
        }
        assert.deepEqual(hostSnapshot(), before);
      },
    );
  }

  it('--offload sets the features on the devices the datapath creates', async () => {
    const topo = planDatapath('veth', undefined, 1, { offload: { gro: 'on', tso: 'off' } });
    const host = await buildTopology(topo, 'run');
    try {
      for (const [ns, dev] of [
        [topo.endpoints.client.netns, topo.endpoints.client.dev],
        [topo.endpoints.server.netns, topo.endpoints.server.dev],
      ] as const) {
        const k = execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8' });
        assert.match(k, /^generic-receive-offload: on/m);
        assert.match(k, /^tcp-segmentation-offload: off/m);
      }
    } finally {
      await host.teardown();
    }
  });

  it('--rps and --xps set the CPU masks of the devices the datapath creates', async () => {
    const topo = planDatapath('veth', undefined, 1, { rps: '3', xps: '1' });
    const host = await buildTopology(topo, 'run');
    try {
      const { netns, dev } = topo.endpoints.server;
      const read = (f: string) =>
        parseInt(
          execFileSync('ip', ['netns', 'exec', netns, 'cat', `/sys/class/net/${dev}/queues/${f}`], { encoding: 'utf8' })
            .trim()
            .replace(/,/g, ''),
          16,
        );
      assert.equal(read('rx-0/rps_cpus'), 3);
      assert.equal(read('tx-0/xps_cpus'), 1);
    } finally {
      await host.teardown();
    }
  });

  it("--fabric switch: across nodes through the fabric's switch, whose ports count the packets", async () => {
    const before = hostSnapshot();
    for (const datapath of ['macvlan', 'vxlan']) {
      const topo = planDatapath(datapath, undefined, 1, { placement: 'cross-node', fabric: 'switch' });
      const host = await buildTopology(topo, 'run');
      try {
        const out = await runRtt(
          topo.endpoints.client,
          topo.endpoints.server,
          { ...RTT_DEFAULTS, count: 200, intervalNs: 0 },
          { workDir: stateDir() },
        );
        assert.equal(out.client.received, 200, datapath);
        for (const p of topo.ports.filter((x) => topo.namespaces.find((n) => n.name === x.netns)?.role === 'fabric')) {
          const c = packets(p.netns, p.dev);
          assert.ok(c.rx + c.tx >= 200, `${datapath}: fabric port ${p.dev} counted ${c.rx + c.tx}`);
        }
      } finally {
        await host.teardown();
      }
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('macvlan --mode private and vepa carry traffic across nodes', async () => {
    for (const mode of ['private', 'vepa']) {
      const topo = planDatapath('macvlan', undefined, 1, { placement: 'cross-node', mode });
      const host = await buildTopology(topo, 'run');
      try {
        const out = await runRtt(
          topo.endpoints.client,
          topo.endpoints.server,
          { ...RTT_DEFAULTS, count: 100, intervalNs: 0 },
          { workDir: stateDir() },
        );
        assert.equal(out.client.received, 100, mode);
      } finally {
        await host.teardown();
      }
    }
  });
});
