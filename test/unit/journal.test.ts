import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { HostExecutor, undoAll } from '../../src/host/executor.js';
import { Journal, listJournals, readJournal } from '../../src/host/journal.js';
import { isAlive, processStartTime } from '../../src/host/proc.js';
import { HostCommandError } from '../../src/util/errors.js';
import type { CommandRunner } from '../../src/host/command.js';
import type { UndoAction } from '../../src/host/steps.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('journal', () => {
  it('records the owner and undo actions, one NDJSON line each', () => {
    const j = Journal.create(dir, { runId: 'aaaaaa', kind: 'run', datapath: 'veth' });
    j.append({ op: 'del-netns', netns: 'cnpaaaaaa-c' });
    j.append({ op: 'del-link', netns: 'cnpaaaaaa-c', dev: 'cnpaaaaaa-c0' });
    const c = readJournal(j.path);
    assert.equal(c.header?.pid, process.pid);
    assert.equal(c.header?.kind, 'run');
    assert.equal(c.undos.length, 2);
    assert.equal(c.badLines, 0);
    assert.equal(readFileSync(j.path, 'utf8').split('\n').length, 4);
  });

  it('refuses to overwrite the journal of the same run id', () => {
    assert.throws(() => Journal.create(dir, { runId: 'aaaaaa', kind: 'run', datapath: 'veth' }), /EEXIST/);
  });

  it('skips a truncated last line (a crash mid-append) and keeps the rest', () => {
    const j = Journal.create(dir, { runId: 'bbbbbb', kind: 'topo', datapath: 'bridge' });
    j.append({ op: 'del-netns', netns: 'cnpbbbbbb-n' });
    appendFileSync(j.path, '{"op":"del-li');
    const c = readJournal(j.path);
    assert.equal(c.undos.length, 1);
    assert.equal(c.badLines, 1);
    assert.ok(listJournals(dir).some((x) => x.header?.runId === 'bbbbbb'));
  });

  it('knows a live owner from a dead or recycled one', () => {
    const me = processStartTime(process.pid)!;
    assert.ok(isAlive(process.pid, me));
    assert.ok(!isAlive(process.pid, String(Number(me) + 1))); // same pid, other start: recycled
    assert.ok(!isAlive(2 ** 22 + 1, me)); // beyond pid_max
  });
});

describe('undo actions beyond links', () => {
  it('every kind of entry reads back (an unknown line would be skipped, and its undo lost)', () => {
    // one sample per op: a new op without a sample here does not compile
    const samples: { [K in UndoAction['op']]: Extract<UndoAction, { op: K }> } = {
      'del-netns': { op: 'del-netns', netns: 'cnpffffff-c' },
      'del-link': { op: 'del-link', netns: 'cnpffffff-c', dev: 'cnpffffff-c0' },
      'kill-pidfile': { op: 'kill-pidfile', pidfile: '/run/cnperf/x.pid', comm: 'ovs-vswitchd' },
      'rm-dir': { op: 'rm-dir', path: '/run/cnperf/cnpffffff' },
      'rm-trace-instance': { op: 'rm-trace-instance', path: '/sys/kernel/tracing/instances/cnpffffff' },
      'umount-bpffs': { op: 'umount-bpffs', path: '/run/cnperf/cnpffffff/bpf' },
      'umount-tracefs': { op: 'umount-tracefs', path: '/sys/kernel/tracing' },
      'unname-netns': { op: 'unname-netns', netns: 'cnpffffff-s', what: 'process 42' },
      'podman-rm': { op: 'podman-rm', name: 'cnperf-ffffff-c' },
      'podman-network-rm': { op: 'podman-network-rm', name: 'cnperf-ffffff' },
      'podman-rmi': { op: 'podman-rmi', image: 'localhost/cnperf-ffffff:engine' },
      'netavark-residue': { op: 'netavark-residue', before: { chains: [], tables: ['ip filter'], ipForward: '0' } },
      'hugepages-restore': { op: 'hugepages-restore', before: 0 },
      'umount-hugetlbfs': { op: 'umount-hugetlbfs', path: '/run/cnperf/cnpffffff/hugepages' },
      'rm-dpdk-runtime': { op: 'rm-dpdk-runtime', prefix: 'cnpffffff' },
      'del-route': { op: 'del-route', netns: 'cnpffffff-h', dst: '198.18.0.2/32', dev: 'eth1' },
      'sysctl-restore': { op: 'sysctl-restore', netns: 'cnpffffff-h', key: 'net.ipv4.ip_forward', value: '0' },
      'ssh-exit': { op: 'ssh-exit', socket: '/run/cnperf/cnpffffff/ssh-0', host: 'a' },
      'cni-del': { op: 'cni-del', network: { cniVersion: '1.0.0', name: 'n', disableCheck: false, plugins: [{ type: 'bridge' }], file: 'f' }, netns: 'cnpffffff-c', ifname: 'eth0', containerId: 'c', runIn: 'cnpffffff-n', cacheFile: '/run/cnperf/c.json' },
    };
    const j = Journal.create(dir, { runId: 'ffffff', kind: 'run', datapath: 'podman' });
    j.appendAll(Object.values(samples));
    const c = readJournal(j.path);
    assert.equal(c.badLines, 0);
    assert.deepEqual(c.undos, Object.values(samples));
  });

  it('journals daemon stops and run directories, and reads them back', () => {
    const j = Journal.create(dir, { runId: 'eeeeee', kind: 'run', datapath: 'ovs' });
    j.append({ op: 'rm-dir', path: '/run/cnperf/cnpeeeeee' });
    j.append({ op: 'kill-pidfile', pidfile: '/run/cnperf/cnpeeeeee/ovs-vswitchd.pid', comm: 'ovs-vswitchd' });
    assert.deepEqual(readJournal(j.path).undos.map((u) => u.op), ['rm-dir', 'kill-pidfile']);
  });

  it('a pidfile that is gone, or names another process, is "already gone": nothing is signalled', async () => {
    const r = await undoAll([
      { op: 'kill-pidfile', pidfile: path.join(dir, 'nope.pid'), comm: 'ovs-vswitchd' },
      // our own pid, under a name that is not ours: must not be killed
      ...(() => {
        const f = path.join(dir, 'self.pid');
        writeFileSync(f, String(process.pid));
        return [{ op: 'kill-pidfile' as const, pidfile: f, comm: 'ovs-vswitchd' }];
      })(),
    ]);
    assert.equal(r.alreadyGone.length, 2);
    assert.equal(r.failed.length, 0);
  });

  it('refuses to remove a directory that is not a run directory under the state directory', async () => {
    const r = await undoAll([{ op: 'rm-dir', path: '/etc' }, { op: 'rm-dir', path: '/run/cnperf/../../etc/cnpaaaaaa' }]);
    assert.equal(r.failed.length, 2);
    for (const f of r.failed) assert.match(f.error, /^refusing to remove \/.+: not a run directory under /);
  });
});

describe('executor', () => {
  it('journals each undo before running its command, and replays backwards on teardown', async () => {
    const ran: string[] = [];
    const j = Journal.create(dir, { runId: 'cccccc', kind: 'run', datapath: 'veth' });
    const runner: CommandRunner = async (argv, input) => {
      // cnperf-wire at teardown: neither namespace exists
      if (argv[1] === 'undo') return { stdout: String(input).trim().split('\n').map(() => 'ok gone\n').join(''), stderr: '' };
      // At the time the command runs, its undo is already on disk.
      if (argv[2] === 'add') assert.ok(j.undos().some((u) => u.op === 'del-netns' && u.netns === argv[3]));
      ran.push(argv.join(' '));
      return { stdout: '', stderr: '' };
    };
    const ex = new HostExecutor(j, runner);
    await ex.apply([
      { argv: ['ip', 'netns', 'add', 'x1'], undo: { op: 'del-netns', netns: 'x1' } },
      { argv: ['ip', 'netns', 'add', 'x2'], undo: { op: 'del-netns', netns: 'x2' } },
    ]);
    assert.deepEqual(ran, ['ip netns add x1', 'ip netns add x2']);
    // Neither namespace really exists, so teardown finds them already gone: success, journal removed.
    const r = await ex.teardown();
    assert.deepEqual(r.alreadyGone, ['namespace x2', 'namespace x1']);
    assert.equal(r.failed.length, 0);
    assert.equal(readJournal(j.path).header, null);
  });

  it('stops at the first failing command; what was journaled is still undone', async () => {
    const j = Journal.create(dir, { runId: 'dddddd', kind: 'run', datapath: 'veth' });
    const runner: CommandRunner = async (argv, input) => {
      if (argv[1] === 'undo') return { stdout: String(input).trim().split('\n').map(() => 'ok gone\n').join(''), stderr: '' };
      if (argv.includes('boom')) throw new HostCommandError(argv, 'RTNETLINK answers: Operation not supported', 2);
      return { stdout: '', stderr: '' };
    };
    const ex = new HostExecutor(j, runner);
    await assert.rejects(
      ex.apply([
        { argv: ['ip', 'netns', 'add', 'y1'], undo: { op: 'del-netns', netns: 'y1' } },
        { argv: ['ip', 'link', 'add', 'boom'], undo: { op: 'del-link', netns: 'y1', dev: 'boom' } },
        { argv: ['ip', 'netns', 'add', 'never'], undo: { op: 'del-netns', netns: 'never' } },
      ]),
      /Operation not supported/,
    );
    assert.deepEqual(j.undos().map((u) => u.op), ['del-netns', 'del-link']);
    const r = await undoAll(j.undos(), runner);
    assert.equal(r.failed.length, 0);
  });
});
