/**
 * The netlink side of the executor without a kernel: the requests cnperf-wire reads (checked against
 * its own request table in engine/wire/ops.c), their `ip` equivalents, its answers (real captured
 * output), how the executor batches them around fault points, and how teardown lets namespaces take
 * their links with them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import type { CommandRunner } from '../../src/local/command.js';
import { HostExecutor } from '../../src/local/executor.js';
import { undoAll } from '../../src/local/undo.js';
import { Journal } from '../../src/local/journal.js';
import { stepsFor, type Step } from '../../src/local/steps.js';
import { ipEquivalent, parseWireOutput, wireLine, type NetOp } from '../../src/local/wire.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { FIXTURES } from '../helpers/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-wire-'));
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => delete process.env.CNPERF_TEST_FAULT);

/** A fake cnperf-wire (answers `ok` to everything, or `err` to lines matching refuse) and a command runner, recording
 * both. */
function host(refuse?: RegExp) {
  const batches: string[][] = [];
  const commands: string[] = [];
  const run: CommandRunner = async (argv, input) => {
    if (!/cnperf-wire$/.test(argv[0]!)) {
      commands.push(argv.join(' '));
      return { stdout: '', stderr: '' };
    }
    const lines = String(input).trim().split('\n');
    batches.push(lines);
    const out: string[] = [];
    for (const l of lines) {
      if (refuse?.test(l)) {
        out.push('err RTNETLINK answers: File exists');
        if (argv[1] === 'apply') break;
      } else out.push(argv[1] === 'undo' && l.startsWith('link-del') ? 'ok gone' : 'ok');
    }
    return { stdout: out.join('\n') + '\n', stderr: '' };
  };
  return { run, batches, commands };
}

describe('cnperf-wire requests', () => {
  it('every request has the field count engine/wire/ops.c reads', () => {
    const table = new Map(
      [
        ...readFileSync(path.join(PROJECT_ROOT, 'engine', 'wire', 'ops.c'), 'utf8').matchAll(
          /\{"([a-z0-9-]+)", (\d+), op_/g,
        ),
      ].map((m) => [m[1]!, Number(m[2])]),
    );
    const samples: NetOp[] = [
      { op: 'netns-add', netns: 'n' },
      { op: 'netns-del', netns: 'n' },
      {
        op: 'veth-add',
        netns: 'a',
        name: 'x',
        peerNetns: 'b',
        peer: 'y',
        mtu: 1400,
        mac: '02:cb:00:00:0c:01',
        peerMac: '02:cb:00:00:0c:02',
      },
      { op: 'bridge-add', netns: 'n', name: 'br' },
      { op: 'macvlan-add', lowerNetns: 'n', lower: 'e', netns: 'c', name: 'm', mode: 'bridge' },
      { op: 'ipvlan-add', lowerNetns: 'n', lower: 'e', netns: 'c', name: 'm', mode: 'l2' },
      {
        op: 'vxlan-add',
        netns: 'n',
        name: 'vx',
        vni: 42,
        port: 4789,
        local: '198.19.0.1',
        remote: '198.19.0.2',
        dev: 'e',
      },
      { op: 'link-alias', netns: 'n', dev: 'lo', alias: 'cnperf run abcdef' },
      { op: 'link-addrgenmode-none', netns: 'n', dev: 'e' },
      { op: 'link-master', netns: 'n', dev: 'e', master: 'br' },
      { op: 'link-up', netns: 'n', dev: 'e' },
      { op: 'link-del', netns: 'n', dev: 'e' },
      { op: 'addr-add', netns: 'n', dev: 'e', cidr: '198.18.0.1/16' },
      { op: 'route-add', netns: 'n', dst: 'default', via: '169.254.1.1', dev: 'e', onlink: true },
    ];
    assert.deepEqual(
      [...table.keys()].sort(),
      samples.map((s) => s.op).sort(),
      'one sample per request kind cnperf-wire knows',
    );
    for (const s of samples) assert.equal(wireLine(s).split('\t').length, table.get(s.op)! + 1, s.op);
    assert.equal(wireLine(samples[2]!), 'veth-add\ta\tx\tb\ty\t1400\t02:cb:00:00:0c:01\t02:cb:00:00:0c:02');
    assert.equal(
      wireLine({ op: 'veth-add', netns: 'a', name: 'x', peerNetns: 'b', peer: 'y' }),
      'veth-add\ta\tx\tb\ty\t-\t-\t-',
      'the kernel picks MACs unless the plan gives them',
    );
    assert.equal(wireLine(samples[3]!), 'bridge-add\tn\tbr\t-');
    assert.equal(wireLine(samples[13]!), 'route-add\tn\tdefault\t169.254.1.1\te\tonlink');
  });

  it('shows each request as the ip command with the same effect', () => {
    assert.deepEqual(
      ipEquivalent({ op: 'veth-add', netns: 'a', name: 'x', peerNetns: 'b', peer: 'y', mtu: 1400 }),
      'ip link add x netns a mtu 1400 type veth peer name y netns b mtu 1400'.split(' '),
    );
    assert.deepEqual(
      ipEquivalent({
        op: 'veth-add',
        netns: 'a',
        name: 'x',
        peerNetns: 'b',
        peer: 'y',
        mac: '02:cb:00:00:0c:01',
        peerMac: '02:cb:00:00:0c:02',
      }),
      'ip link add x netns a address 02:cb:00:00:0c:01 type veth peer name y netns b address 02:cb:00:00:0c:02'.split(
        ' ',
      ),
    );
    assert.deepEqual(
      ipEquivalent({ op: 'macvlan-add', lowerNetns: 'n', lower: 'e', netns: 'c', name: 'm', mode: 'passthru' }),
      'ip -n n link add m link e netns c type macvlan mode passthru'.split(' '),
    );
    assert.deepEqual(
      ipEquivalent({ op: 'route-add', netns: 'n', dst: '198.18.0.2/32', dev: 'e' }),
      'ip -n n route add 198.18.0.2/32 dev e'.split(' '),
    );
    assert.deepEqual(ipEquivalent({ op: 'link-alias', netns: 'n', dev: 'lo', alias: 'cnperf run abcdef' }), [
      'ip',
      '-n',
      'n',
      'link',
      'set',
      'dev',
      'lo',
      'alias',
      'cnperf run abcdef',
    ]);
  });

  it('refuses a field with a tab or newline rather than send a request that means something else', () => {
    assert.throws(() => wireLine({ op: 'link-alias', netns: 'n', dev: 'lo', alias: 'a\tb' }), /tab or newline/);
    assert.throws(() => wireLine({ op: 'link-up', netns: 'n\nnetns-del\tx', dev: 'lo' }), /tab or newline/);
  });

  it('reads its real answers: done, already gone, refused, and a readiness timeout', () => {
    const fx = (n: string) => parseWireOutput(readFileSync(path.join(FIXTURES, n), 'utf8'));
    assert.deepEqual(fx('wire-undo.txt').answers, [
      { ok: true, gone: false },
      { ok: true, gone: false },
      { ok: true, gone: true },
    ]);
    assert.deepEqual(fx('wire-apply-refused.txt').answers, [
      { ok: true, gone: false },
      { ok: false, error: 'RTNETLINK answers: File exists' },
    ]);
    const t = fx('wire-ready-timeout.txt');
    assert.deepEqual(t.answers.at(-1), { ok: false, error: 'timeout' });
    assert.deepEqual(t.notReady[0], { what: 'cnpfix001-c0 in cnpfix001-c', why: 'no carrier yet' });
    assert.deepEqual(fx('wire-ready-ok.txt').answers.at(-1), { ok: true, gone: false, detail: '0' });
    assert.throws(() => parseWireOutput('ok\nsegfault\n'), /does not understand/);
  });
});

describe('executor batches', () => {
  const topo = getDatapath('bridge').plan({
    runId: 'batch0',
    placement: 'cross-node',
    netfilter: { netfilter: 'nftables' },
  });
  const steps = stepsFor(topo);
  const firstCommand = steps.findIndex((s) => !s.net);

  it(
    'sends consecutive kernel steps to cnperf-wire as one batch and runs the others as commands, in ' + 'order',
    async () => {
      assert.ok(firstCommand > 30, 'a bridge build opens with a long run of kernel steps');
      const h = host();
      await new HostExecutor(Journal.create(dir, { runId: 'batch0', kind: 'run', datapath: 'bridge' }), h.run).apply(
        steps,
      );
      assert.equal(h.batches[0]!.length, firstCommand);
      assert.deepEqual(
        h.batches.flat(),
        steps.filter((s) => s.net).map((s) => wireLine(s.net!)),
      );
      assert.deepEqual(
        h.commands,
        steps.filter((s) => !s.net).map((s) => s.argv.join(' ')),
      );
    },
  );

  it('journals a whole batch before sending it', async () => {
    const j = Journal.create(dir, { runId: 'batch1', kind: 'run', datapath: 'bridge' });
    let journaled = 0;
    const run: CommandRunner = async (argv, input) => {
      journaled = j.undos().length;
      return {
        stdout:
          String(input)
            .trim()
            .split('\n')
            .map(() => 'ok')
            .join('\n') + '\n',
        stderr: '',
      };
    };
    const kernelOnly: Step[] = steps.slice(0, firstCommand);
    await new HostExecutor(j, run).apply(kernelOnly);
    assert.equal(journaled, kernelOnly.filter((s) => s.undo).length);
  });

  it('a refused request fails the build naming its ip equivalent; later requests are not sent', async () => {
    const h = host(/^bridge-add/);
    const j = Journal.create(dir, { runId: 'batch2', kind: 'run', datapath: 'bridge' });
    const bridgeStep = steps.find((s) => s.net?.op === 'bridge-add')!;
    await assert.rejects(
      new HostExecutor(j, h.run).apply(steps),
      (e: Error) =>
        e.message === `netlink request failed (as \`${bridgeStep.argv.join(' ')}\`): RTNETLINK answers: File exists`,
    );
    assert.equal(h.commands.length, 0);
  });

  it(
    'fail@K inside a run of kernel steps: steps before K are sent, K is journaled and fails, nothing after ' + 'it',
    async () => {
      const k = 7;
      process.env.CNPERF_TEST_FAULT = `fail@${k}`;
      const h = host();
      const j = Journal.create(dir, { runId: 'batch3', kind: 'run', datapath: 'bridge' });
      await assert.rejects(new HostExecutor(j, h.run).apply(steps), /injected failure/);
      assert.deepEqual(h.batches, [steps.slice(0, k - 1).map((s) => wireLine(s.net!))]);
      assert.equal(j.undos().length, steps.slice(0, k).filter((s) => s.undo).length);
    },
  );
});

describe('teardown', () => {
  it('links inside a namespace being deleted go with it; the rest are deleted in one call', async () => {
    const h = host();
    const r = await undoAll(
      [
        { op: 'del-netns', netns: 'a' },
        { op: 'del-netns', netns: 'b' },
        { op: 'del-link', netns: 'a', dev: 'x' },
        { op: 'del-link', netns: 'other', dev: 'y' },
      ],
      h.run,
    );
    assert.deepEqual(h.batches, [['link-del\tother\ty', 'netns-del\tb', 'netns-del\ta']]);
    assert.deepEqual(r.removed, ['namespace b', 'namespace a', 'link x in a (with its namespace)']);
    assert.deepEqual(r.alreadyGone, ['link y in other']);
  });

  it('a namespace that cannot be deleted fails with the links that would have gone with it', async () => {
    const h = host(/^netns-del\ta$/);
    const r = await undoAll(
      [
        { op: 'del-netns', netns: 'a' },
        { op: 'del-link', netns: 'a', dev: 'x' },
        { op: 'del-netns', netns: 'b' },
      ],
      h.run,
    );
    assert.deepEqual(
      r.failed.map((f) => f.what),
      ['namespace a', 'link x in a (with its namespace)'],
    );
    assert.deepEqual(r.removed, ['namespace b']);
  });

  it('other undo entries break the batch and keep their order (a CNI DEL runs before its namespace goes)', async () => {
    const h = host();
    const order: string[] = [];
    const run: CommandRunner = async (argv, input) => {
      order.push(/cnperf-wire$/.test(argv[0]!) ? `wire:${String(input).trim().replace(/\t/g, ' ')}` : argv.join(' '));
      return h.run(argv, input);
    };
    await undoAll(
      [
        { op: 'del-netns', netns: 'a' },
        { op: 'rm-dir', path: '/nonexistent/cnpabcdef' },
        { op: 'del-netns', netns: 'b' },
      ],
      run,
    );
    assert.deepEqual(order, ['wire:netns-del b', 'wire:netns-del a']);
  });
});
