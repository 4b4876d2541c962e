/**
 * The measurement lock under contention: processes that start at the same instant, with no lock, a
 * stale one (its owner dead), one being written (empty, young) or an unreadable old one. Exactly one
 * wins whenever the lock can be had, and none when it is held. Before the lock was made whole and its
 * takeover serialized, two could win: one read the other's half-written lock as stale and removed it,
 * or two that judged the same dead owner removed each other's fresh lock.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { processStartTime } from '../../src/local/proc.js';
import { REMOVE_STALE_LOCK, TAKE_LOCK } from '../../src/remote/remote-lock.js';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-lock-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const LOCK = pathToFileURL(path.join(ROOT, 'dist', 'src', 'local', 'lock.js')).href;
// each contender loads, says it is ready, waits for its stdin to close (the common start), tries once,
// and holds what it won until every contender has tried
const CONTENDER = `
const { readFileSync } = await import('node:fs');
const { acquireMeasureLock } = await import(${JSON.stringify(LOCK)});
process.stderr.write('ready\\n');
readFileSync(0);
try {
  const release = acquireMeasureLock(process.argv[1], 'r' + process.pid);
  process.stdout.write('won');
  setTimeout(release, 1000);
} catch (e) {
  process.stdout.write(e.exitCode === 3 ? 'lost' : 'error: ' + e.message);
}`;

async function race(dir: string, n = 20): Promise<string[]> {
  let ready = 0;
  let allReady!: () => void;
  const started = new Promise<void>((r) => (allReady = r));
  const procs = Array.from({ length: n }, () => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, dir], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready') && ++ready === n) allReady();
    });
    return { p, done: new Promise<string>((resolve) => p.on('close', () => resolve(out))) };
  });
  await started;
  for (const { p } of procs) p.stdin!.end(); // go: every contender is loaded and waiting
  return Promise.all(procs.map((x) => x.done));
}

describe('the measurement lock, 20 processes at once', () => {
  it('no lock: exactly one wins', async () => {
    for (let round = 0; round < 2; round++) {
      const out = await race(mkdtempSync(path.join(tmp, 'free-')));
      assert.equal(out.filter((o) => o === 'won').length, 1, out.join(' '));
      assert.equal(out.filter((o) => o === 'lost').length, 19, out.join(' '));
    }
  });

  it('a stale lock (its owner dead): exactly one takes it over', async () => {
    for (let round = 0; round < 1; round++) {
      const dir = mkdtempSync(path.join(tmp, 'stale-'));
      writeFileSync(
        path.join(dir, 'measure.lock'),
        JSON.stringify({ pid: 2 ** 22 + 1, pidStart: '1', runId: 'dead00' }),
      );
      const out = await race(dir);
      assert.equal(out.filter((o) => o === 'won').length, 1, out.join(' '));
    }
  });

  it(
    'a lock being written (empty, moments old) is held: nobody wins; an old unreadable one is stale: one ' + 'wins',
    async () => {
      const young = mkdtempSync(path.join(tmp, 'young-'));
      writeFileSync(path.join(young, 'measure.lock'), '');
      assert.deepEqual([...new Set(await race(young, 8))], ['lost']);
      const old = mkdtempSync(path.join(tmp, 'old-'));
      writeFileSync(path.join(old, 'measure.lock'), '');
      const past = new Date(Date.now() - 60_000);
      utimesSync(path.join(old, 'measure.lock'), past, past);
      const out = await race(old, 8);
      assert.equal(out.filter((o) => o === 'won').length, 1, out.join(' '));
    },
  );
});

describe("a real host's lock (the script run there, run here with sh), 20 controllers at once", () => {
  const owner = (runId: string) => JSON.stringify({ pid: process.pid, pidStart: processStartTime(process.pid), runId });

  /** Each contender waits for its stdin to close, then runs the script as lockHost does (again while busy). */
  async function raceScript(file: string, n = 20): Promise<Array<{ code: number | null; out: string }>> {
    const procs = Array.from({ length: n }, (_, i) => {
      const wrapper = `read go; while :; do sh -c "$TAKE" sh "$1" "$2"; rc=$?; [ $rc = 4 ] || exit $rc; done`;
      const p = spawn('sh', ['-c', wrapper, 'sh', file, owner(`r${i}`)], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, TAKE: TAKE_LOCK },
      });
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return {
        p,
        done: new Promise<{ code: number | null; out: string }>((resolve) =>
          p.on('close', (code) => resolve({ code, out })),
        ),
      };
    });
    for (const { p } of procs) p.stdin!.end();
    return Promise.all(procs.map((x) => x.done));
  }

  it(
    'no lock, a stale lock, an unreadable old lock: exactly one takes it, the others are told who holds ' + 'it',
    async () => {
      for (const start of ['none', 'stale', 'old-unreadable']) {
        const file = path.join(mkdtempSync(path.join(tmp, 'remote-')), 'measure.lock');
        if (start === 'stale')
          writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 1, pidStart: '1', runId: 'dead00' }));
        if (start === 'old-unreadable') {
          writeFileSync(file, '{"pi');
          utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
        }
        const r = await raceScript(file);
        assert.equal(r.filter((x) => x.code === 0).length, 1, `${start}: ${r.map((x) => x.code).join(' ')}`);
        assert.equal(r.filter((x) => x.code === 3).length, 19, `${start}: ${r.map((x) => x.code).join(' ')}`);
        const winner = JSON.parse(readFileSync(file, 'utf8')) as { runId: string };
        for (const x of r.filter((y) => y.code === 3))
          assert.equal((JSON.parse(x.out) as { runId: string }).runId, winner.runId);
        assert.deepEqual(readdirSync(path.dirname(file)), ['measure.lock'], 'no temporary file or mutex left');
      }
    },
  );

  it('clean removes a stale lock, never a live one', async () => {
    const file = path.join(mkdtempSync(path.join(tmp, 'remote-clean-')), 'measure.lock');
    writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 1, pidStart: '1', runId: 'dead00' }));
    assert.equal(spawnSync('sh', ['-c', REMOVE_STALE_LOCK, 'sh', file]).status, 0);
    assert.ok(!existsSync(file));
    writeFileSync(file, owner('live00'));
    assert.equal(spawnSync('sh', ['-c', REMOVE_STALE_LOCK, 'sh', file]).status, 3);
    assert.ok(existsSync(file));
  });
});
