/** Service paths: kube-proxy's rules as cnperf writes them, the plans around them, and conntrack's counters. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  chainHash,
  clusterIpOf,
  iptablesServices,
  nftablesServices,
  type ServiceSet,
} from '../../src/datapaths/service-rules.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { runCommand } from '../../src/local/command.js';
import { HostExecutor } from '../../src/local/executor.js';
import { Journal } from '../../src/local/journal.js';
import { stepsFor } from '../../src/local/steps.js';
import { conntrackDelta, parseConntrack } from '../../src/probes/conntrack.js';
import { planQuick } from '../../src/input/quick-plan.js';
import { planForJobs } from '../../src/workloads/registry.js';
import { FIXTURES } from '../helpers/paths.js';

const set = (o: Partial<ServiceSet> = {}): ServiceSet => ({
  proxy: 'iptables',
  protocol: 'tcp',
  services: 5,
  endpointsPerService: 3,
  measured: 4,
  measuredEndpoints: ['198.18.0.2', '198.18.255.10', '198.18.255.11'],
  ...o,
});

describe('kube-proxy rules', () => {
  it(
    'iptables mode: one KUBE-SERVICES rule per Service in order, the nodeports rule last, the measured ' +
      'Service DNATs to the server',
    () => {
      const text = iptablesServices(set());
      const services = text.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES'));
      assert.equal(services.length, 6);
      assert.match(services.at(-1)!, /--dst-type LOCAL -j KUBE-NODEPORTS$/);
      assert.match(services[4]!, new RegExp(`-d ${clusterIpOf(4).ip}/32 -p tcp .* --dport 80 -j KUBE-SVC-`));
      assert.ok(
        text.includes('-j DNAT --to-destination 198.18.0.2:8080') &&
          text.includes('-j DNAT --to-destination 198.18.255.11:8080'),
      );
      // K endpoints: K-1 statistic rules taking 1/K, 1/(K-1), ... of what is left, the last taking the rest
      const svc4 = text
        .split('\n')
        .filter((l) => l.startsWith(`-A KUBE-SVC-${chainHash('cnperf/svc-4:p', 'tcp')} -m comment`));
      assert.deepEqual(
        svc4.map((l) => /--probability ([0-9.]+)/.exec(l)?.[1] ?? 'rest'),
        ['0.3333333333', '0.5000000000', 'rest'],
      );
      // traffic from outside the cluster CIDR is marked for masquerade, the pods' own is not
      assert.ok(text.includes('! -s 198.18.0.0/16 -d'));
      assert.equal(text.match(/^COMMIT$/gm)?.length, 2);
    },
  );

  it('nftables mode: one verdict-map element per Service, numgen over the endpoints, one DNAT chain each', () => {
    const text = nftablesServices(set({ proxy: 'nftables' }));
    assert.ok(text.includes('ip daddr . meta l4proto . th dport vmap @service-ips'));
    const elements = text
      .slice(text.indexOf('add element ip kube-proxy service-ips'))
      .split('\n')
      .filter((l) => / : goto service-/.test(l));
    assert.equal(elements.length, 5);
    assert.equal(text.match(/numgen random mod 3 vmap/g)?.length, 5);
    assert.equal(text.match(/dnat to /g)?.length, 15);
  });

  it("over IPv6: kube-proxy's IPv6 rules, every address the twin of its IPv4 one, none left", () => {
    for (const proxy of ['iptables', 'nftables'] as const) {
      const text = (proxy === 'iptables' ? iptablesServices : nftablesServices)(set({ proxy, family: 6 }));
      assert.doesNotMatch(text, /\b198\.1[89]\.\d+\.\d+/, `${proxy}: an IPv4 address is left`);
      assert.ok(
        text.includes(proxy === 'iptables' ? 'DNAT --to-destination [2001:2::2]:8080' : 'dnat to [2001:2::2]:8080'),
      );
      if (proxy === 'iptables') {
        assert.ok(text.includes(`-d ${'2001:2:0:180::5'}/128 -p tcp`)); // Service 4's ClusterIP, 198.19.128.5
        assert.ok(text.includes('! -s 2001:2::/56 -d'));
      } else {
        assert.ok(text.startsWith('table ip6 kube-proxy {'));
        assert.ok(text.includes('type ipv6_addr . inet_proto . inet_service : verdict'));
        assert.ok(text.includes('ip6 daddr . meta l4proto . th dport vmap @service-ips'));
        assert.ok(text.includes('add element ip6 kube-proxy service-ips {'));
        assert.doesNotMatch(text, /\bip (daddr|saddr)\b/);
        assert.ok(text.includes('  chain endpoint-'), 'no endpoint chain');
        for (const m of text.matchAll(/chain (\S+) \{/g)) assert.ok(!m[1]!.includes(':'), `nft refuses '${m[1]}'`);
      }
    }
    // IPv4's text is as it was: the family is a parameter, not a rewrite
    assert.equal(iptablesServices(set()), iptablesServices(set({ family: 4 })));
  });

  it('ClusterIPs stay distinct up to 100 000 Services, inside the Service range', () => {
    const seen = new Set<string>();
    for (let k = 0; k < 100_000; k++) {
      const { ip, port } = clusterIpOf(k);
      assert.ok(ip.startsWith('198.19.') && Number(ip.split('.')[2]) >= 128);
      seen.add(`${ip}:${port}`);
    }
    assert.equal(seen.size, 100_000);
    assert.match(chainHash('a', 'tcp'), /^[A-Z2-7]{16}$/);
  });
});

describe('Service path plans', () => {
  it(
    'bridge: the bridge is the gateway, the client routes the Service range to it, the node forwards ' +
      'without redirects and with br_netfilter',
    () => {
      const { jobs, datapathOptions } = planQuick(['bridge'], {
        workload: 'crr',
        'service-proxy': 'iptables',
        services: '3',
      });
      const t = planForJobs('bridge', jobs, datapathOptions[0]!, 'aaaaaa');
      assert.deepEqual(
        {
          proxy: t.service?.proxy,
          protocol: t.service?.protocol,
          position: t.service?.position,
          target: t.service?.target_port,
        },
        { proxy: 'iptables', protocol: 'tcp', position: 3, target: 8080 },
      );
      const node = t.namespaces.find((n) => n.role === 'node')!.name;
      assert.ok(t.addresses.some((a) => a.netns === node && a.cidr === '198.18.255.254/16'));
      assert.ok(
        t.routes!.some(
          (r) => r.netns === t.endpoints.client.netns && r.dst === '198.19.128.0/17' && r.via === '198.18.255.254',
        ),
      );
      for (const key of [
        'net.ipv4.ip_forward',
        'net.ipv4.conf.all.send_redirects',
        'net.bridge.bridge-nf-call-iptables',
      ])
        assert.ok(
          t.sysctls!.some((s) => s.netns === node && s.key === key),
          key,
        );
      const load = stepsFor(t).find((s) => s.timed);
      assert.deepEqual(load?.argv, ['ip', 'netns', 'exec', node, 'iptables-restore', '--noflush']);
    },
  );

  it(
    'a ruleset for 10 000 Services gets time to load: 3 ms a line, not the 15 s every other command gets ' +
      '(it was killed at 15 s)',
    async () => {
      const q = planQuick(['bridge'], { workload: 'crr', 'service-proxy': 'iptables', services: '10000' });
      const steps = stepsFor(planForJobs('bridge', q.jobs, q.datapathOptions[0]!, 'aaaaaa'));
      const load = steps.find((s) => s.timed)!;
      assert.ok(
        load.timeoutMs! >= load.stdin!.split('\n').length * 3 && load.timeoutMs! > 60_000,
        `deadline ${load.timeoutMs} ms`,
      );
      assert.ok(steps.filter((s) => s !== load).every((s) => s.timeoutMs === undefined));
      // the executor hands the step's deadline to the command runner
      const seen: Array<number | undefined> = [];
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-j-'));
      const host = new HostExecutor(
        Journal.create(dir, { runId: 'aaaaaa', kind: 'run', datapath: 'bridge' }),
        async (_argv, _in, timeoutMs) => {
          seen.push(timeoutMs);
          return { stdout: '', stderr: '' };
        },
      );
      await host.apply([load]);
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(seen, [load.timeoutMs]);
      assert.equal(host.timings.length, 1);
      assert.match(host.timings[0]!.what, /^iptables rules for 10000 Services in cnpaaaaaa-n$/);
      // and a command past its deadline says so
      await assert.rejects(runCommand(['sleep', '5'], undefined, 100), /did not finish within 0.1 s and was killed/);
    },
  );

  it(
    "vxlan --variant bridge: the client's node is its gateway and DNATs; both nodes hold the rules; " +
      '--variant host is refused',
    () => {
      const q = planQuick(['vxlan'], { workload: 'rr', variant: 'bridge', 'service-proxy': 'nftables' });
      const t = planForJobs('vxlan', q.jobs, q.datapathOptions[0]!, 'aaaaaa');
      assert.equal(t.service?.nodes.length, 2);
      assert.equal(t.rulesets?.length, 2);
      const clientRoute = t.routes!.find((r) => r.netns === t.endpoints.client.netns && r.dst === '198.19.128.0/17');
      assert.equal(clientRoute?.via, '198.18.255.254');
      assert.ok(t.addresses.some((a) => a.netns === t.service!.nodes[0] && a.cidr === '198.18.255.254/16'));
      assert.throws(
        () => planQuick(['vxlan'], { workload: 'rr', 'service-proxy': 'nftables' }),
        /--variant host .* no pod network for a Service/,
      );
    },
  );

  it('--service-position: first, last, or N', () => {
    const pos = (p: string) =>
      planForJobs(
        'routed',
        planQuick(['routed'], { workload: 'rr', 'service-proxy': 'nftables', services: '10', 'service-position': p })
          .jobs,
        planQuick(['routed'], { workload: 'rr', 'service-proxy': 'nftables', services: '10', 'service-position': p })
          .datapathOptions[0]!,
      ).service!.position;
    assert.deepEqual([pos('first'), pos('last'), pos('4')], [1, 10, 4]);
    assert.throws(() => pos('11'), /--service-position 11: expected first, last or 1..10/);
  });

  it('refuses before building what cannot go through a Service', () => {
    const refuse = (raw: Record<string, string>, re: RegExp) =>
      assert.throws(() => planQuick([raw.datapath ?? 'bridge'], { ...raw, datapath: undefined } as never), re);
    refuse({ workload: 'rtt', services: '10' }, /need --service-proxy iptables or nftables/);
    refuse(
      { workload: 'rtt', 'service-proxy': 'iptables', 'endpoints-per-service': '2' },
      /the UDP server answers from its first address/,
    );
    refuse({ workload: 'load', 'service-proxy': 'iptables' }, /load workload .* not built/);
    refuse({ workload: 'stream', 'service-proxy': 'iptables', api: 'send,tcp' }, /match one protocol/);
    refuse({ workload: 'stream', 'service-proxy': 'iptables', api: 'raw' }, /past the Service's ClusterIP/);
    refuse({ workload: 'rr', 'service-proxy': 'iptables', pairs: '2' }, /several pairs/);
    refuse({ datapath: 'veth', workload: 'rr', 'service-proxy': 'iptables' }, /--service-proxy does not apply to veth/);
  });
});

describe('conntrack probe', () => {
  it('parses a real reading (nf_conntrack_count, then /proc/net/stat/nf_conntrack per CPU)', () => {
    const r = parseConntrack(readFileSync(path.join(FIXTURES, 'procfs', 'conntrack.txt'), 'utf8'));
    assert.equal(r.entries, 5);
    assert.equal(r.stats.insert_failed, 0);
    assert.ok('drop' in r.stats && 'early_drop' in r.stats && !('entries' in r.stats));
    const after = { entries: 7, stats: { ...r.stats, insert_failed: 3, drop: 1 } };
    assert.deepEqual(conntrackDelta(r, after), { entries: 7, trouble: { insert_failed: 3, drop: 1 } });
    assert.throws(() => parseConntrack('5\nnot a header\n'), /not \/proc\/net\/stat\/nf_conntrack/);
  });
});
