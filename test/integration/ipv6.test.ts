/**
 * --ip 6 in real namespaces: each datapath built for IPv6 carries round trips, streams and TCP
 * transactions over 2001:2::/48 and leaves the host as it was (IPv6 routes and ip6tables included);
 * what is not built for IPv6 is refused by name before anything is built.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { cnperf, hostSnapshot } from '../helpers/host.js';
import { ENGINE } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-ipv6-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Result {
  datapath: string;
  ip: 4 | 6;
  status: string;
  lost: number;
  run_id: string;
  rtt_ns: { p50: number } | null;
  stream?: { api: string; rx_pps: number | null; rx_gbps: number | null };
  transactions_per_s?: number | null;
  service?: { cluster_ip: string };
  probes?: { bpf?: { actions: Record<string, number> } | null };
}

describe('--ip 6', () => {
  it('loopback, veth, bridge: round trips over 2001:2::/48, the host as it was', async () => {
    const before = hostSnapshot();
    const dry = await cnperf(['quick', 'loopback', 'veth', 'bridge', '--ip', '6', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /addr add 2001:2::1\/64 dev \S+ nodad/); // veth
    assert.match(dry.stdout, /--server '\[::1\]:0'/); // loopback
    assert.doesNotMatch(dry.stdout, /198\.1[89]\./);
    const r = await cnperf([
      'quick',
      'loopback',
      'veth',
      'bridge',
      '--ip',
      '6',
      '--count',
      '500',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.deepEqual(
      results.map((x) => [x.datapath, x.status]),
      [
        ['loopback', 'ok'],
        ['veth', 'ok'],
        ['bridge', 'ok'],
      ],
    );
    for (const x of results) assert.ok(x.rtt_ns!.p50 > 0);
    // from the first probe on: an IPv6 address added before its link came up lost the first ~4 (steps.ts)
    for (const x of results) assert.equal(x.lost, 0, `${x.datapath} lost ${x.lost} round trips over IPv6`);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('vxlan over an IPv6 underlay (both variants), and with the families mixed (--underlay): none lost', async () => {
    const before = hostSnapshot();
    for (const [variant, ip, underlay] of [
      ['host', '6', '6'],
      ['bridge', '6', '6'],
      // an IPv6 overlay over an IPv4 underlay, and the reverse (--underlay)
      ['bridge', '6', '4'],
      ['host', '4', '6'],
    ] as const) {
      const r = await cnperf([
        'quick',
        'vxlan',
        '--ip',
        ip,
        '--underlay',
        underlay,
        '--variant',
        variant,
        '--count',
        '300',
        '--json',
        '--db',
        db,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [x] = (JSON.parse(r.stdout) as { results: Result[] }).results;
      assert.deepEqual([x!.status, x!.ip, x!.lost], ['ok', Number(ip), 0], `${variant} ${ip} over ${underlay}`);
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('macvlan and routed on one node and across two: round trips over IPv6, none lost', async () => {
    const before = hostSnapshot();
    for (const placement of ['same-node', 'cross-node']) {
      const args = ['quick', 'macvlan', 'routed', '--ip', '6', '--placement', placement, '--count', '300'];
      const r = await cnperf([...args, '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      for (const x of (JSON.parse(r.stdout) as { results: Result[] }).results)
        assert.deepEqual([x.status, x.ip, x.lost], ['ok', 6, 0], `${x.datapath} ${placement}`);
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('--ip dual on bridge: two results in one command, one per family, each labelled', async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'bridge', '--ip', 'dual', '--count', '300', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const results = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.deepEqual(
      results.map((x) => [x.datapath, x.ip, x.status]),
      [
        ['bridge', 4, 'ok'],
        ['bridge', 6, 'ok'],
      ],
    );
    const table = await cnperf(['results', 'show', results[1]!.run_id, '--db', db]);
    assert.match(table.stdout, /^bridge IPv6 /m);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('veth: UDP and TCP streams, and TCP connect/request/response', async () => {
    const before = hostSnapshot();
    const s = await cnperf(
      [
        'quick',
        'veth',
        '--ip',
        '6',
        '--workload',
        'stream',
        '--api',
        'send,tcp',
        '--duration',
        '2s',
        '--warmup',
        '1s',
      ].concat(['--json', '--db', db]),
    );
    assert.equal(s.code, 0, s.stderr);
    const [udp, tcp] = (JSON.parse(s.stdout) as { results: Result[] }).results;
    assert.ok(udp!.stream!.rx_pps! > 0, 'no UDP datagram arrived over IPv6');
    assert.ok(tcp!.stream!.rx_gbps! > 0, 'no TCP byte arrived over IPv6');
    const c = await cnperf(['quick', 'veth', '--ip', '6', '--workload', 'crr', '--count', '300', '--json', '--db', db]);
    assert.equal(c.code, 0, c.stderr);
    const crr = (JSON.parse(c.stdout) as { results: Result[] }).results[0]!;
    assert.equal(crr.status, 'ok');
    assert.ok(crr.rtt_ns!.p50 > 0);
    assert.deepEqual(hostSnapshot(), before);
  });

  it("a ClusterIP over IPv6: kube-proxy's ip6tables and nft ip6 rules carry crr to the last Service", async () => {
    const before = hostSnapshot();
    for (const [proxy, services] of [
      ['nftables', '1000'],
      ['iptables', '100'],
    ] as const) {
      const args = ['quick', 'bridge', '--ip', '6', '--service-proxy', proxy, '--services', services];
      const r = await cnperf([...args, '--workload', 'crr', '--count', '300', '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      const [x] = (JSON.parse(r.stdout) as { results: Result[] }).results;
      assert.deepEqual([x!.status, x!.ip, x!.lost], ['ok', 6, 0], proxy);
      assert.ok(x!.transactions_per_s! > 0);
      assert.match(x!.service!.cluster_ip, /^2001:2:0:1[89a-f][0-9a-f]::/); // in the Service range 2001:2:0:180::/57
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('ovs, xdp, tcx (one node and two), macvtap: round trips over IPv6 through switches and BPF tables', async () => {
    const before = hostSnapshot();
    for (const args of [
      ['ovs', 'xdp', 'tcx', 'macvtap'],
      ['tcx', '--placement', 'cross-node'],
    ]) {
      const r = await cnperf(['quick', ...args, '--ip', '6', '--count', '300', '--json', '--db', db]);
      assert.equal(r.code, 0, r.stderr);
      for (const x of (JSON.parse(r.stdout) as { results: Result[] }).results) {
        assert.deepEqual([x.status, x.ip, x.lost], ['ok', 6, 0], `${x.datapath} ${args.join(' ')}`);
        // the node forwards nothing by itself (no ip_forward, no routes): tcx's IPv6 table carried each
        // packet, to the peer container and, across nodes, to the other node's link-local-solicited address
        const actions = x.probes?.bpf?.actions ?? {};
        if (x.datapath === 'tcx') assert.ok((actions.redirect_peer ?? 0) >= 600, JSON.stringify(actions));
        if (args.includes('cross-node')) assert.ok((actions.redirect_neigh ?? 0) >= 600, JSON.stringify(actions));
      }
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('frames the engine builds (raw, raw-ring, AF_XDP) reach the server; AF_XDP carries round trips', async () => {
    const before = hostSnapshot();
    const args = ['quick', 'veth', '--ip', '6', '--workload', 'stream', '--api', 'raw,raw-ring,xdp'];
    const s = await cnperf([...args, '--duration', '2s', '--warmup', '1s', '--json', '--db', db]);
    assert.equal(s.code, 0, s.stderr);
    // raw frames end at the server's UDP socket: arriving at all means the mandatory UDP checksum held
    for (const x of (JSON.parse(s.stdout) as { results: Result[] }).results)
      assert.ok(x.stream!.rx_pps! > 0, `no ${x.stream!.api} frame arrived over IPv6`);
    const r = await cnperf(['quick', 'veth', '--ip', '6', '--api', 'xdp', '--count', '300', '--json', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const [x] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.deepEqual([x!.status, x!.ip, x!.lost], ['ok', 6, 0]);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('refused by name where it is not built, before anything is built', async () => {
    const before = hostSnapshot();
    const ipvlan = await cnperf(['quick', 'ipvlan', '--ip', '6', '--db', db]);
    assert.equal(ipvlan.code, 2);
    assert.match(ipvlan.stderr, /--ip 6: ipvlan does not carry IPv6 yet\n\s+IPv6 is built for: loopback, veth, bridge/);
    // the engine itself: a frame has one family, so --src and the peer's address must share it
    const mixed = spawnSync(
      ENGINE,
      [
        'stream-tx',
        '--server',
        '[2001:2::2]:5',
        '--api',
        'raw',
        '--dev',
        'lo',
        '--dst-mac',
        '02:00:00:00:00:01',
      ].concat(['--src', '198.18.0.1:9', '--duration-ns', '1000000']),
      { encoding: 'utf8' },
    );
    assert.notEqual(mixed.status, 0);
    assert.match(mixed.stdout, /--src and the peer's address are of different families/);
    const dual = await cnperf(['quick', 'veth', 'ipvlan', '--ip', 'dual', '--db', db]);
    assert.equal(dual.code, 2, 'refused before any family is measured');
    assert.deepEqual(hostSnapshot(), before);
  });
});
