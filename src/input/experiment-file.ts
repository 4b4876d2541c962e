/**
 * Reads an experiment file: YAML (with positions) → the schema → every case checked as the quick
 * command it is. Every problem of a file is reported at once, each as `file:line:col: what is wrong`
 * with what is allowed (and the nearest valid name for a misspelt one). Nothing here touches the host.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod/v4';
import { datapathNames } from '../datapaths/registry.js';
import { nearest } from '../util/nearest.js';
import { UserError, errorMessage } from '../util/errors.js';
import { ExperimentError, locator, type Problem } from './located.js';
import { expandCases, SCALES } from './matrix.js';
import { parseExpectation } from './expect.js';
import { Experiment, PARAM_NAMES } from './experiment-schema.js';

export { ExperimentError, locator, type Problem };

/** Larger files are refused before parsing: an experiment is a page, not a data set. */
export const MAX_EXPERIMENT_BYTES = 1 << 20;
/** YAML aliases expanded at most this many times (an "alias bomb" is refused, not expanded). */
const MAX_ALIASES = 100;

export interface LoadedExperiment {
  file: string;
  spec: Experiment;
  /** the file's text, stored with the experiment's results */
  text: string;
}

type Path = ReadonlyArray<string | number>;

/** The keys allowed at a path of the document (for "did you mean"). */
function allowedKeys(path: Path): readonly string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return Object.keys(Experiment.shape);
  if (last === 'params') return PARAM_NAMES;
  if (last === 'scales') return ['quick', 'full'];
  if (path[0] === 'scales' && path.length === 2) return ['repeats', 'params', 'datapaths'];
  if (typeof last === 'number' && path[path.length - 2] === 'datapaths')
    return ['datapath', 'label', 'params', 'expect'];
  if (typeof last === 'number' && path[0] === 'overrides') return ['when', 'params'];
  if (last === 'when') return ['datapath', 'label', 'params'];
  return [];
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  const at = issue.path.length ? `'${issue.path.join('.')}': ` : '';
  switch (issue.code) {
    case 'invalid_type':
      return (
        `${at}expected ` +
        `${
          ({ array: 'a list', object: 'a map' } as Record<string, string>)[issue.expected] ?? `a ${issue.expected}`
        }, got ` +
        `${
          value === null
            ? 'null'
            : Array.isArray(value)
              ? 'a list'
              : typeof value === 'object'
                ? 'a map'
                : `a ${typeof value}`
        }`
      );
    case 'too_big':
    case 'too_small':
      return `${at}${issue.message.replace(/^Too (big|small): expected /, 'expected ')}`;
    case 'invalid_value':
      return `${at}'${String(value)}' is not allowed; expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return `${at}'${String(value)}' is not valid: ${issue.message}`;
    default:
      return `${at}${issue.message}`;
  }
}

/** zod issues → located problems; a union is reported through the branch that fits the value's shape. */
function schemaProblems(
  issues: readonly z.core.$ZodIssue[],
  js: unknown,
  locate: ReturnType<typeof locator>,
  base: Path = [],
): Problem[] {
  const out: Problem[] = [];
  const valueAt = (path: Path) =>
    path.reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined),
      js,
    );
  for (const issue of issues) {
    const path = [...base, ...(issue.path as Array<string | number>)];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(path);
      for (const key of issue.keys) {
        const near = nearest(key, allowed);
        out.push({
          ...locate(path, key),
          message:
            `unknown key ` + `'${key}'${near ? ` (did you mean '${near}'?)` : ''}; allowed here: ${allowed.join(', ')}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union') {
      const value = valueAt(path);
      const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
      // The branch whose root type matches the value is the one the author meant.
      const branch =
        issue.errors.find((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0)) ?? null;
      if (branch) {
        out.push(...schemaProblems(branch, js, locate, path));
        continue;
      }
      const what =
        path.includes('datapaths') && !path.includes('params')
          ? 'a datapath name or {datapath, label, params}'
          : 'a string, a number, a boolean, or a list of them';
      out.push({
        ...locate(path),
        message:
          `'${path.join('.')}': expected ` +
          `${what}, got ` +
          `${isObject ? 'a map' : Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`,
      });
      continue;
    }
    out.push({ ...locate(path), message: describeIssue({ ...issue, path } as z.core.$ZodIssue, valueAt(path)) });
  }
  return out;
}

export function parseExperimentText(text: string, file: string): LoadedExperiment {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const syntax: Problem[] = doc.errors.map((e) => {
    const pos = lc.linePos(e.pos[0]);
    const message =
      e.code === 'DUPLICATE_KEY'
        ? e.message.replace(/^Map keys must be unique.*/s, 'duplicate key: each key may appear once in a map')
        : e.message.split('\n')[0]!;
    return { line: pos.line, col: pos.col, message: `YAML: ${message}` };
  });
  if (syntax.length) throw new ExperimentError(file, syntax);
  const locate = locator(doc, lc);
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    throw new ExperimentError(file, [
      { line: 1, col: 1, message: `YAML: ${errorMessage(e)} (at most ${MAX_ALIASES} alias expansions)` },
    ]);
  }
  if (js === null || typeof js !== 'object' || Array.isArray(js))
    throw new ExperimentError(file, [
      { ...locate([]), message: 'an experiment is a map with name, workload, datapaths, ...' },
    ]);
  const problems: Problem[] = [];
  const checkNames = (entries: unknown, base: Path) => {
    if (!Array.isArray(entries)) return;
    entries.forEach((d: unknown, i) => {
      const name =
        typeof d === 'string'
          ? d
          : d !== null && typeof d === 'object'
            ? (d as { datapath?: unknown }).datapath
            : undefined;
      if (typeof name !== 'string' || datapathNames().includes(name)) return;
      const near = nearest(name, datapathNames());
      problems.push({
        ...locate(typeof d === 'string' ? [...base, i] : [...base, i, 'datapath']),
        message:
          `unknown datapath ` +
          `'${name}'${near ? ` (did you mean '${near}'?)` : ''}; known: ${datapathNames().join(', ')}`,
      });
    });
  };
  // Names are checked on the raw document too, so a file with schema errors gets them all at once.
  const raw = js as { datapaths?: unknown; scales?: Record<string, { datapaths?: unknown } | undefined> };
  checkNames(raw.datapaths, ['datapaths']);
  for (const s of SCALES) checkNames(raw.scales?.[s]?.datapaths, ['scales', s, 'datapaths']);
  const parsed = Experiment.safeParse(js);
  if (!parsed.success) problems.push(...schemaProblems(parsed.error.issues, js, locate));
  if (problems.length || !parsed.success) throw new ExperimentError(file, problems);
  const spec = parsed.data;
  // the inventory is named relative to the experiment file, and read (checked) with it
  if (spec.hosts) {
    spec.hosts = path.resolve(path.dirname(path.resolve(file)), spec.hosts);
    try {
      statSync(spec.hosts);
    } catch {
      throw new ExperimentError(file, [
        {
          ...locate(['hosts']),
          message: `hosts: ${spec.hosts} does not exist (an inventory: hosts: [{name, address}, ...])`,
        },
      ]);
    }
  }

  // Every expectation's syntax, wherever it is written, all reported at once.
  const expectations: Array<[unknown, Path]> = [
    [spec.expect, ['expect']],
    ...spec.datapaths.map((d, i): [unknown, Path] => [
      typeof d === 'string' ? undefined : d.expect,
      ['datapaths', i, 'expect'],
    ]),
    ...SCALES.flatMap((sc) =>
      (spec.scales?.[sc]?.datapaths ?? []).map((d, i): [unknown, Path] => [
        typeof d === 'string' ? undefined : d.expect,
        ['scales', sc, 'datapaths', i, 'expect'],
      ]),
    ),
  ];
  for (const [list, at] of expectations) {
    (Array.isArray(list) ? (list as string[]) : []).forEach((text, j) => {
      try {
        parseExpectation(text);
      } catch (e) {
        problems.push({ ...locate([...at, j]), message: errorMessage(e) });
      }
    });
  }
  if (problems.length) throw new ExperimentError(file, problems);

  // Every case of both scales is checked as the quick command it is, so `run` never meets a bad one.
  const seen = new Set<string>();
  for (const scale of SCALES) {
    try {
      expandCases(spec, scale);
    } catch (e) {
      const { source, key } = e as { source?: Path; key?: string };
      const msg = errorMessage(e);
      if (!seen.has(msg))
        problems.push({ ...(source ? locate(source, key) : locate([])), message: `${scale} scale: ${msg}` });
      seen.add(msg);
    }
  }
  if (problems.length) throw new ExperimentError(file, problems);
  return { file, spec, text };
}

export function loadExperiment(file: string): LoadedExperiment {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UserError(`${file}: not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read experiment file ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  if (size > MAX_EXPERIMENT_BYTES)
    throw new ExperimentError(file, [
      {
        line: 1,
        col: 1,
        message: `the file is ${size} bytes; an experiment file is at most ${MAX_EXPERIMENT_BYTES} bytes`,
      },
    ]);
  const text = readFileSync(file, 'utf8');
  if (text.includes('\0'))
    throw new ExperimentError(file, [
      { line: 1, col: 1, message: 'the file is binary (it contains NUL bytes); an experiment file is YAML text' },
    ]);
  return parseExperimentText(text, file);
}
