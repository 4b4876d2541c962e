/**
 * The measurement lock under contention: processes that start at the same instant, with no lock, a
 * stale one (its owner dead), one being written (empty, young) or an unreadable old one. Exactly one
 * wins whenever the lock can be had, and none when it is held. Before the lock was made whole and its
 * takeover serialized, two could win: one read the other's half-written lock as stale and removed it,
 * or two that judged the same dead owner removed each other's fresh lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-lock-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const LOCK = pathToFileURL(path.join(ROOT, 'dist', 'src', 'host', 'lock.js')).href;
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
    const p = spawn(process.execPath, ['--input-type=module', '-e', CONTENDER, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
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
    for (let round = 0; round < 2; round++) {
      const dir = mkdtempSync(path.join(tmp, 'stale-'));
      writeFileSync(path.join(dir, 'measure.lock'), JSON.stringify({ pid: 2 ** 22 + 1, pidStart: '1', runId: 'dead00' }));
      const out = await race(dir);
      assert.equal(out.filter((o) => o === 'won').length, 1, out.join(' '));
    }
  });

  it('a lock being written (empty, moments old) is held: nobody wins; an old unreadable one is stale: one wins', async () => {
    const young = mkdtempSync(path.join(tmp, 'young-'));
    writeFileSync(path.join(young, 'measure.lock'), '');
    assert.deepEqual([...new Set(await race(young, 8))], ['lost']);
    const old = mkdtempSync(path.join(tmp, 'old-'));
    writeFileSync(path.join(old, 'measure.lock'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(path.join(old, 'measure.lock'), past, past);
    const out = await race(old, 8);
    assert.equal(out.filter((o) => o === 'won').length, 1, out.join(' '));
  });
});
