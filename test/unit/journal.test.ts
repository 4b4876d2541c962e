import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cleanStale } from '../../src/local/cleanup.js';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { HostExecutor } from '../../src/local/executor.js';
import { undoAll } from '../../src/local/undo.js';
import { Journal, listJournals, readJournal } from '../../src/local/journal.js';
import { isAlive, processStartTime } from '../../src/local/proc.js';
import { HostCommandError } from '../../src/util/errors.js';
import type { CommandRunner } from '../../src/local/command.js';
import { UNDO_SAMPLES } from '../helpers/undo-samples.js';

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
    assert.deepEqual(c.unreadable, []);
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
    assert.deepEqual(c.unreadable, [], 'a torn last line is no entry: its step never ran');
    assert.ok(listJournals(dir).some((x) => x.header?.runId === 'bbbbbb'));
  });

  for (const [what, line] of [
    ['an entry of a newer cnperf', '{"op":"del-frobnicator","name":"x"}'],
    ['a line damaged in the middle', '{"op":"del-li'],
  ] as const) {
    it(`${what}: clean undoes what it can read, keeps the journal and says which line`, async () => {
      const own = mkdtempSync(path.join(dir, 'state-'));
      const file = path.join(own, 'cccccc.journal');
      // a dead owner: pid beyond pid_max
      const header = {
        v: 1,
        runId: 'cccccc',
        kind: 'run',
        datapath: 'veth',
        pid: 2 ** 22 + 1,
        pidStart: '1',
        created: new Date().toISOString(),
      };
      writeFileSync(
        file,
        [
          JSON.stringify(header),
          JSON.stringify({ op: 'del-netns', netns: 'cnpcccccc-c' }),
          line,
          JSON.stringify({ op: 'del-netns', netns: 'cnpcccccc-s' }),
        ].join('\n') + '\n',
      );
      assert.deepEqual(
        readJournal(file).unreadable.map((u) => u.line),
        [3],
      );
      const ran: string[][] = [];
      const run: CommandRunner = async (argv) => (ran.push([...argv]), { stdout: '', stderr: '' });
      const r = await cleanStale({ stateDir: own, run, includeKept: false });
      assert.ok(existsSync(file), 'the journal must be kept');
      assert.match(
        r.failed.map((f) => `${f.what}: ${f.error}`).join('\n'),
        /journal .*cccccc\.journal: kept: 1 line\(s\) cnperf cannot read.*line 3: /,
      );
    });
  }

  it('a teardown whose journal has an unreadable line keeps it and reports it', async () => {
    const j = Journal.create(dir, { runId: 'gggggg', kind: 'run', datapath: 'veth' });
    appendFileSync(j.path, '{"op":"from-the-future"}\n');
    const r = await new HostExecutor(j, async () => ({ stdout: '', stderr: '' })).teardown();
    assert.equal(r.failed.length, 1);
    assert.match(r.failed[0]!.error, /cannot read/);
    assert.ok(existsSync(j.path));
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
    const samples = UNDO_SAMPLES;
    const j = Journal.create(dir, { runId: 'ffffff', kind: 'run', datapath: 'podman' });
    j.appendAll(Object.values(samples));
    const c = readJournal(j.path);
    assert.deepEqual(c.unreadable, []);
    assert.deepEqual(c.undos, Object.values(samples));
  });

  it("a kind nobody registered, or an entry failing its kind's check, is unreadable: kept, never guessed at", () => {
    const j = Journal.create(dir, { runId: 'dddd0d', kind: 'run', datapath: 'podman' });
    j.append({ op: 'rm-dir', path: '/run/cnperf/cnpdddd0d' });
    appendFileSync(j.path, '{"op":"macvtap-del","dev":"x"}\n{"op":"podman-rm","name":7}\n');
    const c = readJournal(j.path);
    assert.deepEqual(
      c.undos.map((u) => u.op),
      ['rm-dir'],
    );
    assert.equal(c.unreadable.length, 2);
  });

  it('journals daemon stops and run directories, and reads them back', () => {
    const j = Journal.create(dir, { runId: 'eeeeee', kind: 'run', datapath: 'ovs' });
    j.append({ op: 'rm-dir', path: '/run/cnperf/cnpeeeeee' });
    j.append({ op: 'kill-pidfile', pidfile: '/run/cnperf/cnpeeeeee/ovs-vswitchd.pid', comm: 'ovs-vswitchd' });
    assert.deepEqual(
      readJournal(j.path).undos.map((u) => u.op),
      ['rm-dir', 'kill-pidfile'],
    );
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
    const r = await undoAll([
      { op: 'rm-dir', path: '/etc' },
      { op: 'rm-dir', path: '/run/cnperf/../../etc/cnpaaaaaa' },
    ]);
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
      if (argv[1] === 'undo')
        return {
          stdout: String(input)
            .trim()
            .split('\n')
            .map(() => 'ok gone\n')
            .join(''),
          stderr: '',
        };
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
      if (argv[1] === 'undo')
        return {
          stdout: String(input)
            .trim()
            .split('\n')
            .map(() => 'ok gone\n')
            .join(''),
          stderr: '',
        };
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
    assert.deepEqual(
      j.undos().map((u) => u.op),
      ['del-netns', 'del-link'],
    );
    const r = await undoAll(j.undos(), runner);
    assert.equal(r.failed.length, 0);
  });
});
