/**
 * Hostile input, property-based (fast-check): random experiment documents and YAML text, random
 * command lines built from cnperf's own options with injection strings, over-long names and huge
 * counts. Each either fails with a UserError that names what was wrong, or is accepted — and then
 * every value it accepted is checked against the range the option allows, so a hostile value can
 * never slip through as NaN, a negative count or an injected name. These parsers are pure: nothing
 * reaches the host before they accept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { parseExperimentText } from '../../src/input/experiment-file.js';
import { expandCases, SCALES } from '../../src/input/matrix.js';
import { MAX_PAIRS } from '../../src/datapaths/types.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import type { Job } from '../../src/workloads/registry.js';
import type { DatapathOptions } from '../../src/datapaths/types.js';
import { validIfName, validNetnsName } from '../../src/topology/well-formed.js';
import { UserError } from '../../src/util/errors.js';

const INJECTIONS = [
  'a;reboot',
  '$(id)',
  '`id`',
  '../../etc/passwd',
  'x\ny',
  'a b',
  '-rf',
  '--',
  "'",
  '"',
  '\\',
  '%s%n',
  '\u0000',
  'é',
  '🙂',
  'cnp123456789abc',
  '1e309',
  '-1',
  '99999999999999999999',
  'NaN',
  '0x10',
  '',
];
export let tried = 0;

export let accepted = 0;

function onlyUserErrors<T>(f: () => T, check?: (value: T) => void): void {
  tried++;
  let value: T;
  try {
    value = f();
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`not a UserError: ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.message.length > 0 && e.message.length < 20_000, 'a message, of sane length');
    // It names what was wrong: an option, a datapath, a key or a position in the file.
    assert.match(e.message, /--[a-z]|datapath|workload|quick|\d+:\d+|option|'/, e.message);
    return;
  }
  accepted++;
  check?.(value);
}

/** Every number anywhere in v is finite (no NaN or Infinity accepted from text). */
function finiteEverywhere(v: unknown, where = 'value'): void {
  if (typeof v === 'number') assert.ok(Number.isFinite(v), `${where} is ${v}`);
  else if (Array.isArray(v)) v.forEach((x, i) => finiteEverywhere(x, `${where}[${i}]`));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) finiteEverywhere(x, `${where}.${k}`);
}

const intIn = (x: number | undefined, lo: number, hi: number, what: string) => {
  if (x === undefined) return;
  assert.ok(Number.isInteger(x) && x >= lo && x <= hi, `${what} = ${x}, allowed ${lo}..${hi}`);
};

/** What an accepted command or case may contain: every value within its option's range. */
function assertSane(datapaths: readonly string[], jobs: readonly Job[], o: DatapathOptions): void {
  finiteEverywhere(jobs, 'jobs');
  finiteEverywhere(o, 'datapath options');
  intIn(o.pairs, 1, MAX_PAIRS, '--pairs');
  intIn(o.mtu, 1280, 65535, '--mtu');
  intIn(o.vni, 1, 16_777_215, '--vni');
  for (const j of jobs) {
    const p = j.workload === 'load' ? { ...j.params.stream, ...j.params.probe } : j.params;
    intIn(p.size, 16, 65507, '--size');
    if ('count' in p) intIn(p.count, 1, 100_000_000, '--count');
    if ('intervalNs' in p) assert.ok(p.intervalNs >= 0 && p.intervalNs <= 60e9, `interval ${p.intervalNs}`);
    if ('burst' in p) intIn(p.burst, 1, 1024, '--burst');
    if ('ratePps' in p) assert.ok(p.ratePps >= 0, `rate ${p.ratePps}`);
    if ('durationNs' in p && j.workload !== 'load')
      assert.ok(p.durationNs >= 1e9 && p.durationNs <= 86400e9, `duration ${p.durationNs}`);
    for (const c of p.cpus ?? []) intIn(c, 0, 1023, '--cpus');
    if (j.workload === 'sweep') for (const r of j.params.rates) assert.ok(r > 0, `rate ${r}`);
  }
  // Planning is what a run does first: an accepted command plans, with names that fit the kernel.
  for (const d of datapaths) planDatapath(d, 'aaaaaa', 1, o);
}

const hostile = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
);

describe('hostile experiment files', () => {
  it('random documents of the right shape and the wrong values', () => {
    const value = fc.oneof(
      hostile,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(hostile, { maxLength: 4 }),
    );
    const doc = fc.record(
      {
        name: fc.oneof(hostile, fc.constantFrom('ok-name')),
        workload: fc.oneof(hostile, fc.constantFrom('rtt', 'stream', 'sweep', 'load')),
        datapaths: fc.oneof(
          fc.array(fc.oneof(hostile, fc.constantFrom('veth', 'bridge', 'vxlan')), { maxLength: 4 }),
          value,
        ),
        params: fc.dictionary(
          fc.oneof(
            hostile,
            fc.constantFrom('count', 'size', 'rate', 'cpus', 'interval', 'api', 'flows', 'mtu', 'rules'),
          ),
          value,
          { maxKeys: 5 },
        ),
        repeats: value,
        scales: fc.oneof(value, fc.record({ quick: fc.record({ repeats: value }) })),
      },
      { requiredKeys: [] },
    );
    const checkCases = (e: ReturnType<typeof parseExperimentText>) => {
      for (const scale of SCALES)
        for (const c of expandCases(e.spec, scale)) assertSane([c.datapath], c.quick.jobs, c.quick.datapathOptions[0]!);
    };
    fc.assert(
      fc.property(doc, (d) => onlyUserErrors(() => parseExperimentText(stringify(d), 'h.yaml'), checkCases)),
      { numRuns: 400 },
    );
  });

  it('random text and random structures', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (t) => onlyUserErrors(() => parseExperimentText(t, 'h.yaml'))),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (a) =>
        onlyUserErrors(() => parseExperimentText(stringify(a) ?? '', 'h.yaml')),
      ),
      { numRuns: 300 },
    );
  });
});

describe('hostile command lines', () => {
  const OPTIONS = [
    '--count',
    '--interval',
    '--warmup',
    '--timeout',
    '--size',
    '--wait',
    '--pace',
    '--cpus',
    '--rt-prio',
    '--api',
    '--burst',
    '--rate',
    '--duration',
    '--flows',
    '--rcvbuf',
    '--pairs',
    '--placement',
    '--mode',
    '--variant',
    '--vni',
    '--mtu',
    '--offload',
    '--netfilter',
    '--rules',
    '--rps',
    '--xps',
    '--fabric',
    '--workload',
    '--db',
    '--trace',
    '--breakdown',
    '--raw',
    '--json',
    '--bogus',
    '-x',
  ];
  it('options of quick with hostile values, in any order', () => {
    const argv = fc.tuple(
      fc.oneof(fc.constantFrom('veth', 'bridge', 'vxlan', 'macvlan'), hostile),
      fc.array(fc.oneof(fc.constantFrom(...OPTIONS), hostile), { maxLength: 8 }),
    );
    fc.assert(
      fc.property(argv, ([d, rest]) =>
        onlyUserErrors(
          () => parseQuickArgs([d, ...rest]),
          (a) => {
            if (a !== 'help') assertSane(a.datapaths, a.jobs, a.datapathOptions[0]!);
          },
        ),
      ),
      { numRuns: 1500 },
    );
  });

  it('well-formed command lines with values at and beyond their limits: the limits hold exactly', () => {
    const cases: Array<[string[], boolean]> = [
      [['veth', '--count', '100000000'], true],
      [['veth', '--count', '100000001'], false],
      [['veth', '--count', '0'], false],
      [['veth', '--size', '16'], true],
      [['veth', '--size', '15'], false],
      [['veth', '--size', '65507'], true],
      [['veth', '--size', '65508'], false],
      [['veth', '--interval', '60s'], true],
      [['veth', '--interval', '61s'], false],
      [['veth', '--workload', 'stream', '--burst', '1024'], true],
      [['veth', '--workload', 'stream', '--burst', '1025'], false],
      [['veth', '--workload', 'stream', '--duration', '1s', '--warmup', '0s'], true],
      [['veth', '--workload', 'stream', '--duration', '999ms'], false],
      [['veth', '--pairs', String(MAX_PAIRS)], true],
      [['veth', '--pairs', String(MAX_PAIRS + 1)], false],
      [['bridge', '--mtu', '1280'], true],
      [['bridge', '--mtu', '1279'], false],
      [['macvlan', '--mode', 'a;reboot'], false],
      [['veth', '--count', '1e309'], false],
      [['veth', '--count', 'NaN'], false],
    ];
    for (const [argv, ok] of cases) {
      let accepted: ReturnType<typeof parseQuickArgs> | null = null;
      let error: unknown = null;
      try {
        accepted = parseQuickArgs(argv);
      } catch (e) {
        error = e;
      }
      if (ok) {
        assert.equal(error, null, `${argv.join(' ')}: ${String(error)}`);
        if (accepted && accepted !== 'help')
          assertSane(accepted.datapaths, accepted.jobs, accepted.datapathOptions[0]!);
      } else {
        assert.ok(error instanceof UserError, `${argv.join(' ')} was accepted`);
      }
    }
  });
});

it('names: interface names longer than 15 characters and namespace names with / are refused', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 16, maxLength: 40 }), (s) => {
      tried++;
      assert.equal(validIfName(s), false);
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.string(), fc.string(), (a, b) => {
      tried++;
      assert.equal(validNetnsName(`${a}/${b}`), false);
    }),
    { numRuns: 200 },
  );
  assert.equal(validIfName('cnpabcdef-c0'), true);
});

it('counts the hostile inputs tried', () => {
  // node runs the tests above first, in order: at least this many went through.
  assert.ok(tried >= 3000, `tried ${tried}`);
  // Enough of them are accepted for the range checks on accepted values to mean something.
  assert.ok(accepted >= 40, `only ${accepted} accepted`); // about 100 in a typical run (fast-check draws anew each run)
  process.stdout.write(`# hostile inputs tried: ${tried}, accepted and checked: ${accepted}\n`);
});
