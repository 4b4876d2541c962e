/** `cnperf clean`: removes what dead runs left behind and says what it removed. */
import { cleanStale } from '../host/cleanup.js';
import { stateDir } from '../paths.js';
import { flag, parseCommandArgs } from './args.js';
import { requireRoot } from '../runner/session.js';
// Every datapath's journal-entry handlers (cni-del) are registered when the datapaths are loaded.
import '../datapaths/registry.js';

const USAGE = 'cnperf clean [--all]   (--all: also topologies kept by `topo up`)';

export async function cleanCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('clean', argv, { all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, USAGE);
  if (flag(p, 'help')) {
    process.stdout.write(`usage: ${USAGE}\n`);
    return 0;
  }
  requireRoot('clean');
  const r = await cleanStale({ stateDir: stateDir(), includeKept: flag(p, 'all') });
  for (const x of r.removed) process.stdout.write(`removed ${x}\n`);
  for (const x of r.skipped) process.stdout.write(`left alone: ${x}\n`);
  for (const f of r.failed) process.stderr.write(`cnperf: could not remove ${f.what}: ${f.error}\n`);
  if (r.removed.length === 0 && r.failed.length === 0) process.stdout.write('nothing to clean\n');
  return r.failed.length ? 1 : 0;
}
