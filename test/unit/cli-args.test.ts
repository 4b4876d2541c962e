import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs, type QuickArgs } from '../../src/cli/quick.js';
import type { RttParams } from '../../src/workloads/rtt.js';
import type { StreamParams } from '../../src/workloads/stream-params.js';
import { UserError } from '../../src/util/errors.js';
import { parseDuration } from '../../src/util/units.js';
import { joined } from '../helpers/regex.js';

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(`${e.message}\n${e.hint ?? ''}`, re);
    return true;
  });
}

function rtt(a: QuickArgs | 'help'): RttParams {
  assert.ok(a !== 'help' && a.jobs.length === 1 && a.jobs[0]!.workload === 'rtt');
  return a.jobs[0]!.params as RttParams;
}

function streams(a: QuickArgs | 'help'): StreamParams[] {
  assert.ok(a !== 'help');
  return a.jobs.map((j) => {
    assert.equal(j.workload, 'stream');
    return j.params as StreamParams;
  });
}

describe('quick arguments', () => {
  it('parses the seed-000 pattern', () => {
    const a = parseQuickArgs([
      'loopback',
      'veth',
      'bridge',
      '--count',
      '10000',
      '--interval',
      '1ms',
      '--size',
      '100',
      '--wait',
      'spin',
      '--cpus',
      '0,1',
      '--rt-prio',
      '50',
      '--warmup',
      '3',
      '--json',
    ]);
    assert.ok(a !== 'help');
    assert.deepEqual(a.datapaths, ['loopback', 'veth', 'bridge']);
    const p = rtt(a);
    assert.equal(p.count, 10000);
    assert.equal(p.intervalNs, 1_000_000);
    assert.equal(p.size, 100);
    assert.equal(p.wait, 'spin');
    assert.deepEqual(p.cpus, [0, 1]);
    assert.equal(p.rtPrio, 50);
    assert.equal(p.warmup, 3);
    assert.equal(a.json, true);
  });

  it('defaults: 10000 packets every 1 ms, first discarded, 64 B, blocking', () => {
    const p = rtt(parseQuickArgs(['veth']));
    assert.equal(p.count, 10000);
    assert.equal(p.intervalNs, 1_000_000);
    assert.equal(p.warmup, 1);
    assert.equal(p.size, 64);
    assert.equal(p.wait, 'block');
    assert.equal(p.pace, 'sleep');
    assert.equal(p.cpus, undefined);
  });

  it('--interval 0 means back to back', () => {
    assert.equal(rtt(parseQuickArgs(['veth', '--interval', '0'])).intervalNs, 0);
  });

  it('names what is wrong and what is allowed', () => {
    userError(() => parseQuickArgs([]), /name at least one datapath/);
    userError(() => parseQuickArgs(['vet']), /unknown datapath 'vet' \(did you mean 'veth'\?\)/);
    userError(
      () => parseQuickArgs(['veth', '--cuont', '5']),
      joined(
        /unknown option '--cuont' \(did you mean '--count'\?\)\n/,
        /usage: cnperf quick DATAPATH\.\.\. [^\n]*\n'cnperf quick --help' lists every option$/,
      ),
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'strem']),
      /--workload 'strem': expected rtt, stream, .* \(did you mean 'stream'\?\)/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'sendmsg']),
      /--api 'sendmsg': .* \(did you mean 'sendmmsg'\?\)/,
    );
    userError(() => parseQuickArgs(['veth', '--placement', 'cross-nod']), /did you mean 'cross-node'\?/);
    userError(() => parseQuickArgs(['veth', '--count']), /'--count' needs a value/);
    userError(() => parseQuickArgs(['veth', '--count', '0']), /--count 0: out of range, allowed 1\.\./);
    userError(() => parseQuickArgs(['veth', '--count', 'ten']), /expected a whole number/);
    userError(() => parseQuickArgs(['veth', '--interval', '1']), /give a unit/);
    userError(() => parseQuickArgs(['veth', '--interval', 'soon']), /expected a duration/);
    userError(
      () => parseQuickArgs(['veth', '--size', '8']),
      /--size 8: a UDP payload carries cnperf's 16-byte header: allowed 16\.\.65507/,
    );
    userError(() => parseQuickArgs(['veth', '--wait', 'poll']), /expected block or spin/);
    userError(() => parseQuickArgs(['veth', '--pace', 'busy']), /expected sleep .* or auto/);
    userError(() => parseQuickArgs(['veth', '--cpus', '0']), /expected CLIENT,SERVER/);
    userError(() => parseQuickArgs(['veth', '--cpus', '0,4096']), /out of range/);
    userError(() => parseQuickArgs(['veth', '--rt-prio', '100']), /allowed 1\.\.99/);
    userError(() => parseQuickArgs(['veth', '--timeout', '0']), /allowed 1us\.\.60s/);
    userError(() => parseQuickArgs(['veth', 'veth']), /named twice/);
  });

  it("stream: the issue's command, and seed 001 Table 1 as one API list", () => {
    const [p] = streams(
      parseQuickArgs([
        'bridge',
        '--workload',
        'stream',
        '--size',
        '64',
        '--burst',
        '64',
        '--api',
        'sendmmsg',
        '--duration',
        '20s',
        '--warmup',
        '5s',
      ]),
    );
    assert.deepEqual(
      [p!.api, p!.size, p!.burst, p!.durationNs, p!.warmupNs, p!.ratePps],
      ['sendmmsg', 64, 64, 20e9, 5e9, 0],
    );
    const table1 = streams(
      parseQuickArgs([
        'bridge',
        '--workload',
        'stream',
        '--api',
        'send,sendmmsg,raw,raw-mmsg,tcp',
        '--burst',
        '64',
        '--rate',
        '250k',
        '--qdisc-bypass',
      ]),
    );
    assert.deepEqual(
      table1.map((x) => x.api),
      ['send', 'sendmmsg', 'raw', 'raw-mmsg', 'tcp'],
    );
    assert.deepEqual(
      table1.map((x) => x.burst),
      [64, 64, 64, 64, 1],
    ); // TCP has no bursts
    assert.deepEqual(
      table1.map((x) => x.qdiscBypass),
      [false, false, true, true, false],
    ); // raw only
    assert.ok(table1.every((x) => x.ratePps === 250_000));
    const d = streams(parseQuickArgs(['veth', '--workload', 'stream']))[0]!;
    assert.deepEqual([d.api, d.size, d.burst, d.ratePps, d.durationNs, d.warmupNs], ['send', 64, 1, 0, 10e9, 2e9]);
  });

  it('a TCP stream writes 128 KiB by default and up to 1 MiB; UDP payloads and rr requests stop at 65507', () => {
    const [send, tcp] = streams(parseQuickArgs(['veth', '--workload', 'stream', '--api', 'send,tcp']));
    assert.deepEqual([send!.size, tcp!.size], [64, 128 * 1024]);
    const [big] = streams(parseQuickArgs(['veth', '--workload', 'stream', '--api', 'tcp', '--size', '1048576']));
    assert.equal(big!.size, 1 << 20);
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'tcp,send', '--size', '100000']),
      /--size 100000: a UDP payload \(--api send\) is at most 65507 bytes/,
    );
    userError(
      () => parseQuickArgs(['veth', '--size', '70000']),
      /a UDP payload \(and an rr\/crr request\) is at most 65507/,
    );
    userError(() => parseQuickArgs(['veth', '--workload', 'rr', '--size', '70000']), /at most 65507/);
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'tcp', '--size', '1048577']), /1048576/);
  });

  it("--congestion: a TCP stream's congestion control, passed to its sender; refused elsewhere and malformed", () => {
    const [tcp] = streams(parseQuickArgs(['veth', '--workload', 'stream', '--api', 'tcp', '--congestion', 'bbr']));
    assert.equal(tcp!.congestion, 'bbr');
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--congestion', 'bbr']),
      /--congestion .* applies to --api tcp/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'tcp', '--congestion', 'BBR;x']),
      /--congestion 'BBR;x': expected a congestion control's name/,
    );
  });

  it('stream: errors name the option and what is allowed', () => {
    userError(() => parseQuickArgs(['veth', '--workload', 'flood']), /expected rtt, stream, sweep/);
    userError(() => parseQuickArgs(['veth', '--burst', '8']), /--burst does not apply to --workload rtt[\s\S]*--count/);
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--count', '8']),
      /--count does not apply to --workload stream[\s\S]*--burst/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'send,rdma']),
      /--api 'rdma': expected one or more of send, sendmmsg, gso, raw, raw-mmsg, raw-ring, xdp, tcp/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'send,dpdk']),
      /--api dpdk: the DPDK datapaths \(testpmd\) use it by themselves/,
    );
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'send,send']), /named twice/);
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--api', 'raw', '--size', '1500']),
      /at most 1472 bytes/,
    );
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--qdisc-bypass']), /raw APIs only/);
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--rate', 'fast']), /expected packets per second/);
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--duration', '3s', '--warmup', '3s']),
      /no steady-state second/,
    );
    // the engine counts whole seconds: after a 0.5 s warm-up the first starts at 1 s, so 1.5 s holds none
    // (ara-rate-curves' quick scale once did)
    userError(
      () => parseQuickArgs(['veth', '--workload', 'sweep', '--rate', '10k', '--duration', '1.5s', '--warmup', '0.5s']),
      /no steady-state second .*starts at 1 s/,
    );
    assert.notEqual(parseQuickArgs(['veth', '--workload', 'stream', '--duration', '2s', '--warmup', '0.5s']), 'help');
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--warmup', '5']), /give a unit/);
    userError(() => parseQuickArgs(['veth', '--workload', 'stream', '--burst', '2000']), /allowed 1\.\.1024/);
    userError(
      () => parseQuickArgs(['loopback', '--workload', 'stream', '--api', 'send,raw']),
      /datapath 'loopback': the raw APIs send Ethernet frames.*never reach the IP layer/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--flows', '129']),
      /--flows 129: out of range, allowed 1\.\.128/,
    );
    userError(
      () => parseQuickArgs(['veth', '--workload', 'sweep', '--rate', '1k', '--flows', '2']),
      /--flows does not apply to --workload sweep/,
    );
    assert.equal(streams(parseQuickArgs(['veth', '--workload', 'stream', '--flows', '16']))[0]!.flows, 16);
  });

  it('--help is not an error', () => {
    assert.equal(parseQuickArgs(['--help']), 'help');
  });
});

describe('durations', () => {
  it('parses units into nanoseconds', () => {
    assert.equal(parseDuration('1ms', 'x'), 1_000_000);
    assert.equal(parseDuration('250us', 'x'), 250_000);
    assert.equal(parseDuration('2s', 'x'), 2e9);
    assert.equal(parseDuration('1.5ms', 'x'), 1_500_000);
    assert.equal(parseDuration('0', 'x'), 0);
    assert.equal(parseDuration('100ns', 'x'), 100);
  });
});

describe('probe and buffer options', () => {
  it('--trace for every workload, --breakdown for rtt only, --rcvbuf in bytes for streams', () => {
    const rtt = parseQuickArgs(['veth', '--trace', '--breakdown']) as QuickArgs;
    assert.equal(rtt.trace, true);
    assert.equal((rtt.jobs[0]!.params as RttParams).breakdown, true);
    assert.equal((parseQuickArgs(['veth']) as QuickArgs).trace, false);
    assert.throws(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--breakdown']),
      /--breakdown does not apply to --workload stream/,
    );
    const s = parseQuickArgs(['veth', '--workload', 'stream', '--rcvbuf', '4M', '--trace']) as QuickArgs;
    assert.equal((s.jobs[0]!.params as StreamParams).rcvbuf, 4 << 20);
    assert.throws(
      () => parseQuickArgs(['veth', '--workload', 'stream', '--rcvbuf', '1K']),
      /--rcvbuf 1K: out of range, allowed 4096/,
    );
    assert.throws(() => parseQuickArgs(['veth', '--workload', 'stream', '--rcvbuf', 'lots']), /expected bytes/);
  });
});
