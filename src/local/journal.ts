/**
 * The journal of a run: a header line naming its owner process, then one line per reverse action,
 * appended BEFORE the forward action runs. Teardown replays it backwards. Lines are NDJSON written
 * with one append each, so a crash leaves at worst a truncated last line, which readers skip.
 */
import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ensureStateDir } from './statedir.js';
import path from 'node:path';
import { processStartTime } from './proc.js';
import type { UndoAction } from './steps.js';
import { isUndo } from './undo-kinds.js';

export interface JournalHeader {
  v: 1;
  runId: string;
  pid: number;
  pidStart: string;
  /** 'run': removed by its own teardown or by `clean`; 'topo': kept on purpose by `topo up` */
  kind: 'run' | 'topo';
  datapath: string;
  created: string;
  /** on a real host (src/remote/): the machine cnperf ran on; pid/pidStart are then its keeper's there */
  controller?: string;
}

/** What the executor needs of a journal: here a file, on a real host a file written over ssh. */
export interface JournalLike {
  readonly path: string;
  readonly header: JournalHeader;
  append(undo: UndoAction): void | Promise<void>;
  appendAll(undos: readonly UndoAction[]): void | Promise<void>;
  undos(): UndoAction[];
  /** lines of the journal's file that could not be read (none for a journal kept in memory) */
  unreadable?(): JournalContents['unreadable'];
  remove(): void | Promise<void>;
}

export interface JournalContents {
  path: string;
  header: JournalHeader | null;
  undos: UndoAction[];
  /**
   * Complete lines that could not be read: an entry of a newer cnperf, or a line damaged in the middle.
   * Their undo is unknown, so a journal with any is never deleted. (A torn last line — a crash between
   * the write's start and its newline — is no entry yet: its step had not run, and it is skipped.)
   */
  unreadable: Array<{ line: number; text: string }>;
}

/** The failure that keeps a journal with unreadable lines, for the teardown or clean report. */
export function unreadableFailure(
  j: Pick<JournalContents, 'path' | 'unreadable'>,
): { what: string; error: string } | null {
  if (!j.unreadable.length) return null;
  const lines = j.unreadable.map((u) => `line ${u.line}: ${u.text.length > 80 ? `${u.text.slice(0, 80)}…` : u.text}`);
  return {
    what: `journal ${j.path}`,
    error:
      `kept: ${j.unreadable.length} line(s) cnperf cannot read, so what they undo is unknown ` +
      `(${lines.join('; ')}); a newer cnperf may read them, else inspect and remove the journal by hand`,
  };
}

export class Journal implements JournalLike {
  private constructor(
    readonly path: string,
    readonly header: JournalHeader,
  ) {}

  static create(dir: string, header: Omit<JournalHeader, 'v' | 'pid' | 'pidStart' | 'created'>): Journal {
    ensureStateDir(dir);
    const full: JournalHeader = {
      v: 1,
      ...header,
      pid: process.pid,
      pidStart: processStartTime(process.pid) ?? '',
      created: new Date().toISOString(),
    };
    const file = path.join(dir, `${header.runId}.journal`);
    writeFileSync(file, JSON.stringify(full) + '\n', { flag: 'wx', mode: 0o600 });
    return new Journal(file, full);
  }

  /** Re-opens an existing journal (topo down, clean) to append or replay it. */
  static open(file: string): Journal | null {
    const c = readJournal(file);
    return c.header ? new Journal(file, c.header) : null;
  }

  append(undo: UndoAction): void {
    appendFileSync(this.path, JSON.stringify(undo) + '\n');
  }

  /** Several undos in one write (a batch of kernel steps is journaled whole before it is sent). */
  appendAll(undos: readonly UndoAction[]): void {
    if (undos.length) appendFileSync(this.path, undos.map((u) => JSON.stringify(u) + '\n').join(''));
  }

  undos(): UndoAction[] {
    return readJournal(this.path).undos;
  }

  unreadable(): JournalContents['unreadable'] {
    return readJournal(this.path).unreadable;
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}

export function readJournal(file: string): JournalContents {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { path: file, header: null, undos: [], unreadable: [] };
  }
  return parseJournal(text, file);
}

/** A journal's text (read here, or from a real host over ssh) → its header and undos. */
export function parseJournal(text: string, file: string): JournalContents {
  const out: JournalContents = { path: file, header: null, undos: [], unreadable: [] };
  const lines = text.split('\n');
  // every entry is written with its newline in one write: text after the last newline is a torn write
  lines.pop();
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      out.unreadable.push({ line: i + 1, text: line });
      return;
    }
    if (i === 0 && typeof parsed === 'object' && parsed !== null && (parsed as JournalHeader).v === 1) {
      out.header = parsed as JournalHeader;
    } else if (isUndo(parsed)) {
      out.undos.push(parsed);
    } else {
      out.unreadable.push({ line: i + 1, text: line });
    }
  });
  return out;
}

export function listJournals(dir: string): JournalContents[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.journal'))
    .sort()
    .map((n) => readJournal(path.join(dir, n)));
}
