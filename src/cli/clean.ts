/** `cnperf clean`: removes what dead runs left behind and says what it removed. */
import { removeStaleFeeds } from '../runner/live.js';
import { cleanStale } from '../local/cleanup.js';
import { stateDir } from '../paths.js';
import { flag, parseCommandArgs, str, type OptionSpec } from './args.js';
import { cleanHosts } from '../remote/remote-clean.js';
import { HostSet } from '../remote/host-set.js';
import { loadHostsFile } from '../input/hosts-file.js';
import { requireRoot } from '../runner/session.js';
// Every datapath's journal-entry handlers (cni-del) are registered when the datapaths are loaded.
import '../datapaths/registry.js';

export const CLEAN_OPTIONS: OptionSpec = { all: { type: 'boolean' }, hosts: { type: 'string' } };
export const CLEAN_USAGE =
  'cnperf clean [--all] [--hosts FILE]   (--all: also topologies kept by `topo up`; --hosts: also what runs ' +
  'left on those hosts)';

export async function cleanCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('clean', argv, CLEAN_OPTIONS, CLEAN_USAGE);
  requireRoot('clean');
  const file = str(p, 'hosts');
  const inventory = file ? loadHostsFile(file) : null;
  const r = await cleanStale({ stateDir: stateDir(), includeKept: flag(p, 'all') });
  const feeds = removeStaleFeeds();
  if (feeds) r.removed.push(`the live feed${feeds > 1 ? 's' : ''} of ${feeds} killed run${feeds > 1 ? 's' : ''}`);
  if (inventory) {
    // every host of the inventory: a killed run may have used any two of them
    const set = await HostSet.open(inventory.hosts, { stateDir: stateDir(), owner: 'clean' });
    try {
      const h = await cleanHosts(set, flag(p, 'all'));
      r.removed.push(...h.removed);
      r.skipped.push(...h.skipped);
      r.failed.push(...h.failed);
    } finally {
      await set.close();
    }
  }
  for (const x of r.removed) process.stdout.write(`removed ${x}\n`);
  for (const x of r.skipped) process.stdout.write(`left alone: ${x}\n`);
  for (const f of r.failed) process.stderr.write(`cnperf: could not remove ${f.what}: ${f.error}\n`);
  if (r.removed.length === 0 && r.failed.length === 0) process.stdout.write('nothing to clean\n');
  return r.failed.length ? 1 : 0;
}
