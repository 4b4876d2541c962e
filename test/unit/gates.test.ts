/** Pass/fail gates: expectations parsed (with errors that say what is allowed), located in files, judged with
 * intervals. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caseStats } from '../../src/report/cases.js';
import { gateExitCode, judge, wilson } from '../../src/report/gates.js';
import { parseExperimentText } from '../../src/input/experiment-file.js';
import { expandCases } from '../../src/input/matrix.js';
import { parseExpectation } from '../../src/input/expect.js';
import { Histogram } from '../../src/stats/histogram.js';
import type { RunRecord } from '../../src/store/db.js';

/** A stored rr run whose latencies are `ns` (and `failed` failed transactions). */
function rrRun(id: string, ns: number[], failed = 0, tps = 1000): RunRecord {
  const h = new Histogram();
  for (const v of ns) h.record(v);
  return {
    id,
    batch_id: 'b',
    created_at: '2026-11-30T00:00:00Z',
    datapath: 'veth',
    workload: 'rr',
    params: {},
    topology: {},
    env: {},
    status: 'ok',
    problem: null,
    samples: ns.length,
    lost: failed,
    summary: {
      min: 0,
      mean: 0,
      p50: 0,
      p90: 0,
      p99: 0,
      p999: 0,
      p9999: 0,
      max: 0,
      stddev: 0,
      cdf: [],
      transactions_per_s: tps,
      mode: 'rr',
      flows: 1,
    },
    engine: null,
    histogram: h.encode(),
    raw: null,
    series: null,
    probes: null,
  } as unknown as RunRecord;
}

describe('expectations', () => {
  it('parses metric, operator and value with its unit into base units', () => {
    assert.deepEqual(parseExpectation('p99 < 200us'), {
      text: 'p99 < 200us',
      metric: 'p99',
      op: '<',
      threshold: 200_000,
    });
    assert.equal(parseExpectation('rx_pps>=1.5M').threshold, 1.5e6);
    assert.equal(parseExpectation('loss < 0.1%').threshold, 0.001);
    assert.equal(parseExpectation('transactions_per_s > 5k').threshold, 5000);
    assert.equal(parseExpectation('p99.9 <= 1.5ms').threshold, 1.5e6);
  });

  it('names what is wrong and what is allowed', () => {
    assert.throws(() => parseExpectation('p98 < 1ms'), /unknown metric 'p98'; allowed: p50, p99, p99.9, max, rx_pps/);
    assert.throws(() => parseExpectation('p99 == 1ms'), /operator '==' is not allowed; allowed: <= >= < >/);
    assert.throws(
      () => parseExpectation('p99 < 200'),
      /'200' is not a value for p99; expected a duration with its unit/,
    );
    assert.throws(() => parseExpectation('loss < 200%'), /a share, at most 100%/);
    assert.throws(() => parseExpectation('fast please'), /expected METRIC OP VALUE/);
  });

  it('are located in experiment files at file:line:col, and refused for a workload that does not measure them', () => {
    const text =
      'name: g\nworkload: rtt\ndatapaths:\n  - loopback\n  - datapath: veth\n    expect: ["p99 < 1ms", "p42 ' +
      '< 1ms"]\nexpect:\n  - "rx_pps > 10k"\n  - "p99 < 1 parsec"\n';
    assert.throws(
      () => parseExperimentText(text, 'g.yaml'),
      (e: Error) =>
        /g\.yaml:6:27: .*unknown metric 'p42'/.test(e.message) &&
        /g\.yaml:9:5: .*'1 parsec' is not a value for p99/.test(e.message),
    );
    assert.throws(
      () => parseExperimentText(text.replace(', "p42 < 1ms"', '').replace('  - "p99 < 1 parsec"\n', ''), 'g.yaml'),
      /g\.yaml:8:5: .*rx_pps is not measured by the rtt workload \(it is for: stream, load\)/,
    );
    const ok = parseExperimentText(
      'name: g\nworkload: [rtt, stream]\ndatapaths: [veth]\nexpect: ["rx_pps > 10k", "p99 < 1ms"]\n',
      'g.yaml',
    );
    // with several workloads, each expectation goes to the cases that measure it
    assert.deepEqual(
      expandCases(ok.spec, 'full').map((c) => [c.workload, c.expect.map((e) => e.metric)]),
      [
        ['rtt', ['p99']],
        ['stream', ['rx_pps']],
      ],
    );
  });
});

describe('judging', () => {
  it('passes, fails, or is inconclusive when the 95 % interval straddles the threshold', () => {
    const fast = caseStats('k', [
      rrRun(
        'a',
        Array.from({ length: 2000 }, (_, i) => 10_000 + i),
      ),
    ]);
    assert.equal(judge(fast, parseExpectation('p50 < 100us')).verdict, 'pass');
    assert.equal(judge(fast, parseExpectation('p50 < 5us')).verdict, 'fail');
    const j = judge(fast, parseExpectation('p50 < 11us'));
    assert.equal(j.verdict, 'inconclusive', `p50 ${j.value} in [${j.ci95}] straddles 11 µs`);
    assert.match(j.interval, /within one run/);
    assert.equal(judge(fast, parseExpectation('rx_pps > 1k')).verdict, 'unmeasured');
  });

  it('loss is judged with a Wilson interval over the pooled samples', () => {
    const [lo, hi] = wilson(0, 2000)!;
    assert.equal(lo, 0);
    assert.ok(hi > 0.0018 && hi < 0.002, `0 of 2000: up to ${hi}`);
    const c = caseStats('k', [rrRun('a', Array(2000).fill(1000), 0)]);
    assert.equal(judge(c, parseExpectation('loss < 1%')).verdict, 'pass');
    assert.equal(judge(c, parseExpectation('loss < 0.1%')).verdict, 'inconclusive');
  });

  it('rates over repeats: Student t from 3 repeats, none with fewer', () => {
    const one = caseStats('k', [rrRun('a', [1000], 0, 5200)]);
    const j1 = judge(one, parseExpectation('transactions_per_s > 5k'));
    assert.deepEqual([j1.verdict, j1.ci95], ['pass', null]);
    const three = caseStats('k', [
      rrRun('a', [1000], 0, 4000),
      rrRun('b', [1000], 0, 6000),
      rrRun('c', [1000], 0, 5500),
    ]);
    const j3 = judge(three, parseExpectation('transactions_per_s > 5k'));
    assert.equal(j3.verdict, 'inconclusive');
    assert.match(j3.interval, /Student t over 3 repeats/);
  });

  it('exit status: 1 on a failure or nothing measured; inconclusive as told', () => {
    const v = (verdict: 'pass' | 'fail' | 'inconclusive' | 'unmeasured') => ({
      case: 'c',
      expectation: 'e',
      metric: 'p50' as const,
      value: 1,
      ci95: null,
      interval: '',
      verdict,
    });
    assert.equal(gateExitCode([v('pass'), v('pass')], 'fail'), 0);
    assert.equal(gateExitCode([v('pass'), v('fail')], 'pass'), 1);
    assert.equal(gateExitCode([v('unmeasured')], 'pass'), 1);
    assert.equal(gateExitCode([v('inconclusive')], 'fail'), 1);
    assert.equal(gateExitCode([v('inconclusive')], 'pass'), 0);
  });
});
