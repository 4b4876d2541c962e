/**
 * Every kind of journal entry is undone where it was journaled: this machine's handlers here, a real
 * host's over its ssh. A kind a place cannot undo is refused by name and its journal kept — never
 * undone here in the host's stead (`clean --hosts` once wrote this machine's nr_hugepages, looked at
 * this machine's mounts, called the host's "gone" and deleted the host's journal).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCommand, type CommandRunner } from '../../src/local/command.js';
import { localUndoKinds, undoAll, type UndoHandlers } from '../../src/local/undo.js';
import { UNDOS_PER_CALL } from '../../src/local/undo-script.js';
import type { UndoAction, UndoOp } from '../../src/local/steps.js';
import { undoKinds } from '../../src/local/undo-kinds.js';
import { ON_A_HOST } from '../../src/remote/remote-undo.js';
import { UNDO_SAMPLES } from '../helpers/undo-samples.js';
import { HostCommandError } from '../../src/util/errors.js';
// the modules that register this machine's handlers for their own kinds
import '../../src/datapaths/cni/attach.js';
import '../../src/datapaths/dpdk/hugepages.js';
import '../../src/local/adopt.js';
import '../../src/remote/host-set.js';
import '../../src/datapaths/podman/attach.js';
import '../../src/datapaths/podman/firewall.js';
import { INSTANCE_RE } from '../../src/local/tracefs.js';

/** A host's runner that records what it was asked to run and answers like a successful command (a script of undos: each
 * done). */
function recorder(): { run: CommandRunner; ran: string[][] } {
  const ran: string[][] = [];
  const done = (script: string) =>
    script
      .split('\n')
      .filter((l) => l.startsWith('r '))
      .map((_, k) => `@@cnperf-undo ${k} ok\n`)
      .join('');
  return {
    ran,
    run: async (argv, input) => (
      ran.push([...argv]),
      { stdout: argv.join(' ') === 'sh -s' ? done(String(input)) : '', stderr: '' }
    ),
  };
}

/** A runner that runs what it is given here, counting the calls (a real host's ssh runs the same script). */
function counted(): { run: CommandRunner; calls: () => number } {
  let n = 0;
  return { calls: () => n, run: (argv, input, timeoutMs) => (n++, runCommand(argv, input, timeoutMs)) };
}

/** Every kind registered once the modules above are loaded (the core's and theirs). */
const UNDO_OPS = undoKinds() as UndoOp[];
/** The kinds a host refuses by name: their datapaths, or this machine's ssh, never run there. */
const REFUSED_ON_A_HOST = ['ssh-exit', 'podman-rm', 'podman-network-rm', 'podman-rmi', 'netavark-residue'];

describe('undo: every kind, in every place', () => {
  it('every kind is registered with its payload check (one sample each, kept in step by the compiler)', () => {
    assert.deepEqual([...UNDO_OPS].sort(), Object.keys(UNDO_SAMPLES).sort());
  });

  it('this machine has a handler for every kind', () => {
    assert.deepEqual(
      UNDO_OPS.filter((op) => !localUndoKinds().includes(op)),
      [],
    );
  });

  it('a host has a handler or an explicit refusal for every kind', () => {
    assert.deepEqual(
      UNDO_OPS.filter((op) => !ON_A_HOST.undo?.[op]),
      [],
    );
  });

  for (const op of UNDO_OPS) {
    const sample = UNDO_SAMPLES[op] as UndoAction;
    if (REFUSED_ON_A_HOST.includes(op)) {
      it(`${op} on a host: refused by name, nothing run, so the journal is kept`, async () => {
        const { run, ran } = recorder();
        const r = await undoAll([sample], run, ON_A_HOST.undo);
        assert.equal(r.failed.length, 1);
        assert.match(r.failed[0]!.error, new RegExp(`cannot undo '${op}' on a host`));
        assert.deepEqual(ran, []);
      });
    } else if (!['cni-del', 'sysctl-restore'].includes(op)) {
      it(`${op} on a host: undone by a command sent to the host`, async () => {
        const { run, ran } = recorder();
        const r = await undoAll([sample], run, ON_A_HOST.undo);
        assert.deepEqual(r.failed, []);
        assert.ok(ran.length >= 1, 'a command went to the host');
      });
    }
  }

  it('a place without a handler for a kind refuses it: no fallback to this machine', async () => {
    const { run, ran } = recorder();
    const r = await undoAll([{ op: 'rm-dpdk-runtime', prefix: 'cnpzzzzzz' }], run, {});
    assert.match(r.failed[0]?.error ?? '', /no handler for 'rm-dpdk-runtime' on a host/);
    assert.deepEqual(ran, []);
  });

  it("a host's testpmd entries act on the host: its nr_hugepages, its mount, its runtime files", async () => {
    const { run, ran } = recorder();
    const r = await undoAll(
      [
        { op: 'hugepages-restore', before: 0 },
        { op: 'umount-hugetlbfs', path: '/run/cnperf/cnpabcdef/hugepages' },
        { op: 'rm-dpdk-runtime', prefix: 'cnpabcdef' },
      ],
      run,
      ON_A_HOST.undo,
    );
    assert.deepEqual(r.failed, []);
    const scripts = ran.map((a) => a.join(' '));
    assert.match(scripts[0]!, /^sh -c .*\/var\/run\/dpdk\/"\$1".* sh cnpabcdef$/s);
    assert.match(scripts[1]!, /^sh -c .*umount "\$1".* sh \/run\/cnperf\/cnpabcdef\/hugepages hugetlbfs$/s);
    assert.match(scripts[2]!, /^sh -c .*nr_hugepages.* sh 0$/s);
  });

  it('refuses to unmount or remove on a host what is not a run of ours', async () => {
    const { run, ran } = recorder();
    const r = await undoAll(
      [
        { op: 'umount-hugetlbfs', path: '/dev/hugepages' },
        { op: 'umount-bpffs', path: '/sys/fs/bpf' },
        { op: 'rm-dpdk-runtime', prefix: 'rte' },
      ],
      run,
      ON_A_HOST.undo,
    );
    assert.equal(r.failed.length, 3);
    assert.deepEqual(ran, []);
  });

  it('sets back only the sysctls cnperf sets, to a value it could have saved', async () => {
    const { run, ran } = recorder();
    const r = await undoAll(
      [
        { op: 'sysctl-restore', netns: 'cnpabcdef-h', key: 'kernel.core_pattern', value: '|/tmp/x' },
        { op: 'sysctl-restore', netns: 'cnpabcdef-h', key: 'net.ipv4.ip_forward', value: '1; reboot' },
        { op: 'sysctl-restore', netns: 'cnpabcdef-h', key: 'net.ipv4.ip_forward', value: '0' },
      ],
      run,
    );
    assert.equal(r.failed.length, 2);
    const errors = r.failed.map((f) => f.error).join('\n');
    assert.match(errors, /refusing to set kernel\.core_pattern: cnperf only ever sets back net\.ipv4\.ip_forward/);
    assert.match(errors, /refusing to set net\.ipv4\.ip_forward to '1; reboot': not a value cnperf saved/);
    assert.deepEqual(ran, [['ip', 'netns', 'exec', 'cnpabcdef-h', 'sysctl', '-qw', 'net.ipv4.ip_forward=0']]);
  });

  it('consecutive one-command undos on a host go in one call, each judged as its own call would be', async () => {
    // each entry's command is its dst, run by sh: done, gone already, failed
    const place: UndoHandlers = {
      'del-route': { describe: (u) => u.dst, undo: async () => 'removed', command: (u) => ['sh', '-c', u.dst] },
    };
    const route = (dst: string): UndoAction => ({ op: 'del-route', netns: 'cnpzzzzzz-h', dst });
    const { run, calls } = counted();
    const r = await undoAll(
      [route('echo "Cannot find device x" >&2; exit 2'), route('echo denied >&2; exit 1'), route('true')],
      run,
      place,
    );
    assert.equal(calls(), 1);
    // the journal replayed backwards: the last entry first
    const cmd = (what: string) => what.replace(/^route (.*) in cnpzzzzzz-h$/, '$1');
    assert.equal(r.removed.map(cmd).join(' | '), 'true');
    assert.deepEqual(r.alreadyGone.map(cmd), ['echo "Cannot find device x" >&2; exit 2']);
    assert.deepEqual(
      r.failed.map((f) => [cmd(f.what), /denied/.test(f.error)]),
      [['echo denied >&2; exit 1', true]],
    );
    // the host's own handlers, on namespaces that are not there: all gone, in one call
    const host = counted();
    const gone = await undoAll(
      [
        { op: 'del-netns', netns: 'cnpzzzzzz-c' },
        route('198.18.9.0/24'),
        { op: 'del-link', netns: 'cnpzzzzzz-h', dev: 'x' },
      ],
      host.run,
      ON_A_HOST.undo,
    );
    assert.deepEqual([host.calls(), gone.alreadyGone.length, gone.failed], [1, 3, []]);
  });

  it(
    'a host that cannot be reached undoes none of the batch; a long teardown goes in calls of a bounded ' + 'size',
    async () => {
      const unreachable: CommandRunner = async (argv) => {
        throw new HostCommandError(argv, 'ssh: connect to host 198.19.10.1 port 22: Connection timed out', 255);
      };
      const r = await undoAll(
        [
          { op: 'del-netns', netns: 'cnpzzzzzz-c' },
          { op: 'del-netns', netns: 'cnpzzzzzz-s' },
        ],
        unreachable,
        ON_A_HOST.undo,
      );
      assert.deepEqual([r.failed.length, r.removed.length, r.alreadyGone.length], [2, 0, 0]);
      assert.match(r.failed[0]!.error, /Connection timed out/);
      const { run, ran } = recorder();
      const many = Array.from({ length: UNDOS_PER_CALL * 2 + 1 }, (_, k): UndoAction => ({
        op: 'del-route',
        netns: 'cnpzzzzzz-h',
        dst: `198.18.${k >> 8}.${k & 255}/32`,
      }));
      const all = await undoAll(many, run, ON_A_HOST.undo);
      assert.deepEqual([ran.length, all.removed.length, all.failed.length], [3, many.length, 0]);
    },
  );

  it('a local clean finishes a trace instance a controller named for its host (cnperf-<id>-<host>)', () => {
    assert.ok(INSTANCE_RE.test('/sys/kernel/tracing/instances/cnperf-abcdef'));
    assert.ok(INSTANCE_RE.test('/sys/kernel/tracing/instances/cnperf-abcdef-a'));
    assert.ok(INSTANCE_RE.test('/sys/kernel/debug/tracing/instances/cnperf-abcdef-node-2'));
    assert.ok(!INSTANCE_RE.test('/sys/kernel/tracing/instances/other'));
    assert.ok(!INSTANCE_RE.test('/sys/kernel/tracing/instances/cnperf-abcdef-A/../x'));
  });
});
