#!/usr/bin/env node
// Reads the tool table (src/tools/tools.json) for scripts/setup.sh, before anything is installed or
// built: plain Node, no packages. `node scripts/tools.mjs missing` prints the Debian packages of the
// table's non-optional entries that this machine lacks, one per line (nothing when all are there).
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { tools } = JSON.parse(readFileSync(path.join(root, 'src', 'tools', 'tools.json'), 'utf8'));
const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? `${process.arch}-linux-gnu`;
// root's PATH on some machines lacks the sbin directories that Debian puts these tools in
const dirs = [
  ...(process.env.PATH ?? '').split(':'),
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

const usable = (file, mode) => {
  try {
    accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
};
const present = (t) =>
  t.program
    ? dirs.some((d) => d && usable(path.join(d, t.program), constants.X_OK))
    : usable(t.path.replace('$MULTIARCH', multiarch), constants.R_OK);

const [cmd] = process.argv.slice(2);
if (cmd !== 'missing') {
  console.error('usage: node scripts/tools.mjs missing');
  process.exit(2);
}
const missing = new Set(tools.filter((t) => !t.optional && !present(t)).map((t) => t.package));
for (const p of missing) console.log(p);
