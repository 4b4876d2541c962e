/**
 * The source tree's real import graph: every `import`, `export … from` and `import()` of every file
 * under src/, type-only ones included (a type is a dependency of the design as much as a value is),
 * read by the TypeScript compiler's own pre-processor, not by a regular expression.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportGraph {
  /** file (relative to the root, with '/') → the files it imports */
  files: Map<string, Set<string>>;
  /** folder → the folders its files import (a file directly under the root is in folder '.') */
  folders: Map<string, Set<string>>;
  /** the import statements behind each folder edge 'a -> b', as 'file imports file' */
  why: Map<string, string[]>;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top folder of a file under the root: its floor. */
export function folderOf(rel: string): string {
  return rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.';
}

export function importGraph(root: string): ImportGraph {
  const files = new Map<string, Set<string>>();
  const folders = new Map<string, Set<string>>();
  const why = new Map<string, string[]>();
  for (const abs of sources(root)) {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    const out = new Set<string>();
    for (const ref of ts.preProcessFile(readFileSync(abs, 'utf8'), true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue; // a package, or node:
      const target = path.relative(root, path.resolve(path.dirname(abs), ref.fileName.replace(/\.js$/, '.ts')));
      out.add(target.split(path.sep).join('/'));
    }
    files.set(rel, out);
    for (const t of out) {
      const [a, b] = [folderOf(rel), folderOf(t)];
      if (a === b) continue;
      if (!folders.has(a)) folders.set(a, new Set());
      folders.get(a)!.add(b);
      const key = `${a} -> ${b}`;
      why.set(key, [...(why.get(key) ?? []), `${rel} imports ${t}`]);
    }
  }
  return { files, folders, why };
}

/** The cycles of a graph: its strongly connected components of more than one node, or a node importing itself. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * The floors written in a document: the lines of its fenced block marked `floors`, top floor first,
 * each line a floor's folders separated by spaces (folders on one floor may not import each other).
 */
export function floorsIn(markdown: string): string[][] {
  const m = /```floors\n([\s\S]*?)```/.exec(markdown);
  if (!m) throw new Error('no ```floors block');
  return m[1]!
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
}

/** Every import of a folder that does not go to a floor strictly below its own. */
export function floorViolations(g: ImportGraph, floors: string[][]): string[] {
  const level = new Map(floors.flatMap((f, i) => f.map((d) => [d, i] as const)));
  const bad: string[] = [];
  for (const [a, outs] of g.folders) {
    for (const b of outs) {
      const [la, lb] = [level.get(a), level.get(b)];
      if (la === undefined || lb === undefined) bad.push(`${la === undefined ? a : b}/ is on no floor`);
      else if (lb <= la)
        bad.push(...g.why.get(`${a} -> ${b}`)!.map((w) => `${w} (${a}/ is on floor ${la + 1}, ${b}/ on ${lb + 1})`));
    }
  }
  return [...new Set(bad)];
}

/**
 * The words of a file's identifiers, comments and strings left out (an option's name, a message, a
 * comment may say what they like): `attachCni` → attach, cni; `CNI_PART` → cni, part. Read from the
 * compiler's own syntax tree (a regular expression or a template cannot be told from code otherwise).
 */
export function identifierWords(text: string): string[][] {
  const out: string[][] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node))
      out.push(
        node.text
          .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
          .split(/[\s_$#]+/)
          .filter(Boolean)
          .map((w) => w.toLowerCase()),
      );
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return out;
}

/** Whether one of the identifiers has `name`'s words ('ovs-dpdk' → ovs, dpdk) one after another. */
export function names(identifiers: string[][], name: string): boolean {
  const want = name.toLowerCase().split('-');
  return identifiers.some((words) => words.some((_, i) => want.every((w, j) => words[i + j] === w)));
}
