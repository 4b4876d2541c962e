/** TCP transactions: the engine's rr/crr events (captured), their command lines, parameters and results. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  parseEngineLine,
  rrClientArgv,
  rrServerArgv,
  type RrClientResult,
  type RrServerResult,
} from '../../src/engine-client/protocol.js';
import { parseOptionValues } from '../../src/options/options.js';
import { planQuick } from '../../src/input/quick-plan.js';
import { rrOutcomeOf, rrParams } from '../../src/workloads/rr.js';
import { FIXTURES } from '../helpers/paths.js';

const events = (name: string) =>
  readFileSync(path.join(FIXTURES, name), 'utf8').trim().split('\n').map(parseEngineLine);

describe('rr and crr workloads', () => {
  it('parses real rr and crr client runs and the server: every transaction once, histogram = received', () => {
    const rr = events('engine-rr-client.ndjson').at(-1) as RrClientResult;
    assert.equal(rr.role, 'rr-client');
    assert.equal(rr.mode, 'rr');
    assert.equal(rr.flows, 2);
    assert.equal(rr.attempted, rr.received + rr.failed);
    assert.equal(rr.completed, rr.received + rr.warmup - rr.warmup_failed);
    const crr = events('engine-crr-client.ndjson').at(-1) as RrClientResult;
    assert.equal(crr.mode, 'crr');
    assert.equal(crr.close, 'rst');
    const srv = events('engine-rr-server.ndjson').at(-1) as RrServerResult;
    assert.equal(srv.role, 'rr-server');
    // one rr connection per flow, then a connection per crr transaction (warm-up included)
    assert.equal(srv.accepted, rr.flows + crr.issued);
    assert.equal(srv.served, rr.completed + crr.completed);
    const out = rrOutcomeOf(crr, srv, null);
    assert.equal(out.samples, crr.received);
    assert.ok(out.summary && out.summary.p50 >= crr.min_ns && out.summary.p50 <= crr.max_ns);
    // the rate counts every completed transaction over the client's whole run
    assert.equal(out.summary.transactions_per_s, (crr.completed * 1e9) / crr.duration_ns);
  });

  it(
    'defaults as netperf (1-byte request and response, back to back); --response-size follows --size ' + 'unless given',
    () => {
      const p = rrParams('rr', parseOptionValues({}));
      assert.deepEqual([p.size, p.responseSize, p.intervalNs, p.flows], [1, 1, 0, 1]);
      assert.equal(rrParams('crr', parseOptionValues({ size: '100' })).responseSize, 100);
      assert.equal(rrParams('crr', parseOptionValues({ size: '100', 'response-size': '7' })).responseSize, 7);
    },
  );

  it('builds the engine command lines: crr flag, flows, both sizes on both ends', () => {
    const s = rrServerArgv({ bind: '198.18.0.2', port: 8080, size: 32, responseSize: 1000, wait: 'block' });
    assert.deepEqual(s.slice(0, 7), [
      'rr-server',
      '--bind',
      '198.18.0.2:8080',
      '--size',
      '32',
      '--response-size',
      '1000',
    ]);
    const c = rrClientArgv({
      server: '198.19.128.1',
      port: 80,
      crr: true,
      flows: 4,
      count: 10,
      warmup: 1,
      intervalNs: 0,
      timeoutNs: 1e9,
      size: 32,
      responseSize: 1000,
      maxConsecutiveLost: 5,
      wait: 'block',
    });
    assert.ok(
      c.includes('--crr') && c[c.indexOf('--flows') + 1] === '4' && c[c.indexOf('--server') + 1] === '198.19.128.1:80',
    );
  });

  it('takes 1-byte requests, which UDP workloads refuse (their payload carries a 16-byte header)', () => {
    assert.equal(planQuick(['veth'], { workload: 'rr', size: '1' }).jobs.length, 1);
    assert.throws(
      () => planQuick(['veth'], { workload: 'rtt', size: '8' }),
      /--size 8: a UDP payload carries cnperf's 16-byte header/,
    );
    assert.throws(
      () => planQuick(['veth'], { workload: 'rtt', flows: '2' }),
      /--flows does not apply to --workload rtt/,
    );
  });
});
