/**
 * `cnperf run FILE [--scale quick|full] [--resume]`: runs an experiment file — every case and repeat,
 * stored as each finishes — with a progress line per case and a summary at the end.
 */
import { loadExperiment } from '../input/experiment-file.js';
import { expandCases, repeatsOf, SCALES, type Scale } from '../input/matrix.js';
import { defaultDbPath } from '../paths.js';
import { groupByCase } from '../report/cases.js';
import { experimentTables } from '../report/experiment-tables.js';
import { resultJson } from '../report/run-tables.js';
import { runExperiment } from '../runner/run-experiment.js';
import { withSession } from '../runner/session.js';
import { loadHostsFile } from '../input/hosts-file.js';
import { signalExitCode } from '../runner/signals.js';
import { UserError } from '../util/errors.js';
import { flag, parseCommandArgs, str, type OptionSpec } from './args.js';
import { progress } from './common.js';
import { inconclusiveMode, judgeRuns } from './check.js';
import { gateExitCode, gatesTable } from '../report/gates.js';

export const RUN_USAGE =
  `cnperf run FILE [--scale quick|full] [--resume] [--check [--inconclusive ` +
  `fail|pass]] [--db FILE] [--json] [--dry-run]
  --scale quick   the experiment's quick scale (minutes); full (default): the paper's parameters
  --resume        continue the last interrupted run of the same plan: cases already stored are skipped
  --check         judge the file's expect: conditions; exit 1 when one fails (a CI gate), 0 when all hold
  --inconclusive  with --check: the exit status when a 95 % interval straddles a threshold (default fail)
  --dry-run       list the cases and change nothing`;

export const RUN_OPTIONS: OptionSpec = {
  scale: { type: 'string' },
  resume: { type: 'boolean' },
  db: { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  check: { type: 'boolean' },
  inconclusive: { type: 'string' },
};

const minutes = (ms: number) =>
  ms >= 60_000
    ? `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`
    : `${Math.round(ms / 1000)}s`;

export async function runExperimentCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('run', argv, RUN_OPTIONS, RUN_USAGE);
  if (p.positionals.length !== 1) throw new UserError('run: name one experiment file', `usage: ${RUN_USAGE}`);
  const scaleText = str(p, 'scale') ?? 'full';
  if (!SCALES.includes(scaleText as Scale))
    throw new UserError(`--scale '${scaleText}': expected ${SCALES.join(' or ')}`);
  const scale = scaleText as Scale;
  const loaded = loadExperiment(p.positionals[0]!);
  const check = flag(p, 'check');
  const inconclusive = inconclusiveMode(str(p, 'inconclusive'));
  if (str(p, 'inconclusive') !== undefined && !check) throw new UserError('--inconclusive goes with --check');
  if (check && !expandCases(loaded.spec, scale).some((c) => c.expect.length))
    throw new UserError(
      `--check: ${loaded.file} has no expect: conditions`,
      'add e.g. expect: ["p99 < 200us"] at the top level or in a datapath entry',
    );
  const db = str(p, 'db') ?? defaultDbPath();
  if (flag(p, 'dry-run')) {
    const cases = expandCases(loaded.spec, scale);
    process.stdout.write(
      `# ${loaded.spec.name}, ${scale} scale: ${cases.length} cases × ${repeatsOf(loaded.spec, scale)} repeats\n`,
    );
    for (const c of cases)
      process.stdout.write(
        `cnperf quick ${c.datapath} --workload ${c.workload} ${Object.entries(c.params)
          .map(([k, v]) => (v === true ? `--${k}` : v === false ? '' : `--${k} ${String(v)}`))
          .filter(Boolean)
          .join(' ')}${loaded.spec.trace ? ' --trace' : ''}   # ${c.label}\n`,
      );
    return 0;
  }
  // hosts: the inventory the file names; cases on one node use the first host, cross-node the first two
  const hosts = loaded.spec.hosts ? { inventory: loadHostsFile(loaded.spec.hosts), count: 0 } : undefined;
  if (hosts) hosts.count = Math.min(2, hosts.inventory.hosts.length);
  return withSession(
    { command: 'run', owner: `exp-${loaded.spec.name}`.slice(0, 32), db, ...(hosts ? { hosts } : {}) },
    async ({ stop, env, store, hosts: connected }) => {
      const outcome = await runExperiment(loaded, scale, {
        hosts: connected,
        store: store!,
        resume: flag(p, 'resume'),
        env,
        stop,
        progress: {
          caseStarted: (i, n, c, r, eta) =>
            progress(`[${i}/${n}] ${c.label} (repeat ${r})${eta !== null ? ` · about ${minutes(eta)} left` : ''}`),
          caseDone: (i, n, c, r, rec) => {
            if (rec.status !== 'ok') progress(`[${i}/${n}] ${c.label} (repeat ${r}): ${rec.status}: ${rec.problem}`);
          },
          detail: (msg) => progress(`  ${msg}`),
        },
      });
      const runs = store!.runsOfExperiment(outcome.experiment.id);
      const cases = groupByCase(runs);
      const byKey = new Map(outcome.cases.map((c) => [c.key, c.expect]));
      const judgements = check ? judgeRuns(runs, (k) => byKey.get(k) ?? [], []) : [];
      if (flag(p, 'json')) {
        process.stdout.write(
          JSON.stringify({
            experiment: { ...outcome.experiment, text: undefined },
            results: runs.map((r) => ({ ...resultJson(r), case: r.case_label, repeat: r.repeat })),
            ...(check ? { judgements } : {}),
          }) + '\n',
        );
      } else {
        process.stdout.write(`${experimentTables(outcome.experiment, cases)}\n`);
        process.stdout.write(
          `${outcome.ok} ok, ` +
            `${outcome.partial} partial, ` +
            `${outcome.failed} failed` +
            `${
              outcome.skipped ? `, ${outcome.skipped} already stored (resumed)` : ''
            }; stored in ${db} as experiment ${outcome.experiment.id}\n`,
        );
        process.stdout.write(`report: cnperf report ${outcome.experiment.id} --db ${db} -o ${loaded.spec.name}.html\n`);
        if (check) process.stdout.write(`\n${gatesTable(judgements)}\n`);
      }
      if (stop.requested) return signalExitCode(stop.signal);
      if (check) return gateExitCode(judgements, inconclusive) || (outcome.failed ? 1 : 0);
      return outcome.failed || outcome.partial ? 1 : 0;
    },
  );
}
