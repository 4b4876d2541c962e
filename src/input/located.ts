/**
 * Problems of a YAML file at their place: `file:line:col: what is wrong`, all of a file's at once, and
 * the locator that turns a path of the parsed document into its line and column. Shared by the
 * experiment and hosts files. Pure.
 */
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node } from 'yaml';
import { UserError } from '../util/errors.js';

export interface Problem {
  line: number;
  col: number;
  message: string;
}

export class ExperimentError extends UserError {
  readonly problems: Problem[];

  constructor(
    readonly file: string,
    problems: Problem[],
    hint = '`cnperf schema` prints the JSON Schema of experiment files',
  ) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.col - b.col);
    super(
      `${file}: ${problems.length} ` +
        `problem${problems.length === 1 ? '' : 's'}\n` +
        `${sorted.map((p) => `${file}:${p.line}:${p.col}: ${p.message}`).join('\n')}`,
      hint,
    );
    this.problems = sorted;
  }
}

type Path = ReadonlyArray<string | number>;

/** Where a path of the document is, as 1-based line and column (the nearest existing ancestor). */
export function locator(doc: Document, lc: LineCounter) {
  return (path: Path, key?: string): { line: number; col: number } => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined;
      const target =
        n === path.length && key !== undefined && isMap(node)
          ? node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key)?.key
          : node;
      const range = (target as Node | undefined)?.range ?? (n === 0 ? doc.contents?.range : undefined);
      if (range) return lc.linePos(range[0]);
    }
    return { line: 1, col: 1 };
  };
}
