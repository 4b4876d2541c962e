import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { gsoDefaultBurst, streamParams, streamRxCommand, streamTxCommand } from '../../src/workloads/stream.js';

const { client, server } = planDatapath('veth', 'abc123').endpoints;
const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe('--api gso (UDP GSO sends, UDP GRO receives)', () => {
  it('a send carries as many datagrams as the kernel allows unless --burst says otherwise', () => {
    assert.equal(gsoDefaultBurst(64), 64);
    assert.equal(gsoDefaultBurst(1472), 44); // 44 × 1472 = 64 768 ≤ 65 507
    assert.equal(gsoDefaultBurst(65507), 1);
    const [send, gso] = streamParams({ api: 'send,gso' }, 'one');
    assert.deepEqual([send!.burst, gso!.burst], [1, 64]);
    assert.equal(streamParams({ api: 'gso', size: 1400 }, 'one')[0]!.burst, 46);
    assert.equal(streamParams({ api: 'gso', burst: 8 }, 'one')[0]!.burst, 8);
  });

  it('both engines get --api gso and the burst', () => {
    const [p] = streamParams({ api: 'gso', size: 1400 }, 'one');
    const tx = streamTxCommand(client, server, 1, p!, null);
    assert.deepEqual([after(tx, '--api'), after(tx, '--burst'), after(tx, '--size')], ['gso', '46', '1400']);
    assert.equal(after(streamRxCommand(server, p!), '--api'), 'gso');
  });

  it('a burst one send cannot carry is refused, naming the limit', () => {
    assert.throws(
      () => streamParams({ api: 'gso', burst: 65 }, 'one'),
      /--burst 65: one send carries at most 64 segments/,
    );
    assert.throws(
      () => streamParams({ api: 'gso', size: 2000, burst: 64 }, 'one'),
      /--size 2000 × --burst 64 = 128000 bytes: one send carries at most 65507/,
    );
  });
});
