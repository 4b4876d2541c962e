/**
 * `cnperf check ID…`: judges stored results against expectations, so a CI job can gate a kernel or CNI
 * upgrade on them. An experiment (id or name) is judged against its own file's `expect:` (as stored
 * with it); runs, and experiments too, against `--expect "p99 < 200us; loss < 0.1%"`. Exit 0 when every
 * expectation holds, 1 when one fails (or is inconclusive, unless --inconclusive pass), 2 for usage errors.
 */
import { defaultDbPath } from '../paths.js';
import { caseStats, groupByCase } from '../report/cases.js';
import { gateExitCode, gatesTable, judge, type Judgement } from '../report/gates.js';
import { parseExperimentText } from '../input/experiment-file.js';
import { metricRefusal, parseExpectation, type Expectation } from '../input/expect.js';
import { expandCases, SCALES, type Scale } from '../input/matrix.js';
import { Store, type RunRecord } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { flag, parseCommandArgs, str } from './args.js';

export const CHECK_USAGE =
  `cnperf check ID... [--expect "METRIC OP VALUE; ..."] [--inconclusive fail|pass] ` +
  `[--json] [--db FILE]
  ID                 a stored experiment (id or name: judged against its file's expect:) or a run id
  --expect           more expectations, for every case and run named: p50|p99|p99.9|max < DURATION,
                     rx_pps|tx_pps|transactions_per_s > RATE, rx_gbps > N, loss < PERCENT
  --inconclusive     the exit status when a value's 95 % interval straddles a threshold (default fail)`;

export const CHECK_OPTIONS = {
  expect: { type: 'string' as const },
  inconclusive: { type: 'string' as const },
  json: { type: 'boolean' as const },
  db: { type: 'string' as const },
};

/** "--inconclusive pass|fail" (default fail: a gate that cannot tell does not let a change through). */
export function inconclusiveMode(text: string | undefined): 'pass' | 'fail' {
  if (text === undefined) return 'fail';
  if (text !== 'pass' && text !== 'fail')
    throw new UserError(`--inconclusive '${text}': expected fail (exit 1, the default) or pass (exit 0)`);
  return text;
}

/** Judges each case of the runs against its own expectations plus the extra ones that apply to its workload. */
export function judgeRuns(
  runs: readonly RunRecord[],
  own: (caseKey: string) => Expectation[],
  extra: readonly Expectation[],
): Judgement[] {
  return groupByCase(runs).flatMap((c) =>
    [...own(c.key), ...extra.filter((e) => !metricRefusal(e, c.workload))].map((e) => judge(c, e)),
  );
}

export async function checkCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('check', argv, CHECK_OPTIONS, CHECK_USAGE);
  if (!p.positionals.length) throw new UserError('check: name stored experiments or runs', `usage: ${CHECK_USAGE}`);
  const inconclusive = inconclusiveMode(str(p, 'inconclusive'));
  const extra = (str(p, 'expect') ?? '')
    .split(';')
    .map((t) => t.trim())
    .filter(Boolean)
    .map(parseExpectation);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  try {
    const judgements: Judgement[] = [];
    for (const id of p.positionals) {
      const exp = store.findExperiment(id);
      if (exp) {
        const spec = parseExperimentText(exp.text, exp.file).spec;
        const cases = new Map(
          expandCases(spec, SCALES.includes(exp.scale as Scale) ? (exp.scale as Scale) : 'full').map((c) => [
            c.key,
            c.expect,
          ]),
        );
        judgements.push(...judgeRuns(store.runsOfExperiment(exp.id), (k) => cases.get(k) ?? [], extra));
        continue;
      }
      const run = store.findRun(id);
      if (!extra.length)
        throw new UserError(`check: run ${run.id} is not part of an experiment: give the expectations with --expect`);
      const c = caseStats(run.id, [run]);
      for (const e of extra) {
        const why = metricRefusal(e, run.workload);
        if (why) throw new UserError(`check: run ${run.id}: ${why}`);
        judgements.push(judge(c, e));
      }
    }
    if (!judgements.length)
      throw new UserError('check: nothing to judge: the experiments have no expect: and no --expect was given');
    process.stdout.write(
      flag(p, 'json')
        ? JSON.stringify({ judgements, exit: gateExitCode(judgements, inconclusive) }) + '\n'
        : `${gatesTable(judgements)}\n`,
    );
    return gateExitCode(judgements, inconclusive);
  } finally {
    store.close();
  }
}
