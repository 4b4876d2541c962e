/**
 * Every option of `cnperf quick` (and of experiment files' `params`), declared once: its name, who
 * takes it, how its value is parsed and checked, and its help text. The command-line parser, the
 * usage text, `cnperf quick --help`, the experiment schema (`cnperf schema`) and the experiment
 * planner are all derived from this table; nothing else lists option names.
 *
 * `for` says who takes an option: 'output' (the command itself: output, storage), 'datapath' (the
 * planner; `only` narrows it to datapaths whose `takes` names that key), or the workloads by name.
 * Options whose meaning depends on the workload (--warmup is a count of round trips for rtt and a
 * duration for stream; --rate is one rate for stream and a list for sweep) keep their text and are
 * parsed by the workload.
 */
import { UserError } from '../util/errors.js';
import { DATAPATH_OPTIONS } from './for-datapaths.js';
import { OUTPUT_OPTIONS } from './for-output.js';
import { WORKLOAD_OPTIONS } from './for-workloads.js';
import type { OptionDef } from './option-kit.js';

export { parseCpus, parseOffload, type OptionDef } from './option-kit.js';

/** The table, in the order of the usage text: the command's own, the datapath's, the workloads'. */
export const OPTIONS = { ...OUTPUT_OPTIONS, ...DATAPATH_OPTIONS, ...WORKLOAD_OPTIONS } as const;

export type OptionName = keyof typeof OPTIONS;
type ValueOf<D> = D extends OptionDef<infer T> ? T : never;
/** Parsed option values by name: what workloads and datapaths read. */
export type OptionValues = { -readonly [K in OptionName]?: ValueOf<(typeof OPTIONS)[K]> };

export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];
export const DATAPATH_OPTION_NAMES = OPTION_NAMES.filter((k) => OPTIONS[k].for === 'datapath');
/** What an experiment file's `params` may set. */
export const EXPERIMENT_PARAM_NAMES = [
  ...OPTION_NAMES.filter((k) => OPTIONS[k].for !== 'output' && OPTIONS[k].for !== 'datapath'),
  ...DATAPATH_OPTION_NAMES,
].filter((k) => (OPTIONS[k] as OptionDef<unknown>).experiment !== false);

export function optionDef(name: string): OptionDef<unknown> | undefined {
  return (OPTIONS as Record<string, OptionDef<unknown>>)[name];
}

/** The options a workload takes (its own and those of every workload). */
export function workloadOptionNames(workload: string): OptionName[] {
  return OPTION_NAMES.filter((k) => {
    const f = OPTIONS[k].for;
    return f !== 'output' && f !== 'datapath' && f.includes(workload);
  });
}

/** node:util parseArgs's option spec for the named options. */
export function parseArgsSpec(
  names: readonly OptionName[],
): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(
    names.map((k) => [
      k,
      { type: OPTIONS[k].type, ...('short' in OPTIONS[k] ? { short: (OPTIONS[k] as OptionDef<unknown>).short } : {}) },
    ]),
  );
}

/**
 * Raw values (strings from argv or an experiment file, true for flags) → parsed values, each
 * checked by its option's parser. Unknown names are the caller's to refuse.
 */
export function parseOptionValues(raw: Readonly<Record<string, string | boolean | undefined>>): OptionValues {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    const d = optionDef(k);
    if (!d) throw new UserError(`unknown option --${k}`);
    if (d.type === 'boolean') {
      if (typeof v !== 'boolean') throw new UserError(`--${k} is a flag: give true or false, not '${v}'`);
      if (v) out[k] = true;
      continue;
    }
    const t = String(v);
    out[k] = d.parse ? d.parse(t, `--${k}`) : t;
  }
  return out as OptionValues;
}

/** One usage line per option: "--name VALUE   help". */
function optionLines(names: readonly OptionName[]): string {
  const left = names.map(
    (k) => `  --${k}${OPTIONS[k].type === 'string' ? ` ${(OPTIONS[k] as OptionDef<unknown>).value ?? 'VALUE'}` : ''}`,
  );
  const width = Math.min(44, Math.max(...left.map((l) => l.length)) + 2);
  // an option whose syntax is wider than the column gets its text on the next line, never run into it
  return names
    .map(
      (k, i) =>
        (left[i]!.length < width - 1 ? left[i]!.padEnd(width) : `${left[i]}\n${' '.repeat(width)}`) + OPTIONS[k].help,
    )
    .join('\n');
}

/** The usage of `cnperf quick`, made from the table. */
export function quickUsage(
  workloads: ReadonlyArray<{ name: string; description: string }>,
  datapaths: readonly string[],
): string {
  const of = (pred: (f: OptionDef<unknown>['for']) => boolean) => OPTION_NAMES.filter((k) => pred(OPTIONS[k].for));
  const everyWorkload = of((f) => f !== 'output' && f !== 'datapath' && workloads.every((w) => f.includes(w.name)));
  const sections = [
    `cnperf quick DATAPATH... [--workload ${workloads.map((w) => w.name).join('|')}] [options]`,
    `output:\n${optionLines(of((f) => f === 'output'))}`,
    `datapath:\n${optionLines(of((f) => f === 'datapath'))}`,
    `every workload:\n${optionLines(everyWorkload)}`,
    ...workloads.map(
      (w) =>
        `--workload ${w.name}: ` +
        `${w.description}\n${optionLines(workloadOptionNames(w.name).filter((k) => !everyWorkload.includes(k)))}`,
    ),
    `datapaths: ${datapaths.join(', ')}`,
  ];
  return sections.join('\n');
}

/** The usage lines of the datapath options (for `cnperf topo up`). */
export function datapathUsage(): string {
  return optionLines(DATAPATH_OPTION_NAMES);
}
