/**
 * `cnperf quick DATAPATH... [options]`: one workload through each datapath, built fresh, one case
 * after the other, stored, and compared in one table (or one JSON document with --json). The options,
 * their parsing and the usage text come from the option table (src/options/options.ts); the jobs from
 * the workloads (src/workloads/); --dry-run prints the command lines the workloads' own builders make.
 */
import { hostname } from 'node:os';
import { datapathNames } from '../datapaths/registry.js';
import type { DatapathOptions } from '../datapaths/types.js';
import { describeUndo } from '../local/undo.js';
import { formatCommand, formatSteps, stepsFor } from '../local/steps.js';
import { defaultDbPath, stateDir } from '../paths.js';
import { resultJson, resultsTables } from '../report/run-tables.js';
import { floorLine } from '../runner/calibration.js';
import { measure, type Measured } from '../runner/measure.js';
import { withSession } from '../runner/session.js';
import { signalExitCode } from '../runner/signals.js';
import { OPTION_NAMES, parseArgsSpec, quickUsage } from '../options/options.js';
import { planQuick } from '../input/quick-plan.js';
import { newRunId } from '../util/ids.js';
import { WORKLOADS, planForJobs, workloadOf, type Job } from '../workloads/registry.js';
import { flag, parseCommandArgs, str } from './args.js';
import type { Inventory } from '../remote/inventory.js';
import { loadHostsFile } from '../input/hosts-file.js';
import { progress } from './common.js';

export const QUICK_USAGE = quickUsage(Object.values(WORKLOADS), datapathNames());

export interface QuickArgs {
  datapaths: string[];
  /** one per address family measured (--ip dual: IPv4's, then IPv6's) */
  datapathOptions: DatapathOptions[];
  jobs: Job[];
  json: boolean;
  trace: boolean;
  db: string;
  dryRun: boolean;
  /** --hosts: the inventory, and how many of its hosts the datapaths use */
  hosts?: { inventory: Inventory; count: number };
}

/** Pure: argv → what to do. All validation happens here, before anything touches the host. */
export function parseQuickArgs(argv: string[]): QuickArgs | 'help' {
  const p = parseCommandArgs('quick', argv, parseArgsSpec(OPTION_NAMES), QUICK_USAGE);
  if (flag(p, 'help')) return 'help';
  const plan = planQuick(p.positionals, p.values, QUICK_USAGE);
  const file = str(p, 'hosts');
  const hosts = file
    ? { inventory: loadHostsFile(file), count: plan.datapathOptions[0]!.hosts!.length >= 2 ? 2 : 1 }
    : undefined;
  return {
    datapaths: plan.datapaths,
    datapathOptions: plan.datapathOptions,
    jobs: plan.jobs,
    json: flag(p, 'json'),
    trace: flag(p, 'trace'),
    db: str(p, 'db') ?? defaultDbPath(),
    dryRun: flag(p, 'dry-run'),
    ...(hosts ? { hosts } : {}),
  };
}

export async function quickCommand(argv: string[]): Promise<number> {
  const args = parseQuickArgs(argv);
  if (args === 'help') {
    process.stdout.write(`usage: ${QUICK_USAGE}\n`);
    return 0;
  }
  if (args.dryRun) {
    for (const d of args.datapaths) for (const o of args.datapathOptions) process.stdout.write(dryRun(d, args.jobs, o));
    return 0;
  }
  const batchId = newRunId();
  const results: Measured[] = [];
  const { floor, stop } = await withSession(
    { command: 'quick', owner: batchId, db: args.db, ...(args.hosts ? { hosts: args.hosts } : {}) },
    async ({ stop, env, store, hosts }) => {
      for (const d of args.datapaths)
        for (const datapathOptions of args.datapathOptions)
          for (const job of args.jobs) {
            if (stop.requested) break;
            const m = await measure(d, job, {
              batchId,
              env,
              stop,
              progress,
              trace: args.trace,
              datapathOptions,
              hosts,
            });
            store!.saveRun(m.record);
            results.push(m);
            if (m.record.problem) progress(`${d}: ${m.record.status}: ${m.record.problem}`);
          }
      return { floor: store!.latestCalibration(hostname()), stop };
    },
  );
  const records = results.map((m) => m.record);
  if (args.json) {
    process.stdout.write(JSON.stringify({ results: records.map(resultJson), floor: floor?.result ?? null }) + '\n');
  } else if (records.length) {
    const { w, p } = workloadOf(args.jobs[0]!);
    process.stdout.write(`${resultsTables(records)}\n${w.footer(p)}; stored in ${args.db}\n${floorLine(floor)}\n`);
  }
  if (stop.requested) return signalExitCode(stop.signal);
  return records.every((r) => r.status === 'ok') ? 0 : 1;
}

/** The host commands the datapath runs and the engine command lines each job runs, as text. */
export function dryRun(datapath: string, jobs: readonly Job[], options: DatapathOptions): string {
  const topo = planForJobs(datapath, jobs, options);
  const steps = stepsFor(topo);
  const lines = [`# ${datapath}: ${topo.summary}`, ...formatSteps(steps)];
  for (const job of jobs) {
    const { w, p } = workloadOf(job);
    for (const c of w.commands(topo, p, stateDir()))
      lines.push(formatCommand(['cnperf-engine', ...c.argv]) + (c.note ? `   # ${c.note}` : ''));
  }
  // Teardown replays the journal backwards: what is not a namespace first (daemons, mounts, directories).
  const others = steps
    .flatMap((s) => (s.undo && s.undo.op !== 'del-netns' && s.undo.op !== 'del-link' ? [describeUndo(s.undo)] : []))
    .reverse();
  const guests = topo.namespaces.filter((n) => n.guest);
  if (guests.length)
    lines.push(
      `# boot: qemu (` +
        `${guests
          .map((n) => `${n.name} on tap ${n.guest!.tap}@${n.guest!.hostNetns}`)
          .join(', ')}): Debian's cloud kernel and cnperf's initramfs; the engines above run in the guests ` +
        `through their agent`,
    );
  lines.push(
    `# teardown: ${[
      ...others,
      ...(guests.length ? ['qemu (pidfiles)'] : []),
      `ip netns del ${topo.namespaces
        .filter((n) => !n.guest)
        .map((n) => n.name)
        .join(' / ')}`,
    ].join('; ')}`,
  );
  return lines.join('\n') + '\n';
}
