/**
 * Each datapath, built for real in fresh namespaces: the kernel objects are what the plan says, RTT
 * is measured through it, and afterwards the host is exactly as before.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { DATAPATHS } from '../../src/datapaths/registry.js';
import { collectEnvironment } from '../../src/env/environment.js';
import { ownerMark } from '../../src/host/steps.js';
import { buildTopology, measure, planDatapath } from '../../src/runner/measure.js';
import { rttSummaryOf } from '../../src/report/results.js';
import { resetStopState, installStopHandlers } from '../../src/runner/signals.js';
import { RTT_DEFAULTS } from '../../src/workloads/rtt.js';
import { hostSnapshot } from '../helpers/host.js';

function ipJson(netns: string, ...args: string[]): Array<Record<string, unknown>> {
  return JSON.parse(execFileSync('ip', ['-n', netns, '-d', '-j', ...args], { encoding: 'utf8' })) as Array<Record<string, unknown>>;
}

describe('datapaths in real namespaces', () => {
  for (const d of DATAPATHS) {
    it(`${d.name}: builds what it planned, marked as ours, and removes all of it`, async () => {
      const before = hostSnapshot();
      const topo = planDatapath(d.name);
      const host = await buildTopology(topo, 'run');
      try {
        for (const ns of topo.namespaces) {
          const lo = ipJson(ns.name, 'link', 'show', 'dev', 'lo')[0]!;
          assert.equal(lo.ifalias, ownerMark(topo.runId), `lo of ${ns.name} is not marked`);
        }
        for (const l of topo.links) {
          const link = ipJson(l.netns, 'link', 'show', 'dev', l.name)[0]!;
          assert.equal(link.ifalias, ownerMark(topo.runId));
          assert.equal((link.linkinfo as { info_kind: string }).info_kind, l.kind);
          assert.ok((link.flags as string[]).includes('UP'), `${l.name} is not up`);
        }
        for (const p of topo.ports) {
          const port = ipJson(p.netns, 'link', 'show', 'dev', p.dev)[0]!;
          assert.equal(port.master, p.master);
        }
        for (const a of topo.addresses) {
          const addrs = ipJson(a.netns, 'addr', 'show', 'dev', a.dev)[0]!.addr_info as Array<{ local: string; prefixlen: number }>;
          assert.ok(addrs.some((x) => `${x.local}/${x.prefixlen}` === a.cidr), `${a.cidr} missing on ${a.dev}`);
          // addrgenmode none: no IPv6 link-local address sending DAD/MLD across the measured path
          assert.ok(!addrs.some((x) => x.local.startsWith('fe80:')), `${a.dev} has an IPv6 link-local address`);
        }
      } finally {
        const r = await host.teardown();
        assert.deepEqual(r.failed, []);
      }
      assert.deepEqual(hostSnapshot(), before);
    });

    it(`${d.name}: RTT is measured through it and the host is unchanged afterwards`, async () => {
      resetStopState();
      const before = hostSnapshot();
      const m = await measure(d.name, { workload: 'rtt', params: { ...RTT_DEFAULTS, count: 500, intervalNs: 0 } }, { batchId: 'itest0', env: collectEnvironment(null), stop: installStopHandlers(), progress: () => {} });
      assert.equal(m.record.status, 'ok', m.record.problem ?? '');
      assert.equal(m.record.samples, 500);
      assert.equal(m.record.lost, 0);
      const s = rttSummaryOf(m.record)!;
      assert.ok(s.min > 0 && s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max, JSON.stringify(s));
      assert.ok(s.min < s.mean && s.mean < s.max);
      assert.ok(s.p50 < 10_000_000, `p50 of ${s.p50} ns is not a local round trip`);
      assert.equal((m.record.engine as { sent: number }).sent, 501); // 500 + 1 discarded warm-up
      assert.deepEqual(hostSnapshot(), before);
    });
  }
});
