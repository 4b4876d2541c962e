import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { rttClientCommand, rttParams, rttPerApi, rttServerCommand } from '../../src/workloads/rtt.js';
import { streamParams, streamRxCommand, streamTxCommand } from '../../src/workloads/stream.js';
import { XDP_DEFAULT_BURST } from '../../src/workloads/stream-params.js';
import { UserError } from '../../src/util/errors.js';
import { runName } from '../../src/report/why.js';
import type { RunRecord } from '../../src/store/db.js';
import { joined } from '../helpers/regex.js';

const { client, server } = planDatapath('veth', 'abc123').endpoints;
const after = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];

describe('--api xdp (AF_XDP)', () => {
  it('--xdp-frames / --xdp-ring size the socket on both engines, for --api xdp only, and must fit each other', () => {
    const [p] = streamParams({ api: 'xdp', 'xdp-frames': 1024, 'xdp-ring': 256 }, 'one');
    for (const argv of [streamRxCommand(server, p!), streamTxCommand(client, server, 1, p!, '02:cb:00:00:05:01')])
      assert.deepEqual([after(argv, '--xdp-frames'), after(argv, '--xdp-ring')], ['1024', '256']);
    const [x] = rttPerApi({ api: 'xdp' }, rttParams({ 'xdp-ring': 512 }));
    assert.equal(after(rttClientCommand(client, server, 7000, x!, {}, '02:cb:00:00:05:01'), '--xdp-ring'), '512');
    assert.equal(after(rttServerCommand(server, x!, {}), '--xdp-ring'), '512');
    assert.throws(() => streamParams({ api: 'send', 'xdp-frames': 8192 }, 'one'), /apply to --api xdp/);
    assert.throws(() => rttPerApi({}, rttParams({ 'xdp-frames': 8192 })), /apply to --api xdp/);
    assert.throws(
      () => streamParams({ api: 'xdp', 'xdp-frames': 1024, 'xdp-ring': 1024 }, 'one'),
      /--xdp-ring 1024 must be smaller than --xdp-frames 1024/,
    );
  });

  it('stream: one run per API; xdp batches 32 frames unless --burst says otherwise', () => {
    const [send, xdp] = streamParams({ api: 'send,xdp' }, 'one');
    assert.equal(send!.burst, 1);
    assert.equal(xdp!.burst, XDP_DEFAULT_BURST);
    const given = streamParams({ api: 'send,xdp', burst: 8 }, 'one');
    assert.deepEqual(
      given.map((p) => p.burst),
      [8, 8],
    );
    assert.throws(() => streamParams({ api: 'xdp', size: 1473 }, 'one'), /at most 1472 bytes/);
  });

  it("stream: the receiver binds its AF_XDP socket on the server's device, the sender sends frames to its MAC", () => {
    const [p] = streamParams({ api: 'xdp' }, 'one');
    const rx = streamRxCommand(server, p!);
    assert.equal(after(rx, '--api'), 'xdp');
    assert.equal(after(rx, '--dev'), server.dev);
    const tx = streamTxCommand(client, server, 4000, p!, '02:cb:00:00:05:01');
    assert.equal(after(tx, '--dev'), client.dev);
    assert.equal(after(tx, '--dst-mac'), '02:cb:00:00:05:01');
    assert.equal(after(tx, '--burst'), '32');
    const [send] = streamParams({ api: 'send' }, 'one');
    assert.ok(!streamRxCommand(server, send!).includes('--dev'), 'a socket receiver needs no device');
  });

  it('--rcvbuf is refused for the receivers that read a ring, not a socket', () => {
    assert.throws(
      () => streamParams({ api: 'send,xdp', rcvbuf: 1 << 20 }, 'one'),
      joined(
        /--rcvbuf sizes a UDP socket's buffer: /,
        /the xdp receiver reads a ring on the device instead \(size it with --xdp-ring\)/,
      ),
    );
    assert.throws(
      () => streamParams({ api: 'raw-ring', rcvbuf: 1 << 20 }, 'one'),
      /the raw-ring receiver reads a ring/,
    );
    assert.equal(
      streamParams({ api: 'raw-mmsg', rcvbuf: 1 << 20 }, 'one')[0]!.rcvbuf,
      1 << 20,
      'raw senders still send to a UDP socket',
    );
  });

  it('runs are named by how they sent when it is not the default: tables and why lines tell them apart', () => {
    const run = (workload: string, api?: string) =>
      ({ datapath: 'veth', workload, params: api ? { api } : {} }) as unknown as RunRecord;
    assert.equal(runName(run('rtt', 'xdp')), 'veth AF_XDP');
    assert.equal(runName(run('rtt', 'send')), 'veth');
    assert.equal(runName(run('rtt')), 'veth');
    assert.equal(runName(run('stream', 'raw-ring')), 'veth raw-ring');
    assert.equal(runName(run('stream', 'send')), 'veth');
    assert.equal(runName(run('load', 'xdp')), 'veth');
  });

  it('rtt: send and xdp, one run each; AF_XDP on both ends; what AF_XDP cannot do is refused', () => {
    const [s, x] = rttPerApi({ api: 'send,xdp' }, rttParams({}));
    assert.equal(s!.api, 'send');
    assert.equal(x!.api, 'xdp');
    const srv = rttServerCommand(server, x!, {});
    assert.deepEqual([after(srv, '--api'), after(srv, '--dev')], ['xdp', server.dev]);
    const cli = rttClientCommand(client, server, 7000, x!, {}, '02:cb:00:00:05:01');
    assert.deepEqual(
      [after(cli, '--api'), after(cli, '--dev'), after(cli, '--dst-mac'), after(cli, '--src')],
      ['xdp', client.dev, '02:cb:00:00:05:01', `${client.ip}:0`],
    );
    assert.ok(!rttClientCommand(client, server, 7000, s!, {}).includes('--api'), 'the socket client is unchanged');
    assert.deepEqual(
      rttPerApi({}, rttParams({})).map((p) => p.api),
      [undefined],
    );
    assert.throws(
      () => rttPerApi({ api: 'sendmmsg' }, rttParams({})),
      (e: unknown) => e instanceof UserError && /expected send or xdp/.test(e.message),
    );
    assert.throws(
      () => rttPerApi({ api: 'xdp' }, rttParams({ breakdown: true })),
      /--breakdown needs the sockets' kernel timestamps/,
    );
  });
});
