#!/usr/bin/env node
// Runs the compiled tests with node's test runner, one file at a time (integration tests change
// the host's network state and take the measurement lock, so they must not overlap).
// Usage: node scripts/run-tests.mjs [unit|integration|e2e ...]   (default: all three)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const levels = process.argv.length > 2 ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const isRoot = process.getuid?.() === 0;

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const files = [];
for (const level of levels) {
  const found = find(path.join(root, 'dist', 'test', level)).sort();
  if (level !== 'unit' && !isRoot) {
    // In CI a skipped suite would pass silently: there, not being root is a failure.
    if (process.env.CI === 'true') {
      console.error(`run-tests: the ${level} tests need root (network namespaces), and CI=true must run them all: run as root`);
      process.exit(1);
    }
    console.error(`run-tests: skipping ${found.length} ${level} test file(s): they need root (network namespaces)`);
    continue;
  }
  files.push(...found);
}
if (files.length === 0) {
  console.error('run-tests: no test files found; run `npm run build` first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
