/**
 * `cnperf topo up DATAPATH` builds a datapath and leaves it for manual poking; `topo down ID`
 * removes it; `topo list` shows what is kept. A kept topology is journaled like a run, marked as
 * kept, so `cnperf clean` leaves it alone unless told otherwise.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { datapathNames } from '../datapaths/registry.js';
import { Journal, listJournals } from '../local/journal.js';
import { HostExecutor } from '../local/executor.js';
import { isAlive } from '../local/proc.js';
import { formatSteps, stepsFor } from '../local/steps.js';
import { stateDir } from '../paths.js';
import { renderTable } from '../report/table.js';
import { planDatapath } from '../datapaths/plan.js';
import { buildTopology } from '../runner/build.js';
import { requireRoot, withSession } from '../runner/session.js';
import { installStopHandlers, signalExitCode } from '../runner/signals.js';
import { datapathOptions } from '../input/datapath-options.js';
import { DATAPATH_OPTION_NAMES, datapathUsage, parseArgsSpec, parseOptionValues } from '../options/options.js';
import { UserError } from '../util/errors.js';
import { RUN_ID_RE } from '../util/ids.js';
import { flag, parseCommandArgs } from './args.js';

export const TOPO_USAGE = `cnperf topo up DATAPATH [datapath options] [--dry-run] [--json]
       cnperf topo down ID
       cnperf topo list
datapath options:
${datapathUsage()}
topo up holds the measurement lock while it builds (a build disturbs a running measurement as much as
another measurement would); the topology it leaves up holds none: it is idle until you use it.
datapaths: ${datapathNames().join(', ')}`;

export async function topoCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return topoUp(rest);
  if (sub === 'down') return topoDown(rest);
  if (sub === 'list') return topoList(rest);
  if (sub === undefined) {
    process.stdout.write(`usage: ${TOPO_USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  throw new UserError(`topo: unknown subcommand '${sub}'`, `expected up, down or list\nusage: ${TOPO_USAGE}`);
}

export const TOPO_UP_OPTIONS = {
  'dry-run': { type: 'boolean' as const },
  json: { type: 'boolean' as const },
  ...parseArgsSpec(DATAPATH_OPTION_NAMES),
};

async function topoUp(argv: string[]): Promise<number> {
  const p = parseCommandArgs('topo up', argv, TOPO_UP_OPTIONS, TOPO_USAGE);
  if (p.positionals.length !== 1) throw new UserError('topo up: name exactly one datapath', `usage: ${TOPO_USAGE}`);
  const { 'dry-run': _d, json: _j, ...values } = p.values;
  const topo = planDatapath(p.positionals[0]!, undefined, 1, datapathOptions(parseOptionValues(values), p.positionals));
  if (flag(p, 'dry-run')) {
    for (const line of formatSteps(stepsFor(topo))) process.stdout.write(line + '\n');
    return 0;
  }
  const built = await withSession({ command: 'topo up', owner: topo.runId }, async ({ stop }) => {
    const host = await buildTopology(topo, 'topo');
    if (!stop.requested) return null;
    await host.teardown();
    return signalExitCode(stop.signal);
  });
  if (built !== null) return built;
  if (flag(p, 'json')) {
    process.stdout.write(JSON.stringify({ id: topo.runId, topology: topo }) + '\n');
    return 0;
  }
  const { client, server } = topo.endpoints;
  const rows = topo.addresses.map((a) => [a.netns, a.dev, a.cidr]);
  process.stdout.write(
    `topology ${topo.runId} (${topo.datapath}) is up: ${topo.summary}\n` +
      `namespaces: ${topo.namespaces.map((n) => `${n.name} (${n.role})`).join(', ')}\n` +
      (rows.length ? renderTable(['namespace', 'device', 'address'], rows, [0, 1, 2]) + '\n' : '') +
      `client ${client.ip} in ${client.netns}, server ${server.ip} in ${server.netns}\n` +
      // without a workload the Service's port is UDP (as rtt and stream use it)
      (topo.service
        ? `service: ${topo.service.cluster_ip}:` +
          `${topo.service.port}/` +
          `${topo.service.protocol} ` +
          `(${topo.service.proxy}, ` +
          `${topo.service.services} Services) → ` +
          `${topo.service.endpoints.join(', ')}:${topo.service.target_port}\n`
        : '') +
      `try:    ip netns exec ${client.netns} ping -c 3 ${server.ip}\n` +
      `remove: cnperf topo down ${topo.runId}\n`,
  );
  return 0;
}

async function topoDown(argv: string[]): Promise<number> {
  const p = parseCommandArgs('topo down', argv, {}, TOPO_USAGE);
  if (p.positionals.length !== 1)
    throw new UserError('topo down: give exactly one topology id', "'cnperf topo list' shows them");
  const id = p.positionals[0]!;
  if (!RUN_ID_RE.test(id))
    throw new UserError(
      `topo down: '${id}' is not a topology id (6 characters a-z0-9)`,
      "'cnperf topo list' shows them",
    );
  requireRoot('topo down');
  const file = path.join(stateDir(), `${id}.journal`);
  const journal = existsSync(file) ? Journal.open(file) : null;
  if (!journal)
    throw new UserError(`no topology '${id}' in ${stateDir()}`, "'cnperf topo list' shows the kept topologies");
  if (journal.header.kind === 'run' && isAlive(journal.header.pid, journal.header.pidStart)) {
    throw new UserError(
      `'${id}' belongs to a running measurement (pid ${journal.header.pid}); it removes its own datapath when it ends`,
    );
  }
  installStopHandlers(); // a Ctrl-C must not cut the teardown short
  const report = await new HostExecutor(journal).teardown();
  for (const r of report.removed) process.stdout.write(`removed ${r}\n`);
  for (const f of report.failed) process.stderr.write(`cnperf: could not remove ${f.what}: ${f.error}\n`);
  return report.failed.length ? 1 : 0;
}

async function topoList(argv: string[]): Promise<number> {
  parseCommandArgs('topo list', argv, {}, TOPO_USAGE);
  const rows = listJournals(stateDir())
    .filter((j) => j.header)
    .map((j) => {
      const h = j.header!;
      const state =
        h.kind === 'topo'
          ? 'kept'
          : isAlive(h.pid, h.pidStart)
            ? `measuring (pid ${h.pid})`
            : 'stale (cnperf clean removes it)';
      return [h.runId, h.datapath, state, h.created];
    });
  process.stdout.write(
    rows.length ? renderTable(['id', 'datapath', 'state', 'created'], rows, [0, 1, 2, 3]) + '\n' : 'no topologies\n',
  );
  return 0;
}
