import os from 'node:os';
import { UserError } from '../util/errors.js';
import { parseIntIn } from '../util/units.js';

export function requireRoot(command: string): void {
  if (process.getuid?.() !== 0) {
    throw new UserError(`cnperf ${command} needs root: it creates network namespaces and links`, `run it as root, e.g. sudo bin/cnperf ${command} ...`);
  }
}

/** "--cpus 0,1": client CPU, server CPU, both existing on this machine. */
export function parseCpus(text: string): [number, number] {
  const parts = text.split(',');
  const n = os.cpus().length;
  if (parts.length !== 2) throw new UserError(`--cpus '${text}': expected CLIENT,SERVER, e.g. --cpus 0,1`);
  const [c, s] = parts.map((p) => parseIntIn(p, '--cpus', 0, n - 1)) as [number, number];
  return [c, s];
}

/** Human progress: stderr, so stdout stays for results. */
export function progress(msg: string): void {
  process.stderr.write(`cnperf: ${msg}\n`);
}
