/** --ip 6: the IPv6 twins of planned addresses, the plans carried over, and where it is refused. */
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { planQuick } from '../../src/input/quick-plan.js';
import { parseExperimentText } from '../../src/input/experiment-file.js';
import { formatSteps, stepsFor } from '../../src/local/steps.js';
import { hostPort } from '../../src/engine-client/argv.js';
import { cidrTwin, ipv6Twin } from '../../src/topology/family.js';
import { UserError } from '../../src/util/errors.js';

/** In 2001:2::/48: its first three groups are 2001, 2 and 0. */
const inRange = (cidr: string) => {
  const a = cidr.split('/')[0]!;
  return isIPv6(a) && (a.startsWith('2001:2::') || a.startsWith('2001:2:0:'));
};

describe('IPv6 twins (2001:2::/48 for 198.18.0.0/15)', () => {
  it('keeps subnets subnets: /24s become /64s, point-to-point /30s /126s; text as RFC 5952 writes it', () => {
    assert.equal(ipv6Twin('198.18.0.1'), '2001:2::1');
    assert.equal(cidrTwin('198.18.1.2/24'), '2001:2:0:1::2/64');
    assert.equal(cidrTwin('198.18.0.0/24'), '2001:2::/64');
    assert.equal(cidrTwin('198.19.255.254/30'), '2001:2:0:1ff::fe/126');
    assert.equal(cidrTwin('198.18.0.1/16'), '2001:2::1/56');
    assert.equal(cidrTwin('default'), 'default');
    assert.equal(ipv6Twin('127.0.0.1'), '::1');
  });

  it('has no twin for anything outside the benchmarking range', () => {
    for (const a of ['10.0.0.1', '192.168.1.1', '198.20.0.1', '198.18.256.1', '169.254.1.1'])
      assert.equal(ipv6Twin(a), null);
  });
});

describe('plans over IPv6', () => {
  for (const name of ['loopback', 'veth', 'bridge', 'macvlan', 'routed', 'vxlan', 'ovs', 'xdp', 'tcx']) {
    it(`${name}: every address, route and endpoint in 2001:2::/48 (or ::1), router advertisements off`, () => {
      const t = planDatapath(name, 'abc123', name === 'vxlan' ? 1 : 2, { ip: 6 });
      // global addresses in the range; link-local ones only where the datapath plans them (routed's gateway)
      for (const a of t.addresses)
        assert.ok(inRange(a.cidr) || a.cidr.startsWith('fe80::'), `${a.cidr} is outside 2001:2::/48`);
      for (const r of t.routes ?? []) assert.ok(r.dst === 'default' || inRange(r.dst), r.dst);
      for (const p of t.pairs)
        for (const e of [p.client, p.server])
          assert.ok(e.ip === '::1' || inRange(e.ip), `${e.ip} is outside 2001:2::/48`);
      assert.ok(!JSON.stringify(t).includes('198.1'), 'an IPv4 address was left in the plan');
      for (const a of t.addresses)
        assert.ok(t.sysctls!.some((s) => s.netns === a.netns && s.key === `net.ipv6.conf.${a.dev}.accept_ra`));
    });
  }

  it('is refused by name where it is not built, saying where it is', () => {
    const refused = (name: string, extra = {}) =>
      assert.throws(
        () => planDatapath(name, 'abc123', 1, { ip: 6, ...extra }),
        (e: unknown) =>
          e instanceof UserError && /^--ip 6: /.test(e.message) && /loopback, veth, bridge/.test(e.hint ?? ''),
      );
    refused('ipvlan');
  });

  it('tcx across nodes: its BPF tables get IPv6 keys and next hops, each NIC a link-local to solicit from', () => {
    const t = planDatapath('tcx', 'abc123', 1, { ip: 6, placement: 'cross-node' });
    const requests = t.bpf!.flatMap((l) => l.requests);
    const local = requests.filter((r) => r[0] === 'local').map((r) => r[2]);
    const remote = requests.filter((r) => r[0] === 'remote').map((r) => [r[2], r[4]]);
    assert.deepEqual(local, ['2001:2::1', '2001:2::2']);
    assert.equal(remote.length, 2);
    for (const [ip, nexthop] of remote) assert.ok(inRange(ip!) && inRange(nexthop!), `${ip} via ${nexthop}`);
    for (const l of t.bpf!) {
      const nic = requests.find((r) => r[0] === 'remote' && r[1] === l.netns)![3];
      assert.ok(t.addresses.some((a) => a.netns === l.netns && a.dev === nic && a.cidr.startsWith('fe80::')));
    }
  });

  it('vxlan --underlay: the tunnel in one family, the overlay in the other, the MTU by the outer header', () => {
    const v4over6 = planDatapath('vxlan', 'abc123', 1, { underlay: 6 });
    const v6over4 = planDatapath('vxlan', 'abc123', 1, { ip: 6, underlay: 4 });
    const tunnel = (t: typeof v4over6) => t.links.filter((l) => l.kind === 'vxlan');
    for (const l of tunnel(v4over6)) {
      assert.ok(l.kind === 'vxlan' && inRange(l.local) && inRange(l.remote), JSON.stringify(l));
      assert.equal(l.mtu, 1500 - 70);
    }
    for (const l of tunnel(v6over4)) {
      assert.ok(l.kind === 'vxlan' && /^198\.19\./.test(l.local) && /^198\.19\./.test(l.remote), JSON.stringify(l));
      assert.equal(l.mtu, 1500 - 50);
    }
    assert.match(v4over6.endpoints.server.ip, /^198\.18\./);
    assert.ok(inRange(v6over4.endpoints.server.ip));
    // the carrying NICs' addresses follow the tunnel, the overlay's the endpoints
    const nicAddrs = (t: typeof v4over6) =>
      t.addresses.filter((a) => tunnel(t).some((l) => l.kind === 'vxlan' && l.netns === a.netns && l.dev === a.dev));
    assert.ok(nicAddrs(v4over6).every((a) => inRange(a.cidr)));
    assert.ok(nicAddrs(v6over4).every((a) => /^198\.19\./.test(a.cidr)));
    assert.throws(
      () => planQuick(['bridge'], { underlay: '6' }),
      (e: unknown) => e instanceof UserError && /--underlay does not apply to bridge/.test(e.message),
    );
  });

  it('vxlan over an IPv6 underlay: the tunnel ends by their twins, the overlay 70 bytes under the underlay', () => {
    const t = planDatapath('vxlan', 'abc123', 1, { ip: 6, mtu: 1500 });
    const tunnels = t.links.filter((l) => l.kind === 'vxlan');
    assert.equal(tunnels.length, 2);
    for (const l of tunnels) {
      assert.ok(l.kind === 'vxlan' && inRange(l.local) && inRange(l.remote), JSON.stringify(l));
      assert.equal(l.mtu, 1430);
    }
  });

  it('a namespace that forwards gets a link-local address on each addressed device (solicitations need it)', () => {
    const t = planDatapath('bridge', 'abc123', 1, { ip: 6, service: { proxy: 'nftables', services: 2 } });
    const node = t.namespaces.find((n) => n.role === 'node')!.name;
    const devs = new Set(t.addresses.filter((a) => a.netns === node && !a.cidr.startsWith('fe80:')).map((a) => a.dev));
    assert.ok(devs.size > 0);
    for (const d of devs)
      assert.ok(
        t.addresses.some((a) => a.netns === node && a.dev === d && a.cidr.startsWith('fe80:')),
        `${d} has none`,
      );
    // the containers do not forward: no link-local address there
    assert.ok(!t.addresses.some((a) => a.netns !== node && a.cidr.startsWith('fe80:')));
  });

  it('IPv6 addresses are added after their links come up (added before, one stayed unusable for ~1 s)', () => {
    const lines = formatSteps(stepsFor(planDatapath('bridge', 'abc123', 1, { ip: 6 })));
    const lastUp = Math.max(...lines.map((l, i) => (/ link set dev \S+ up$/.test(l) ? i : -1)));
    const adds = lines.map((l, i) => (/ addr add 2001:2:/.test(l) ? i : -1)).filter((i) => i >= 0);
    assert.ok(adds.length >= 2);
    for (const i of adds) assert.ok(i > lastUp, `'${lines[i]}' comes before a link is up`);
  });

  it('--ip dual: each datapath planned over both families, IPv4 first; in a file the families are an axis', () => {
    const q = planQuick(['veth', 'bridge'], { ip: 'dual' });
    assert.deepEqual(
      q.datapathOptions.map((o) => o.ip ?? 4),
      [4, 6],
    );
    assert.throws(() => planQuick(['ipvlan'], { ip: 'dual' }), /--ip 6: ipvlan does not carry IPv6 yet/);
    assert.throws(
      () => parseExperimentText('name: x\nworkload: rtt\ndatapaths: [veth]\nparams: {ip: dual}\n', 'x.yaml'),
      (e: unknown) =>
        e instanceof UserError && /x\.yaml:4:\d+/.test(e.message) && /axis: ip: \['4', '6'\]/.test(e.message),
    );
  });

  it("the engine's address: an IPv6 one in brackets", () => {
    assert.equal(hostPort('2001:2::2', 9000), '[2001:2::2]:9000');
    assert.equal(hostPort('198.18.0.2', 9000), '198.18.0.2:9000');
  });
});
