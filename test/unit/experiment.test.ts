/**
 * Experiment files: every shipped study validates; a corpus of malformed files each gives the right
 * file:line:col message (and loading touches nothing: it is pure); cases expand as documented.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ExperimentError,
  loadExperiment,
  MAX_EXPERIMENT_BYTES,
  parseExperimentText,
} from '../../src/input/experiment-file.js';
import { cooldownOf, expandCases, repeatsOf } from '../../src/input/matrix.js';
import { experimentJsonSchema } from '../../src/input/experiment-schema.js';
import type { RttParams } from '../../src/workloads/rtt.js';
import type { StreamParams } from '../../src/workloads/stream-params.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-exp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function problemsOf(file: string): string[] {
  try {
    loadExperiment(file);
  } catch (e) {
    assert.ok(e instanceof ExperimentError, `expected an ExperimentError, got ${String(e)}`);
    return e.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);
  }
  assert.fail(`${file} was accepted`);
}

describe('shipped experiments', () => {
  const dir = path.join(ROOT, 'experiments');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('one study per seed paper is shipped', () => {
    for (const name of ['abeni-rtt', 'ara-throughput', 'lei-overlay', 'daichendt-load-latency', 'claassen-modules'])
      assert.ok(files.includes(`${name}.yaml`), name);
  });
  for (const f of files) {
    it(`${f} validates at both scales, and its name is its file's`, () => {
      const e = loadExperiment(path.join(dir, f));
      assert.equal(`${e.spec.name}.yaml`, f);
      assert.ok(expandCases(e.spec, 'quick').length > 0);
      assert.ok(
        expandCases(e.spec, 'full').length >= expandCases(e.spec, 'quick').length || e.spec.scales?.quick?.datapaths,
      );
      assert.ok(repeatsOf(e.spec, 'full') >= 1);
    });
  }
});

describe('malformed experiment files (test/fixtures/experiments/bad)', () => {
  const bad = (f: string) => problemsOf(path.join(FIXTURES, 'experiments', 'bad', f));
  const expected: Record<string, RegExp[]> = {
    'mixed.yaml': [
      /^3:19: unknown datapath 'brdge' \(did you mean 'bridge'\?\)/,
      /^5:3: unknown key 'cuont' \(did you mean 'count'\?\); allowed here: count,/,
      /^6:10: 'repeats': expected number to be >=1/,
      /^7:1: unknown key 'foo'; allowed here: name, description/,
    ],
    'duplicate-key.yaml': [/^3:1: YAML: duplicate key/],
    'syntax.yaml': [/^4:1: YAML: Flow sequence/],
    'types.yaml': [
      /^2:11: 'workload': '5' is not allowed; expected one of rtt, stream, sweep, load/,
      /^3:12: 'datapaths': expected a list, got a string/,
      /^4:10: 'repeats': expected a number, got a string/,
      /^5:8: 'trace': expected a boolean, got a string/,
    ],
    'range.yaml': [/^5:3: quick scale: veth: --count 0: out of range, allowed 1\.\.100000000/],
    'foreign-option.yaml': [/^5:3: quick scale: veth: --breakdown does not apply to --workload stream/],
    'entry.yaml': [
      /^4:22: unknown key 'lable' \(did you mean 'label'\?\)/,
      /^5:5: 'datapaths\.1': expected a datapath name or \{datapath, label, params\}, got number/,
    ],
    'injection.yaml': [/^1:7: 'name': 'a;reboot' is not valid/, /^3:13: unknown datapath '\$\(id\)'/],
    'not-a-map.yaml': [/^1:1: an experiment is a map/],
    'duplicate-case.yaml': [/^3:13: quick scale: two cases are the same: veth\|size=64/],
    'alias-bomb.yaml': [/^1:1: YAML: Excessive alias count .*at most 100 alias expansions/],
    'matrix-bomb.yaml': [
      /^7:3: quick scale: count: 30 × interval: 10 × size: 40 = 12000 cases; an experiment may have at most 10000$/,
    ],
  };
  it('the corpus and the expectations cover each other', () => {
    assert.deepEqual(readdirSync(path.join(FIXTURES, 'experiments', 'bad')).sort(), Object.keys(expected).sort());
  });
  for (const [file, res] of Object.entries(expected)) {
    it(`${file}: every problem, at its line and column`, () => {
      const got = bad(file);
      assert.equal(got.length, res.length, got.join('\n'));
      res.forEach((re, i) => assert.match(got[i]!, re));
    });
  }
  it('the message names the file with each line:col, and says what to read', () => {
    try {
      loadExperiment(path.join(FIXTURES, 'experiments', 'bad', 'mixed.yaml'));
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /bad\/mixed\.yaml: 4 problems\n.*bad\/mixed\.yaml:3:19: /);
      assert.match(e.hint ?? '', /cnperf schema/);
    }
  });
  it('a huge file is refused before it is parsed; binary, missing and directory paths clearly', () => {
    const huge = path.join(tmp, 'huge.yaml');
    writeFileSync(huge, `name: x\ndescription: ${'a'.repeat(MAX_EXPERIMENT_BYTES)}\n`);
    assert.match(problemsOf(huge)[0]!, /is \d+ bytes; an experiment file is at most 1048576 bytes/);
    const bin = path.join(tmp, 'bin.yaml');
    writeFileSync(bin, Buffer.from([0x6e, 0x61, 0, 1, 2]));
    assert.match(problemsOf(bin)[0]!, /binary/);
    assert.throws(() => loadExperiment(path.join(tmp, 'nope.yaml')), /cannot read experiment file .*ENOENT/);
    assert.throws(() => loadExperiment(tmp), /not a file/);
  });
});

describe('cases', () => {
  const spec = (yaml: string) => parseExperimentText(yaml, 'x.yaml').spec;
  it('lists are axes: every combination, keys stable, labels carry the axes', () => {
    const s = spec(
      'name: t\nworkload: stream\ndatapaths: [veth, {datapath: bridge, label: br, params: {flows: [1, ' +
        '2]}}]\nparams: {api: [send, sendmmsg], duration: 2s, warmup: 0s}\n',
    );
    const cases = expandCases(s, 'full');
    assert.deepEqual(
      cases.map((c) => c.label),
      [
        'veth api=send',
        'veth api=sendmmsg',
        'br api=send flows=1',
        'br api=send flows=2',
        'br api=sendmmsg flows=1',
        'br api=sendmmsg flows=2',
      ],
    );
    assert.equal(cases[3]!.key, 'br|api=send,duration=2s,flows=2,warmup=0s');
    assert.equal((cases[3]!.quick.jobs[0]!.params as StreamParams).flows, 2);
  });
  it(
    'precedence: params < scale params < datapath params < overrides (in file order); scale repeats, ' +
      'cooldown and datapaths',
    () => {
      const s = spec(`name: t
workload: rtt
datapaths: [veth, {datapath: bridge, params: {count: 7}}]
params: {count: 1000, interval: 1ms}
repeats: 4
cooldown: 2s
overrides:
  - when: {datapath: bridge}
    params: {interval: 0}
  - when: {params: {count: 50}}
    params: {size: 100}
scales:
  quick: {repeats: 1, params: {count: 50}, cooldown: 0s}
  full: {datapaths: [loopback]}
`);
      const q = expandCases(s, 'quick').map((c) => c.quick.jobs[0]!.params as RttParams);
      assert.deepEqual(
        q.map((p) => [p.count, p.intervalNs, p.size]),
        [
          [50, 1e6, 100],
          [7, 0, 64],
        ],
      );
      assert.equal(repeatsOf(s, 'quick'), 1);
      assert.equal(repeatsOf(s, 'full'), 4);
      assert.deepEqual([cooldownOf(s, 'quick'), cooldownOf(s, 'full')], ['0s', '2s']);
      assert.deepEqual(
        expandCases(s, 'full').map((c) => c.datapath),
        ['loopback'],
      );
    },
  );
  it('several workloads: every case measured with each, each given only the parameters that apply to it', () => {
    const s = spec(
      'name: t\nworkload: [rtt, stream]\ndatapaths: [veth, tcx]\nparams: {count: 500, duration: 3s, burst: ' +
        '[8, 32], size: 100}\n',
    );
    const cases = expandCases(s, 'full');
    assert.deepEqual(
      cases.map((c) => `${c.workload} ${c.label}`),
      [
        'rtt veth',
        'rtt tcx',
        'stream veth burst=8',
        'stream veth burst=32',
        'stream tcx burst=8',
        'stream tcx burst=32',
      ],
    );
    const rtt = cases[0]!.quick.jobs[0]!.params as RttParams;
    assert.deepEqual([rtt.count, rtt.size], [500, 100]);
    assert.deepEqual(
      cases[0]!.params,
      { count: 500, size: 100 },
      'no stream parameter on an rtt case, and the burst axis made it once',
    );
    const st = cases[3]!.quick.jobs[0]!.params as StreamParams;
    assert.deepEqual([st.burst, st.size, st.durationNs], [32, 100, 3e9]);
    assert.notEqual(cases[0]!.key, cases[2]!.key);
    assert.match(cases[0]!.key, /^rtt\|veth\|/);
  });
  it('several workloads: a parameter none of them takes is an error where the file sets it', () => {
    assert.throws(
      () =>
        parseExperimentText('name: t\nworkload: [rtt, stream]\ndatapaths: [veth]\nparams: {settle: 1s}\n', 'x.yaml'),
      /x\.yaml:4:10: quick scale: 'settle' applies to none of the workloads rtt, stream \(it is for: load\)/,
    );
  });
  it('a comma-separated api is refused in favour of a list (one job per case)', () => {
    assert.throws(
      () => parseExperimentText('name: t\nworkload: stream\ndatapaths: [veth]\nparams: {api: "send,raw"}\n', 'x.yaml'),
      /x\.yaml:4:10: quick scale: veth: give 'api' as a list/,
    );
    // a load's levels likewise: each level its own case, the report joins them into one curve
    assert.throws(
      () => parseExperimentText('name: t\nworkload: load\ndatapaths: [veth]\nparams: {rate: "idle,20k"}\n', 'x.yaml'),
      /x\.yaml:4:10: quick scale: veth: give 'rate' as a list/,
    );
    const levels = parseExperimentText(
      'name: t\nworkload: load\ndatapaths: [veth]\nparams: {rate: [idle, 20k]}\n',
      'x.yaml',
    );
    assert.deepEqual(
      expandCases(levels.spec, 'quick').map((c) => c.label),
      ['veth rate=idle', 'veth rate=20k'],
    );
  });
});

it('`cnperf schema`: a JSON Schema of the experiment file, from the same zod schema', () => {
  const s = experimentJsonSchema() as {
    type: string;
    properties: Record<string, unknown>;
    required: string[];
    additionalProperties: boolean;
  };
  assert.equal(s.type, 'object');
  assert.deepEqual(s.required.sort(), ['datapaths', 'name', 'workload']);
  assert.equal(s.additionalProperties, false);
  assert.ok('scales' in s.properties && 'overrides' in s.properties);
  assert.match(JSON.stringify(s.properties.params), /"count"/);
});
