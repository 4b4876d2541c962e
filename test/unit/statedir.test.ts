import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureStateDir, makeDirs } from '../../src/local/statedir.js';
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
  assert.throws(
    () => ensureStateDir(path.join(tmp, 'file', 'state')),
    (e: unknown) =>
      e instanceof UserError &&
      /a part of the path is not a directory/.test(e.message) &&
      /CNPERF_STATE_DIR/.test(e.hint ?? ''),
  );
  assert.throws(
    () => ensureStateDir('/proc/cnperf-test/state'),
    (e: unknown) => e instanceof UserError && /cannot use \/proc\/cnperf-test\/state/.test(e.message),
  );
});

describe('a state directory someone else could write', () => {
  for (const [what, make, re] of [
    [
      'writable by everyone',
      (d: string) => (mkdirSync(d), chmodSync(d, 0o777)),
      /writable by its group and everyone \(mode 777\)/,
    ],
    [
      "another user's",
      (d: string) => (mkdirSync(d, { mode: 0o700 }), chownSync(d, 65534, 65534)),
      /owned by uid 65534, not by this user/,
    ],
    [
      'a symbolic link',
      (d: string) => symlinkSync(mkdtempSync(path.join(os.tmpdir(), 'cnperf-target-')), d),
      /is a symbolic link/,
    ],
  ] as const) {
    it(
      `${what}: refused before any journal is written there`,
      { skip: process.getuid?.() === 0 ? false : 'chown needs root' },
      () => {
        const d = path.join(mkdtempSync(path.join(os.tmpdir(), 'cnperf-untrusted-')), 'state');
        make(d);
        assert.throws(
          () => ensureStateDir(d),
          (e: unknown) => e instanceof UserError && re.test(e.message),
        );
      },
    );
  }
});
