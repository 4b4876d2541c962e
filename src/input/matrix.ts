/**
 * An experiment's cases: each datapath entry × every combination of the list-valued parameters,
 * at a scale, with the overrides applied — and each case planned by the same code as `cnperf quick`
 * (src/input/quick-plan.ts) from its values, so an experiment accepts exactly what the command line accepts. Pure.
 */
import { planQuick, type QuickPlan } from './quick-plan.js';
import { UserError, errorMessage } from '../util/errors.js';
import { workloadsOf, type Experiment } from './experiment-schema.js';
import { optionDef } from '../options/options.js';
import { metricRefusal, parseExpectation, type Expectation } from './expect.js';

export const SCALES = ['quick', 'full'] as const;
export type Scale = (typeof SCALES)[number];

type Scalar = string | number | boolean;
type Path = Array<string | number>;

export interface Case {
  /** stable identity of the case within the experiment (what --resume matches) */
  key: string;
  /** for tables and plots: the label, plus the values of the matrix axes */
  label: string;
  datapath: string;
  workload: string;
  /** every parameter of the case, by quick's option name */
  params: Record<string, Scalar>;
  /** the axes' values (the parameters given as lists) */
  axes: Record<string, Scalar>;
  quick: QuickPlan;
  /** the conditions it must meet: the file's top-level ones and its datapath entry's */
  expect: Expectation[];
}

/** A bad value, with where it came from in the file. */
export class CaseError extends UserError {
  constructor(
    message: string,
    readonly source: Path,
    readonly key: string | undefined,
  ) {
    super(message);
  }
}

interface Sourced {
  value: Scalar | Scalar[];
  source: Path;
}

function layer(into: Map<string, Sourced>, params: Record<string, unknown> | undefined, source: Path): void {
  for (const [k, v] of Object.entries(params ?? {}))
    if (v !== undefined) into.set(k, { value: v as Scalar | Scalar[], source });
}

/**
 * The most cases one experiment may have: a product of lists grows fast (three lists of 100 values are
 * a million cases, which exhaust memory before the first is measured), and no study here needs more.
 */
export const MAX_CASES = 10_000;

/** Refuses a product of lists over MAX_CASES, at the longest list, naming the product. */
function checkProduct(params: Map<string, Sourced>): void {
  const lists = [...params]
    .filter(([, s]) => Array.isArray(s.value))
    .map(([k, s]) => ({ k, n: (s.value as Scalar[]).length, source: s.source }));
  const product = lists.reduce((p, l) => p * l.n, 1);
  if (product <= MAX_CASES) return;
  const longest = lists.reduce((a, b) => (b.n > a.n ? b : a));
  throw new CaseError(
    `${lists.map((l) => `${l.k}: ${l.n}`).join(' × ')} = ${product} cases; an experiment may have at most ${MAX_CASES}`,
    longest.source,
    longest.k,
  );
}

/** Every combination of the list-valued entries (in key order), each with its axes. */
function combinations(
  params: Map<string, Sourced>,
): Array<{ values: Map<string, Sourced & { value: Scalar }>; axes: Record<string, Scalar> }> {
  checkProduct(params);
  let out = [{ values: new Map<string, Sourced & { value: Scalar }>(), axes: {} as Record<string, Scalar> }];
  for (const [k, s] of [...params].sort(([a], [b]) => a.localeCompare(b))) {
    const list = Array.isArray(s.value) ? s.value : [s.value];
    out = out.flatMap((c) =>
      list.map((v) => {
        const values = new Map(c.values);
        values.set(k, { value: v, source: s.source });
        return { values, axes: Array.isArray(s.value) ? { ...c.axes, [k]: v } : c.axes };
      }),
    );
  }
  return out;
}

/** A case's values as the option table takes them: text for valued options, true/false for flags. */
function rawValuesOf(workload: string, values: Map<string, { value: Scalar }>): Record<string, string | boolean> {
  const raw: Record<string, string | boolean> = { workload };
  for (const [k, { value }] of values) raw[k] = typeof value === 'boolean' ? value : String(value);
  return raw;
}

/**
 * With several workloads, a case of workload w takes only the parameters that apply to w (and the
 * datapath's); one that applies to none of them is an error where it is set. With one workload,
 * every parameter must apply to it (planQuick says so).
 */
function forWorkload(
  values: Map<string, Sourced & { value: Scalar }>,
  workload: string,
  workloads: readonly string[],
): Map<string, Sourced & { value: Scalar }> {
  if (workloads.length === 1) return values;
  const applies = (k: string, w: string) => {
    const f = optionDef(k)?.for;
    return f === 'datapath' || (Array.isArray(f) && f.includes(w));
  };
  for (const [k, s] of values) {
    if (!workloads.some((w) => applies(k, w))) {
      const f = optionDef(k)?.for;
      throw new CaseError(
        `'${k}' applies to none of the workloads ` +
          `${workloads.join(', ')}${Array.isArray(f) ? ` (it is for: ${f.join(', ')})` : ''}`,
        s.source,
        k,
      );
    }
  }
  return new Map([...values].filter(([k]) => applies(k, workload)));
}

/**
 * A case's expectations, each parsed where the file wrote it. With several workloads, one that a
 * workload does not measure applies to the others' cases (an error only when it applies to none).
 */
function expectationsOf(
  spec: Experiment,
  entry: Experiment['datapaths'][number],
  entryPath: Path,
  workload: string,
  workloads: readonly string[],
): Expectation[] {
  const sourced: Array<[string, Path]> = [
    ...(spec.expect ?? []).map((t, j): [string, Path] => [t, ['expect', j]]),
    ...(typeof entry === 'string'
      ? []
      : (entry.expect ?? []).map((t, j): [string, Path] => [t, [...entryPath, 'expect', j]])),
  ];
  return sourced.flatMap(([text, source]) => {
    let e: Expectation;
    try {
      e = parseExpectation(text);
    } catch (err) {
      throw new CaseError(errorMessage(err), source, undefined);
    }
    if (!metricRefusal(e, workload)) return [e];
    if (workloads.every((w) => metricRefusal(e, w)))
      throw new CaseError(metricRefusal(e, workload)!, source, undefined);
    return [];
  });
}

export function expandCases(spec: Experiment, scale: Scale): Case[] {
  const workloads = workloadsOf(spec);
  const cases: Case[] = [];
  for (const w of workloads) {
    cases.push(...expandCasesOf(spec, scale, w, workloads));
    if (cases.length > MAX_CASES)
      throw new CaseError(
        `${workloads.length} workloads × ` +
          `${spec.datapaths.length} datapath entries make over ` +
          `${MAX_CASES} cases; an experiment may have at most ${MAX_CASES}`,
        ['datapaths'],
        undefined,
      );
  }
  return cases;
}

function expandCasesOf(spec: Experiment, scale: Scale, workload: string, workloads: readonly string[]): Case[] {
  const scaleSpec = spec.scales?.[scale];
  const entries = scaleSpec?.datapaths ?? spec.datapaths;
  const entriesPath: Path = scaleSpec?.datapaths ? ['scales', scale, 'datapaths'] : ['datapaths'];
  const cases: Case[] = [];
  const keys = new Set<string>();
  entries.forEach((entry, i) => {
    const datapath = typeof entry === 'string' ? entry : entry.datapath;
    const label = (typeof entry === 'string' ? undefined : entry.label) ?? datapath;
    const expect = expectationsOf(spec, entry, [...entriesPath, i], workload, workloads);
    const params = new Map<string, Sourced>();
    layer(params, spec.params, ['params']);
    layer(params, scaleSpec?.params, ['scales', scale, 'params']);
    if (typeof entry !== 'string') layer(params, entry.params, [...entriesPath, i, 'params']);
    for (const combo of combinations(params)) {
      // Overrides match the case as it stands (datapath, label, values), in file order.
      const values = new Map<string, Sourced>(combo.values);
      (spec.overrides ?? []).forEach((o, j) => {
        const w = o.when;
        if (w.datapath !== undefined && w.datapath !== datapath) return;
        if (w.label !== undefined && w.label !== label) return;
        if (w.params && !Object.entries(w.params).every(([k, v]) => values.get(k)?.value === v)) return;
        layer(values, o.params, ['overrides', j, 'params']);
      });
      for (const all of combinations(values)) {
        const kept = forWorkload(all.values, workload, workloads);
        const final = { values: kept, axes: Object.fromEntries(Object.entries(all.axes).filter(([k]) => kept.has(k))) };
        const axes = Object.fromEntries(Object.entries({ ...combo.axes, ...final.axes }).filter(([k]) => kept.has(k)));
        const flat = Object.fromEntries([...final.values].map(([k, s]) => [k, s.value]));
        let quick: QuickPlan;
        try {
          quick = planQuick([datapath], {
            ...rawValuesOf(workload, final.values),
            ...(spec.hosts ? { hosts: spec.hosts } : {}),
          });
        } catch (e) {
          // Point at the parameter the message names, where the file set it.
          const key = /--([a-z][a-z-]*)/.exec(errorMessage(e))?.[1];
          const src = key ? final.values.get(key)?.source : undefined;
          throw new CaseError(
            `${label}${Object.keys(axes).length ? ` (${describeAxes(axes)})` : ''}: ${errorMessage(e)}`,
            src ?? [...entriesPath, i],
            src ? key : undefined,
          );
        }
        if (quick.jobs.length !== 1) {
          // one command's several results (--api send,tcp; a load's --rate idle,20k) are an axis here
          const listed = (['api', 'rate'] as const).find((k) => String(final.values.get(k)?.value ?? '').includes(','));
          throw new CaseError(
            `${label}: give '${listed ?? 'api'}' as a list (an axis), not a comma-separated string`,
            final.values.get(listed ?? 'api')?.source ?? [...entriesPath, i],
            listed ?? 'api',
          );
        }
        if (quick.datapathOptions.length !== 1)
          throw new CaseError(
            `${label}: ip 'dual' measures two families in one command; in a file they are an axis: ip: ['4', '6']`,
            final.values.get('ip')?.source ?? [...entriesPath, i],
            'ip',
          );
        const key = `${workloads.length > 1 ? `${workload}|` : ''}${label}|${Object.entries(flat)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',')}`;
        // another workload's list parameter made this combination twice: it is the same case
        if (keys.has(key) && workloads.length > 1) continue;
        if (keys.has(key))
          throw new CaseError(
            `two cases are the same: ${key} (give the datapath entries distinct labels)`,
            [...entriesPath, i],
            undefined,
          );
        keys.add(key);
        if (cases.length >= MAX_CASES)
          throw new CaseError(
            `over ${MAX_CASES} cases (datapath entries × the parameters' lists); an experiment may have at ` +
              `most ${MAX_CASES}`,
            entriesPath,
            undefined,
          );
        cases.push({
          key,
          label: Object.keys(axes).length ? `${label} ${describeAxes(axes)}` : label,
          datapath,
          workload,
          params: flat,
          axes,
          quick,
          expect,
        });
      }
    }
  });
  return cases;
}

export function describeAxes(axes: Record<string, Scalar>): string {
  return Object.entries(axes)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** The pause between cases at a scale. */
export function cooldownOf(spec: Experiment, scale: Scale): string {
  return spec.scales?.[scale]?.cooldown ?? spec.cooldown;
}

/** Repeats at a scale. */
export function repeatsOf(spec: Experiment, scale: Scale): number {
  return spec.scales?.[scale]?.repeats ?? spec.repeats;
}
