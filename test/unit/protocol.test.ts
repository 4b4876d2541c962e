import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ProtocolError,
  parseEngineLine,
  parseRawSamples,
  rttClientArgv,
  rttServerArgv,
} from '../../src/engine-client/protocol.js';
import { Histogram } from '../../src/stats/histogram.js';
import { FIXTURES } from '../helpers/paths.js';

/** Lines captured from the real engine (see test/fixtures/README.md). */
function fixture(name: string) {
  return readFileSync(path.join(FIXTURES, name), 'utf8').trim().split('\n').map(parseEngineLine);
}

describe('engine protocol', () => {
  it('parses a real client run: hello, ready, result with a histogram', () => {
    const [hello, ready, result] = fixture('engine-rtt-client.ndjson');
    assert.equal(hello?.event, 'hello');
    assert.equal(ready?.event, 'ready');
    assert.ok(result?.event === 'result' && result.role === 'rtt-client');
    assert.equal(result.received + result.lost, result.attempted);
    const h = Histogram.fromEngine(result.hist, { min: result.min_ns, max: result.max_ns });
    assert.equal(h.total, result.received);
    assert.ok(h.valueAtQuantile(0.5) >= result.min_ns && h.valueAtQuantile(0.5) <= result.max_ns);
  });

  it('parses a real server run', () => {
    const events = fixture('engine-rtt-server.ndjson');
    const result = events.at(-1)!;
    assert.ok(result.event === 'result' && result.role === 'rtt-server' && result.echoed > 0);
  });

  it('parses a run against a closed port: every packet refused, run given up', () => {
    const result = fixture('engine-rtt-client-refused.ndjson').at(-1)!;
    assert.ok(result.event === 'result' && result.role === 'rtt-client');
    assert.equal(result.received, 0);
    assert.equal(result.aborted, 'peer-unresponsive');
    assert.equal(result.mean_ns, null);
    assert.ok(result.refused > 0);
  });

  it('parses error events with their codes', () => {
    const netns = fixture('engine-error-netns.ndjson').at(-1)!;
    assert.ok(netns.event === 'error' && netns.code === 'netns' && /cnp-does-not-exist/.test(netns.message));
    const usage = fixture('engine-error-usage.ndjson').at(-1)!;
    assert.ok(usage.event === 'error' && usage.code === 'usage');
  });

  it('refuses lines outside the contract', () => {
    assert.throws(() => parseEngineLine('not json'), ProtocolError);
    assert.throws(() => parseEngineLine('{"event":"hello","version":"0.1.0"}'), /does not match the protocol/);
    assert.throws(() => parseEngineLine('{"event":"surprise"}'), ProtocolError);
    assert.throws(
      () =>
        parseEngineLine('{"event":"ready","role":"x","addr":"1.2.3.4","port":-1,"wait":"block","cpu":0,"rt_prio":0}'),
      ProtocolError,
    );
  });

  it('builds engine argv with every option, never a shell string', () => {
    const server = rttServerArgv({ bind: '198.18.0.2', netns: 'cnpab12cd-s', cpu: 1, rtPrio: 50, wait: 'spin' });
    assert.deepEqual(server, [
      'rtt-server',
      '--bind',
      '198.18.0.2:0',
      '--netns',
      'cnpab12cd-s',
      '--cpu',
      '1',
      '--rt-prio',
      '50',
      '--wait',
      'spin',
    ]);
    const client = rttClientArgv({
      server: '198.18.0.2',
      port: 4000,
      count: 10,
      warmup: 1,
      intervalNs: 0,
      timeoutNs: 1e6,
      size: 64,
      pace: 'spin',
      maxConsecutiveLost: 5,
      wait: 'block',
      rawOut: '/tmp/x',
    });
    assert.deepEqual(client.slice(0, 3), ['rtt-client', '--server', '198.18.0.2:4000']);
    assert.ok(client.includes('--raw-out') && !client.includes('--netns') && !client.includes('--cpu'));
    assert.equal(client[client.indexOf('--pace') + 1], 'spin');
  });

  it('reads the raw sample file format and rejects a truncated one', () => {
    const buf = Buffer.alloc(16 + 3 * 8);
    buf.write('CNPRAW01', 0, 'latin1');
    buf.writeBigUInt64LE(3n, 8);
    buf.writeBigInt64LE(1000n, 16);
    buf.writeBigInt64LE(-1n, 24);
    buf.writeBigInt64LE(2000n, 32);
    assert.deepEqual([...parseRawSamples(buf)], [1000n, -1n, 2000n]);
    assert.throws(() => parseRawSamples(buf.subarray(0, 30)), /expected 24/);
    assert.throws(() => parseRawSamples(Buffer.from('garbage-garbage-')), /not a cnperf raw/);
  });
});
