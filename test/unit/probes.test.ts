/**
 * The probes' parsers against real captured output (test/fixtures/procfs, test/fixtures/trace) and
 * the arithmetic that turns counters into per-packet figures.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cpuShare, parseProcStat } from '../../src/probes/cpu.js';
import { deviceDelta, parseLinkStats } from '../../src/probes/devices.js';
import { dataLocString, parseEventFormat, parseRingBufferPages } from '../../src/probes/ringbuffer.js';
import { parsePerfReport } from '../../src/probes/perf.js';
import { summarizeProbes, traceBufferKb } from '../../src/probes/session.js';
import { parseSnmp, parseSnmp6, snmpErrorDeltas } from '../../src/probes/snmp.js';
import { parseInterruptTotals, parseSoftirqs } from '../../src/probes/softirqs.js';
import type { HostSample } from '../../src/probes/timeline.js';
import { deviceFilter, parseLostEvents, TraceAggregator } from '../../src/probes/tracepoints.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import { FIXTURES } from '../helpers/paths.js';

const procfs = (f: string) => readFileSync(path.join(FIXTURES, 'procfs', f), 'utf8');
const trace = (f: string) => readFileSync(path.join(FIXTURES, 'trace', f));

describe('procfs probes (captured on this machine)', () => {
  it('parses /proc/stat per CPU and the all-CPU line', () => {
    const s = parseProcStat(procfs('stat.txt'));
    assert.equal(s.cpus.length, 2);
    assert.ok(s.all.user >= s.cpus[0]!.user && s.all.idle > 0);
    // The kernel sums per-CPU nanoseconds before converting to ticks: the total may be one tick off.
    assert.ok(Math.abs(s.all.softirq - (s.cpus[0]!.softirq + s.cpus[1]!.softirq)) <= 2);
    assert.throws(() => parseProcStat('intr 1 2 3'), /no "cpu" line/);
  });

  it('CPU shares are the deltas of each kind of time, adding up to 1', () => {
    const a = { user: 100, nice: 0, system: 50, idle: 800, iowait: 0, irq: 0, softirq: 50, steal: 0 };
    const b = { user: 130, nice: 10, system: 70, idle: 880, iowait: 0, irq: 0, softirq: 110, steal: 0 };
    const s = cpuShare(a, b)!;
    assert.deepEqual(s, { usr: 0.2, sys: 0.1, softirq: 0.3, irq: 0, idle: 0.4, steal: 0 });
    assert.equal(cpuShare(a, a), null, 'no time passed: no share');
  });

  it('parses /proc/softirqs per vector and CPU, and /proc/interrupts totals per CPU', () => {
    const sq = parseSoftirqs(procfs('softirqs.txt'));
    assert.deepEqual(Object.keys(sq), [
      'HI',
      'TIMER',
      'NET_TX',
      'NET_RX',
      'BLOCK',
      'IRQ_POLL',
      'TASKLET',
      'SCHED',
      'HRTIMER',
      'RCU',
    ]);
    assert.equal(sq.NET_RX!.length, 2);
    assert.ok(sq.NET_RX![0]! > 0);
    const irqs = parseInterruptTotals(procfs('interrupts.txt'));
    assert.equal(irqs.length, 2);
    // LOC alone is per-CPU and large; ERR/MIS (one column) must not shift the sums.
    const loc = /^\s*LOC:\s+(\d+)\s+(\d+)/m.exec(procfs('interrupts.txt'))!;
    assert.ok(irqs[0]! >= Number(loc[1]) && irqs[1]! >= Number(loc[2]));
    assert.deepEqual(
      parseInterruptTotals('           CPU0       CPU1\n  1:   5   7   IO-APIC x\nERR:   3\nLOC:  10  20  Local\n'),
      [15, 27],
    );
  });

  it('parses /proc/net/snmp and reports only the error counters that moved', () => {
    const s = parseSnmp(procfs('snmp.txt'));
    assert.ok(s.Udp && 'RcvbufErrors' in s.Udp && 'InDatagrams' in s.Udp);
    assert.ok(s.Ip && 'InDiscards' in s.Ip);
    const after = structuredClone(s);
    after.Udp!.RcvbufErrors! += 7;
    after.Udp!.InDatagrams! += 1000; // traffic, not an error
    assert.deepEqual(snmpErrorDeltas(s, after), { 'Udp.RcvbufErrors': 7 });
    assert.throws(() => parseSnmp('Ip: a b\nUdp: 1 2\n'), /header followed by/);
  });

  it("parses /proc/net/snmp6 (IPv6's counters, one a line) beside snmp's, and its errors' deltas", () => {
    const text = procfs('snmp.txt') + procfs('snmp6.txt');
    const s = { ...parseSnmp(text), ...parseSnmp6(text) };
    assert.ok(s.Udp6 && 'RcvbufErrors' in s.Udp6 && 'InDatagrams' in s.Udp6);
    assert.ok(s.Ip6 && 'InDiscards' in s.Ip6 && s.Icmp6 && 'InErrors' in s.Icmp6);
    assert.ok(s.Udp && 'RcvbufErrors' in s.Udp, 'snmp6 lines broke the snmp parse');
    const after = structuredClone(s);
    after.Udp6!.RcvbufErrors! += 3;
    after.Ip6!.InNoRoutes! += 2;
    assert.deepEqual(snmpErrorDeltas(s, after), { 'Ip6.InNoRoutes': 2, 'Udp6.RcvbufErrors': 3 });
  });

  it('parses `ip -s -j link` counters and their deltas', () => {
    const l = parseLinkStats(procfs('ip-s-link.json'));
    assert.ok(l.lo && l.lo.rx_packets > 0 && l.lo.rx_packets === l.lo.tx_packets);
    const d = deviceDelta(l.lo, { ...l.lo, rx_packets: l.lo.rx_packets + 5, rx_dropped: l.lo.rx_dropped + 1 });
    assert.equal(d.rx_packets, 5);
    assert.equal(d.rx_dropped, 1);
    assert.equal(d.tx_packets, 0);
  });
});

describe('tracefs ring buffer (captured: 101 round trips on lo, see test/fixtures/README.md)', () => {
  const formats = {
    'irq/softirq_entry': parseEventFormat(trace('softirq_entry.format').toString()),
    'irq/softirq_exit': parseEventFormat(trace('softirq_exit.format').toString()),
    'net/netif_receive_skb': parseEventFormat(trace('netif_receive_skb.format').toString()),
    'net/net_dev_xmit': parseEventFormat(trace('net_dev_xmit.format').toString()),
  };

  it('parses event formats: ids and field offsets', () => {
    const rx = formats['net/netif_receive_skb'];
    assert.equal(rx.name, 'netif_receive_skb');
    assert.ok(rx.id > 0);
    assert.deepEqual(rx.fields.name, { offset: 20, size: 4 });
    assert.deepEqual(formats['irq/softirq_entry'].fields.vec, { offset: 8, size: 4 });
    assert.throws(() => parseEventFormat('garbage'), /not a tracefs event format/);
  });

  it('decodes every event of the binary pages: the same counts and first timestamp as the text trace', () => {
    const text = trace('trace.txt').toString();
    const countIn = (name: string) => text.split('\n').filter((l) => l.includes(` ${name}:`)).length;
    const byId = new Map(Object.values(formats).map((f) => [f.id, f.name]));
    const counts: Record<string, number> = {};
    const rxDevices = new Set<string>();
    let first: bigint | null = null;
    for (const cpu of [0, 1]) {
      const st = parseRingBufferPages(trace(`cpu${cpu}.raw`), 4096, (e) => {
        const name = byId.get(e.type) ?? `?${e.type}`;
        counts[name] = (counts[name] ?? 0) + 1;
        if (name === 'netif_receive_skb')
          rxDevices.add(dataLocString(e.data, formats['net/netif_receive_skb'].fields.name!.offset));
        if (first === null || e.ts < first) first = e.ts;
      });
      assert.equal(st.missedMarks, 0);
    }
    for (const name of ['softirq_entry', 'softirq_exit', 'netif_receive_skb', 'net_dev_xmit'])
      assert.equal(counts[name], countIn(name), name);
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      Number(/entries-written: \d+\/(\d+)/.exec(text)![1]),
    );
    assert.deepEqual([...rxDevices], ['lo']);
    // The text trace prints µs, rounded to nearest (ns2usecs): the earliest event's must match.
    const firstText = text.split('\n').find((l) => /^\s+\S.*\[\d{3}\]/.test(l))!;
    const textTs = /(\d+)\.(\d{6}):/.exec(firstText)!;
    assert.equal(((first! + 500n) / 1000n).toString(), `${textTs[1]}${textTs[2]}`);
  });

  it('aggregates softirq durations per vector and receives per device', () => {
    const agg = new TraceAggregator(formats);
    for (const cpu of [0, 1]) agg.addCpuPages(cpu, trace(`cpu${cpu}.raw`), 4096);
    const s = agg.summary(0);
    assert.equal(s.receive_by_device.lo, 202, '101 round trips on lo: one receive per packet');
    assert.equal(s.xmit_by_device.lo, 202);
    const netRx = s.softirq.NET_RX!;
    assert.ok(netRx.count >= 200, `NET_RX softirqs: ${netRx.count}`);
    assert.ok(netRx.p50_ns > 0 && netRx.p50_ns <= netRx.p99_ns && netRx.p99_ns <= netRx.max_ns);
    const pairs = Object.values(s.softirq).reduce((a, v) => a + v.count, 0);
    assert.ok(pairs <= 282 && pairs >= 270, `paired softirqs: ${pairs} of 282 entries`);
  });

  it('filters, lost-event accounting and buffer sizing', () => {
    assert.equal(deviceFilter(['cnpabc123-*', 'lo']), 'name ~ "cnpabc123-*" || name == "lo"');
    assert.equal(parseLostEvents(trace('stats0.txt').toString()), 0);
    assert.equal(parseLostEvents('entries: 5\noverrun: 3\ncommit overrun: 0\ndropped events: 4\n'), 7);
    assert.equal(traceBufferKb(100), 4096, 'at least 4 MiB per CPU');
    assert.equal(traceBufferKb(100_000), 29297, '300 B per packet');
    assert.equal(traceBufferKb(1e9), 131072, 'at most 128 MiB per CPU');
  });
});

describe('probe summary', () => {
  const topo = planDatapath('bridge', 'abc123');
  const { client, server } = topo.endpoints;
  const times = (softirq: number, idle: number) => ({
    user: 0,
    nice: 0,
    system: 0,
    idle,
    iowait: 0,
    irq: 0,
    softirq,
    steal: 0,
  });
  const sample = (t: number, netRx: number[], soft: number): HostSample => ({
    t_ms: t,
    stat: { all: times(2 * soft, 2 * (t - soft)), cpus: [times(0, t), times(soft, t - soft)] },
    softirqs: { NET_RX: netRx, NET_TX: [0, 0] },
    irqs: [t, 0],
  });
  const dev = (rx: number) => ({
    rx_packets: rx,
    tx_packets: rx,
    rx_bytes: 0,
    tx_bytes: 0,
    rx_dropped: 0,
    tx_dropped: 0,
  });
  const before = {
    devices: { [client.netns]: { [client.dev]: dev(0) }, [server.netns]: { [server.dev]: dev(0) } },
    snmp: {},
  };
  const after = {
    devices: { [client.netns]: { [client.dev]: dev(500) }, [server.netns]: { [server.dev]: dev(500) } },
    snmp: {},
  };

  it("per packet = per packet delivered to an endpoint device; the server core's CPU split", () => {
    const r = summarizeProbes(
      { topo, cpus: [0, 1] },
      [sample(0, [0, 0], 0), sample(100, [100, 400], 20)],
      before,
      after,
      null,
      [],
    );
    assert.equal(r.packets, 1000);
    assert.equal(r.net_rx_softirqs_per_packet, 0.5);
    assert.equal(r.irqs_per_packet, 0.1);
    assert.equal(r.cpu.server?.cpu, 1);
    assert.equal(r.cpu.server?.softirq, 0.2);
    assert.equal(r.traversals_per_packet, null, 'no trace: no traversals');
    assert.equal(r.timeline.length, 1);
  });

  it("traversals: receives on the datapath's devices per receive on an endpoint device", () => {
    const t = topo.links.find((l) => l.kind === 'veth' && l.netns === client.netns)!;
    assert.equal(t.kind === 'veth' && t.peer, `cnpabc123-cb`);
    const traceSummary = {
      events: 0,
      lost_events: 0,
      softirq: {
        NET_RX: { count: 10, p50_ns: 1000, p99_ns: 5000, max_ns: 20000, total_ns: 1 },
        TIMER: { count: 1, p50_ns: 1, p99_ns: 1, max_ns: 30000, total_ns: 1 },
      },
      // each packet enters a stack at the bridge port, then at the endpoint: 2 traversals
      receive_by_device: { 'cnpabc123-cb': 500, 'cnpabc123-sb': 500, [client.dev]: 500, [server.dev]: 500 },
      xmit_by_device: { [client.dev]: 500, [server.dev]: 500, 'cnpabc123-cb': 500, 'cnpabc123-sb': 500 },
    };
    const r = summarizeProbes(
      { topo },
      [sample(0, [0, 0], 0), sample(100, [0, 0], 0)],
      before,
      after,
      traceSummary,
      [],
    );
    assert.equal(r.traversals_per_packet, 2, 'the bridge port, then the endpoint');
    assert.equal(r.xmits_per_packet, 2);
    assert.equal(r.softirq_max_ns, 30000, 'the longest softirq of any vector');
  });

  it(
    "traversals under bpf_redirect_peer: one pass per packet, though the tracepoint names the node's " +
      'device, not the endpoint',
    () => {
      const tcx = planDatapath('tcx', 'abc123');
      const [c, s] = [tcx.endpoints.client, tcx.endpoints.server];
      const b = { devices: { [c.netns]: { [c.dev]: dev(0) }, [s.netns]: { [s.dev]: dev(0) } }, snmp: {} };
      const a = { devices: { [c.netns]: { [c.dev]: dev(500) }, [s.netns]: { [s.dev]: dev(500) } }, snmp: {} };
      const receives = { 'cnpabc123-cv': 500, 'cnpabc123-sv': 500 };
      const trace = {
        events: 0,
        lost_events: 0,
        softirq: {},
        receive_by_device: receives,
        xmit_by_device: { [c.dev]: 500, [s.dev]: 500 },
      };
      const r = summarizeProbes({ topo: tcx }, [sample(0, [0, 0], 0), sample(100, [0, 0], 0)], b, a, trace, []);
      assert.equal(r.traversals_per_packet, 1, "the node-side end's pass carries the packet into the container");
      // A trace cut short by a full buffer covers 100 of the packets: per packet sent within it.
      const cut = summarizeProbes(
        { topo },
        [sample(0, [0, 0], 0), sample(100, [0, 0], 0)],
        before,
        after,
        {
          ...trace,
          lost_events: 7,
          receive_by_device: { 'cnpabc123-cb': 50, 'cnpabc123-sb': 50, [server.dev]: 50, [client.dev]: 50 },
          xmit_by_device: { [client.dev]: 50, [server.dev]: 50 },
        },
        [],
      );
      assert.equal(cut.traversals_per_packet, 2, 'bridge: the port, then the endpoint');
      const cutTcx = summarizeProbes(
        { topo: tcx },
        [sample(0, [0, 0], 0), sample(100, [0, 0], 0)],
        b,
        a,
        {
          ...trace,
          lost_events: 7,
          receive_by_device: { 'cnpabc123-cv': 50, 'cnpabc123-sv': 50 },
          xmit_by_device: { [c.dev]: 50, [s.dev]: 50 },
        },
        [],
      );
      assert.equal(
        cutTcx.traversals_per_packet,
        1,
        'redirect_peer: no receive on the endpoint, still one pass per packet',
      );
    },
  );
});

describe('perf profile', () => {
  it('parses `perf report --sort sym` (captured): kernel symbols, shares of busy time, the idle loop set apart', () => {
    const p = parsePerfReport(procfs('perf-report.txt'));
    assert.ok(p.idle_share > 0.5, `idle ${p.idle_share}: the capture was of a mostly idle machine`);
    assert.ok(!p.top.some((f) => f.symbol === 'pv_native_safe_halt'));
    const first = p.top[0]!;
    assert.equal(first.symbol, '_raw_spin_unlock_irqrestore');
    assert.equal(first.kernel, true);
    assert.equal(first.share, 0.1159);
    assert.ok(Math.abs(first.busy_share - 0.1159 / (1 - p.idle_share)) < 1e-3);
    assert.ok(
      p.top.every((f) => f.kernel),
      'kernel symbols only: user space is mostly cnperf itself',
    );
    assert.ok(procfs('perf-report.txt').includes('[.] __libc_recvmsg'));
    assert.deepEqual(parsePerfReport('garbage\n'), { idle_share: 0, top: [] });
  });
});
