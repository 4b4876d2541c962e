/**
 * Service paths through kube-proxy's rules and TCP transactions, in real namespaces: rules for 10 000
 * Services load in the node and go with the run (the host's firewall untouched); CRR through a Service
 * completes every transaction and leaves no TIME_WAIT socket behind for the next run; several endpoints
 * per Service all answer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { buildTopology } from '../../src/runner/build.js';
import { planQuick } from '../../src/input/quick-plan.js';
import { stateDir } from '../../src/paths.js';
import type { Topology } from '../../src/topology/model.js';
import { planForJobs, workloadOf } from '../../src/workloads/registry.js';
import type { RrResultOutcome } from '../../src/workloads/rr.js';
import { hostSnapshot } from '../helpers/host.js';

const inNs = (netns: string, ...argv: string[]) =>
  execFileSync('ip', ['netns', 'exec', netns, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });

/** Plans a case as `cnperf quick DATAPATH --workload W ...` would, builds it, runs `body`, tears down, checks the host.
 * */
async function withCase(
  datapath: string,
  raw: Record<string, string>,
  body: (t: Topology, run: () => Promise<RrResultOutcome>) => Promise<void>,
): Promise<void> {
  const before = hostSnapshot();
  const q = planQuick([datapath], raw);
  const topo = planForJobs(datapath, q.jobs, q.datapathOptions[0]!);
  const host = await buildTopology(topo, 'run');
  try {
    const { w, p } = workloadOf(q.jobs[0]!);
    await body(
      topo,
      () =>
        w.run(topo, p, {
          stop: { requested: false },
          progress: () => {},
          workDir: stateDir(),
        }) as Promise<RrResultOutcome>,
    );
  } finally {
    await host.teardown();
  }
  assert.deepEqual(hostSnapshot(), before);
}

describe('Service paths (kube-proxy rules in the node)', () => {
  for (const proxy of ['iptables', 'nftables'] as const) {
    it(
      `${proxy}: rules for 10 000 Services load in the node, carry CRR to the last one, and are removed ` +
        `with the run`,
      async () => {
        const started = Date.now();
        await withCase(
          'bridge',
          { workload: 'crr', 'service-proxy': proxy, services: '10000', count: '300' },
          async (t, run) => {
            const node = t.service!.nodes[0]!;
            if (proxy === 'iptables') {
              const nat = inNs(node, 'iptables-save', '-t', 'nat');
              assert.equal(
                nat.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES')).length,
                10_001,
                'one rule per Service and the nodeports rule',
              );
            } else {
              assert.equal(
                inNs(node, 'nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips').match(/: goto service-/g)?.length,
                10_000,
              );
            }
            const out = await run();
            assert.equal(out.problem, null);
            assert.equal(out.samples, 300, 'every transaction to the 10 000th Service completed');
          },
        );
        process.stderr.write(
          `# ${proxy}, 10 000 Services: build, 300 CRR, teardown in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
        );
      },
    );
  }

  it('CRR through a Service: 20 000 transactions, no TIME_WAIT left, and the next run connects as well', async () => {
    await withCase('bridge', { workload: 'crr', 'service-proxy': 'nftables', count: '20000' }, async (t, run) => {
      const first = await run();
      assert.equal(first.samples, 20_000);
      assert.equal(first.engine?.connect_errors, 0);
      for (const ns of [t.endpoints.client.netns, t.endpoints.server.netns])
        assert.equal(inNs(ns, 'ss', '-Htan', 'state', 'time-wait').trim(), '', `TIME_WAIT sockets in ${ns}`);
      const node = t.service!.nodes[0]!;
      const ct = inNs(node, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count');
      assert.ok(Number(ct) >= 1, `conntrack tracked the connections (${ct.trim()} entries)`);
      const second = await run();
      assert.equal(second.samples, 20_000);
      assert.equal(second.engine?.connect_errors, 0);
    });
  });

  it(
    "several endpoints per Service: the statistic rules spread RR connections over the server's addresses, " +
      'all answer',
    async () => {
      await withCase(
        'routed',
        {
          workload: 'rr',
          'service-proxy': 'iptables',
          services: '20',
          'endpoints-per-service': '3',
          flows: '48',
          count: '4800',
        },
        async (t, run) => {
          assert.deepEqual(t.service!.endpoints, ['198.18.0.2', '198.18.255.10', '198.18.255.11']);
          const out = await run();
          assert.equal(out.samples, 4800);
          // each endpoint's DNAT rule counted the connections sent its way (48 flows miss one endpoint with odds
          // 3·(2/3)^48, 1e-8)
          const counts = inNs(t.service!.nodes[0]!, 'iptables', '-t', 'nat', '-L', '-v', '-x', '-n')
            .split('\n')
            .filter((l) => /DNAT .* to:198\.18\./.test(l))
            .map((l) => Number(l.trim().split(/\s+/)[0]));
          assert.equal(counts.length, 3);
          assert.ok(
            counts.every((c) => c > 0),
            `connections per endpoint: ${counts.join(', ')}`,
          );
        },
      );
    },
  );
});
