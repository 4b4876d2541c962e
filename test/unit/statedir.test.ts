import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { ensureStateDir, makeDirs } from '../../src/host/statedir.js';
import { UserError } from '../../src/util/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-statedir-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

it('creates the state directory level by level and leaves no probe behind', () => {
  const dir = path.join(tmp, 'a', 'b', 'c');
  ensureStateDir(dir);
  assert.ok(existsSync(dir));
  makeDirs(path.join(tmp, 'x', 'y'));
  assert.ok(existsSync(path.join(tmp, 'x', 'y')));
});

it('refuses a path through a file, and one under /proc, at once and clearly (no spinning mkdir)', () => {
  writeFileSync(path.join(tmp, 'file'), 'x');
  assert.throws(() => ensureStateDir(path.join(tmp, 'file', 'state')), (e: unknown) => e instanceof UserError && /a part of the path is not a directory/.test(e.message) && /CNPERF_STATE_DIR/.test(e.hint ?? ''));
  assert.throws(() => ensureStateDir('/proc/cnperf-test/state'), (e: unknown) => e instanceof UserError && /cannot use \/proc\/cnperf-test\/state/.test(e.message));
});
