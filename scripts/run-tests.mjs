#!/usr/bin/env node
// Runs the compiled tests with node's test runner, one file at a time (integration tests change
// the host's network state and take the measurement lock, so they must not overlap).
// Usage: node scripts/run-tests.mjs [unit|cli|integration|e2e ...]   (default: all four, fastest first:
// unit (pure, no root), cli (the command line without root or the host), then the root-only levels).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOTLESS = ['unit', 'cli'];
const levels = process.argv.length > 2 ? process.argv.slice(2) : [...ROOTLESS, 'integration', 'e2e'];
const isRoot = process.getuid?.() === 0;

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

// Two phases: the rootless levels touch nothing shared (no namespace, no lock) and run two files at
// a time, one per CPU; the levels that change the host's network state and take the measurement lock
// run one file at a time.
const phases = { rootless: [], root: [] };
for (const level of levels) {
  const found = find(path.join(root, 'dist', 'test', level)).sort();
  if (!ROOTLESS.includes(level) && !isRoot) {
    // In CI a skipped suite would pass silently: there, not being root is a failure.
    if (process.env.CI === 'true') {
      console.error(
        `run-tests: the ${level} tests need root (network namespaces), and CI=true must run them all: run as root`,
      );
      process.exit(1);
    }
    console.error(`run-tests: skipping ${found.length} ${level} test file(s): they need root (network namespaces)`);
    continue;
  }
  phases[ROOTLESS.includes(level) ? 'rootless' : 'root'].push(...found);
}
const files = [...phases.rootless, ...phases.root];
if (files.length === 0) {
  console.error('run-tests: no test files found; run `npm run build` first');
  process.exit(1);
}
// The spec reporter on stdout, and one line per test into a file: its timings and outcome, read below.
const timings = path.join(mkdtempSync(path.join(os.tmpdir(), 'cnperf-tests-')), 'timings.ndjson');
let status = 0;
const started = Date.now();
for (const [concurrency, list] of [
  [2, phases.rootless],
  [1, phases.root],
]) {
  if (!list.length) continue;
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${path.join(root, 'scripts', 'test-timings.mjs')}`,
      `--test-reporter-destination=${timings}.${concurrency}`,
      ...list,
    ],
    { stdio: 'inherit', cwd: root },
  );
  status ||= r.status ?? 1;
}
const tests = [1, 2].flatMap((c) =>
  existsSync(`${timings}.${c}`)
    ? readFileSync(`${timings}.${c}`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [],
);
rmSync(path.dirname(timings), { recursive: true, force: true });
const slowest = [...tests].sort((a, b) => b.ms - a.ms).slice(0, 10);
if (slowest.length) {
  console.log('\nslowest tests:');
  for (const t of slowest)
    console.log(
      `  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.name}  (${t.file ? path.relative(root, t.file) : '?'})`,
    );
}
// Per file too: a file's tests run one after another, so its sum is what it adds to the wall time.
const byFile = new Map();
for (const t of tests) if (t.file) byFile.set(t.file, (byFile.get(t.file) ?? 0) + t.ms);
const slowFiles = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 8);
if (slowFiles.length) {
  console.log('slowest files:');
  for (const [f, ms] of slowFiles) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${path.relative(root, f)}`);
}
const count = (o) => tests.filter((t) => t.outcome === o).length;
const total = tests.reduce((s, t) => s + t.ms, 0);
console.log(
  `${files.length} files, ` +
    `${(total / 60000).toFixed(1)} min of tests, ${((Date.now() - started) / 60000).toFixed(1)} min of wall time`,
);
// The closing line CI reads: the counts of the tests themselves (suites not counted).
console.log(`tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped`);
process.exit(status);
