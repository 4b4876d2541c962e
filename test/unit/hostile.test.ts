/**
 * Hostile input, property-based (fast-check): random experiment documents and YAML text, random
 * command lines built from cnperf's own options with injection strings, over-long names and huge
 * counts. Each either parses or fails with a UserError (a clear message, exit 2) — never another
 * exception, never a hang. These parsers are pure: nothing reaches the host before they accept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { parseExperimentText } from '../../src/spec/experiment-file.js';
import { validIfName, validNetnsName } from '../../src/topology/model.js';
import { UserError } from '../../src/util/errors.js';

const INJECTIONS = ['a;reboot', '$(id)', '`id`', '../../etc/passwd', 'x\ny', 'a b', '-rf', '--', "'", '"', '\\', '%s%n', '\u0000', 'é', '🙂', 'cnp123456789abc', '1e309', '-1', '99999999999999999999', 'NaN', '0x10', ''];
export let tried = 0;

function onlyUserErrors(f: () => unknown): void {
  tried++;
  try {
    f();
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`not a UserError: ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.message.length > 0 && e.message.length < 20_000, 'a message, of sane length');
  }
}

const hostile = fc.oneof(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 20 }), fc.integer().map(String), fc.double().map(String));

describe('hostile experiment files', () => {
  it('random documents of the right shape and the wrong values', () => {
    const value = fc.oneof(hostile, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(hostile, { maxLength: 4 }));
    const doc = fc.record(
      {
        name: fc.oneof(hostile, fc.constantFrom('ok-name')),
        workload: fc.oneof(hostile, fc.constantFrom('rtt', 'stream', 'sweep', 'load')),
        datapaths: fc.oneof(fc.array(fc.oneof(hostile, fc.constantFrom('veth', 'bridge', 'vxlan')), { maxLength: 4 }), value),
        params: fc.dictionary(fc.oneof(hostile, fc.constantFrom('count', 'size', 'rate', 'cpus', 'interval', 'api', 'flows', 'mtu', 'rules')), value, { maxKeys: 5 }),
        repeats: value,
        scales: fc.oneof(value, fc.record({ quick: fc.record({ repeats: value }) })),
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(doc, (d) => onlyUserErrors(() => parseExperimentText(stringify(d), 'h.yaml'))), { numRuns: 400 });
  });

  it('random text and random structures', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (t) => onlyUserErrors(() => parseExperimentText(t, 'h.yaml'))), { numRuns: 400 });
    fc.assert(fc.property(fc.anything({ maxDepth: 4 }), (a) => onlyUserErrors(() => parseExperimentText(stringify(a) ?? '', 'h.yaml'))), { numRuns: 300 });
  });
});

describe('hostile command lines', () => {
  const OPTIONS = ['--count', '--interval', '--warmup', '--timeout', '--size', '--wait', '--pace', '--cpus', '--rt-prio', '--api', '--burst', '--rate', '--duration', '--flows', '--rcvbuf', '--pairs', '--placement', '--mode', '--variant', '--vni', '--mtu', '--offload', '--netfilter', '--rules', '--rps', '--xps', '--fabric', '--workload', '--db', '--trace', '--breakdown', '--raw', '--json', '--bogus', '-x'];
  it('options of quick with hostile values, in any order', () => {
    const argv = fc.tuple(fc.oneof(fc.constantFrom('veth', 'bridge', 'vxlan', 'macvlan'), hostile), fc.array(fc.oneof(fc.constantFrom(...OPTIONS), hostile), { maxLength: 8 }));
    fc.assert(fc.property(argv, ([d, rest]) => onlyUserErrors(() => parseQuickArgs([d, ...rest]))), { numRuns: 1500 });
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
  process.stdout.write(`# hostile inputs tried: ${tried}\n`);
});
