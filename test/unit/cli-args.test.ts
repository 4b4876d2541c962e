import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQuickArgs } from '../../src/cli/quick.js';
import { UserError } from '../../src/util/errors.js';
import { parseDuration } from '../../src/util/units.js';

function userError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(`${e.message}\n${e.hint ?? ''}`, re);
    return true;
  });
}

describe('quick arguments', () => {
  it('parses the seed-000 pattern', () => {
    const a = parseQuickArgs(['loopback', 'veth', 'bridge', '--count', '10000', '--interval', '1ms', '--size', '100', '--wait', 'spin', '--cpus', '0,1', '--rt-prio', '50', '--warmup', '3', '--json']);
    assert.ok(a !== 'help');
    assert.deepEqual(a.datapaths, ['loopback', 'veth', 'bridge']);
    assert.equal(a.params.count, 10000);
    assert.equal(a.params.intervalNs, 1_000_000);
    assert.equal(a.params.size, 100);
    assert.equal(a.params.wait, 'spin');
    assert.deepEqual(a.params.cpus, [0, 1]);
    assert.equal(a.params.rtPrio, 50);
    assert.equal(a.params.warmup, 3);
    assert.equal(a.json, true);
  });

  it('defaults: 10000 packets every 1 ms, first discarded, 64 B, blocking', () => {
    const a = parseQuickArgs(['veth']);
    assert.ok(a !== 'help');
    assert.equal(a.params.count, 10000);
    assert.equal(a.params.intervalNs, 1_000_000);
    assert.equal(a.params.warmup, 1);
    assert.equal(a.params.size, 64);
    assert.equal(a.params.wait, 'block');
    assert.equal(a.params.pace, 'sleep');
    assert.equal(a.params.cpus, undefined);
  });

  it('--interval 0 means back to back', () => {
    const a = parseQuickArgs(['veth', '--interval', '0']);
    assert.ok(a !== 'help' && a.params.intervalNs === 0);
  });

  it('names what is wrong and what is allowed', () => {
    userError(() => parseQuickArgs([]), /name at least one datapath/);
    userError(() => parseQuickArgs(['vet']), /unknown datapath 'vet' \(did you mean 'veth'\?\)/);
    userError(() => parseQuickArgs(['veth', '--cuont', '5']), /unknown option '--cuont' \(did you mean '--count'\?\)[\s\S]*allowed: --count/);
    userError(() => parseQuickArgs(['veth', '--count']), /'--count' needs a value/);
    userError(() => parseQuickArgs(['veth', '--count', '0']), /--count 0: out of range, allowed 1\.\./);
    userError(() => parseQuickArgs(['veth', '--count', 'ten']), /expected a whole number/);
    userError(() => parseQuickArgs(['veth', '--interval', '1']), /give a unit/);
    userError(() => parseQuickArgs(['veth', '--interval', 'soon']), /expected a duration/);
    userError(() => parseQuickArgs(['veth', '--size', '8']), /--size 8: out of range, allowed 16\.\.65507/);
    userError(() => parseQuickArgs(['veth', '--wait', 'poll']), /expected block or spin/);
    userError(() => parseQuickArgs(['veth', '--pace', 'busy']), /expected sleep .* or spin/);
    userError(() => parseQuickArgs(['veth', '--cpus', '0']), /expected CLIENT,SERVER/);
    userError(() => parseQuickArgs(['veth', '--cpus', '0,4096']), /out of range/);
    userError(() => parseQuickArgs(['veth', '--rt-prio', '100']), /allowed 1\.\.99/);
    userError(() => parseQuickArgs(['veth', '--timeout', '0']), /allowed 1us\.\.60s/);
    userError(() => parseQuickArgs(['veth', 'veth']), /named twice/);
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
