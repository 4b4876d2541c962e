/**
 * The kinds of journal entry there are at run time: this floor's own (src/local/steps.ts) and those
 * the modules that journal kinds of their own register when they load (a datapath's runtime, its
 * plugins, hugepages), each with the check an entry read back from a journal must pass. A journal
 * line of a kind nobody registered, or one that fails its check, is unreadable: kept, never guessed at.
 */
import { CORE_UNDO_CHECKS, type UndoAction, type UndoOp } from './steps.js';

export type UndoCheck = (o: Record<string, unknown>) => boolean;

const CHECKS = new Map<string, UndoCheck>(Object.entries(CORE_UNDO_CHECKS));

/** Registers a module's own kind (declared in its `declare module` augmentation of UndoKinds). */
export function registerUndoKind(op: UndoOp, check: UndoCheck): void {
  if (op in CORE_UNDO_CHECKS) throw new Error(`internal: '${op}' is a kind of src/local/steps.ts`);
  CHECKS.set(op, check);
}

/** Every kind known now (the modules loaded so far have registered theirs). */
export function undoKinds(): string[] {
  return [...CHECKS.keys()];
}

export function isUndo(x: unknown): x is UndoAction {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  const check = typeof o.op === 'string' ? CHECKS.get(o.op) : undefined;
  return check ? check(o) : false;
}

/** An array of strings (payload checks). */
export function strings(x: unknown): boolean {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}
