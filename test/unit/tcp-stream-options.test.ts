import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { streamParams, streamTxCommand } from '../../src/workloads/stream.js';

const { client, server } = planDatapath('veth', 'abc123').endpoints;

describe('--sndbuf and --zerocopy', () => {
  it('reach the sender: the socket buffer for every socket API, zero-copy for TCP', () => {
    const [tcp] = streamParams({ api: 'tcp', sndbuf: 1 << 20, zerocopy: true }, 'one');
    const argv = streamTxCommand(client, server, 1, tcp!, null);
    assert.equal(argv[argv.indexOf('--sndbuf') + 1], String(1 << 20));
    assert.ok(argv.includes('--zerocopy'));
    const [gso] = streamParams({ api: 'gso', sndbuf: 1 << 20 }, 'one');
    assert.ok(streamTxCommand(client, server, 1, gso!, null).includes('--sndbuf'));
  });

  it('are refused where they cannot apply, naming what they apply to', () => {
    assert.throws(() => streamParams({ api: 'raw', sndbuf: 1 << 20 }, 'one'), /--sndbuf sizes a socket's send buffer/);
    assert.throws(() => streamParams({ api: 'send', zerocopy: true }, 'one'), /--zerocopy .* applies to --api tcp/);
  });
});
