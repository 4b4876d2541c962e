/**
 * Many undos in one call to a real host: a shell script that runs each undo's command in turn, whatever
 * the others did (as one call per undo would), and says per command what it did. Pure.
 */
import { shellQuote } from '../util/shell.js';

/** Undos per call on a host: a script of 500 short commands is ~40 KB. */
export const UNDOS_PER_CALL = 500;

/**
 * A script that runs each command in turn, whatever the others did (as one call per undo would), and
 * prints per command a line `@@cnperf-undo K ok`, or `@@cnperf-undo K EXIT` and what it printed. Pure.
 */
export function undoScript(commands: ReadonlyArray<readonly string[]>): string {
  const lines = [
    'n=0',
    'r() { if o=$("$@" 2>&1 </dev/null); then echo "@@cnperf-undo $n ok"; else echo "@@cnperf-undo $n $?"; ' +
      'printf \'%s\\n\' "$o"; fi; n=$((n+1)); }',
  ];
  for (const argv of commands) lines.push(`r ${argv.map(shellQuote).join(' ')}`);
  return lines.join('\n') + '\n';
}

/** What each command of an undoScript did: done, or its exit status and output. Pure. */
export function undoScriptResults(
  stdout: string,
  count: number,
): Array<{ ok: true } | { ok: false; code: number; output: string }> {
  const parts = stdout.split(/^@@cnperf-undo (\d+) (ok|\d+)\n/m);
  const out = new Map<number, { ok: true } | { ok: false; code: number; output: string }>();
  for (let k = 1; k + 1 < parts.length; k += 3)
    out.set(
      Number(parts[k]),
      parts[k + 1] === 'ok'
        ? { ok: true }
        : { ok: false, code: Number(parts[k + 1]), output: (parts[k + 2] ?? '').trim() },
    );
  return Array.from(
    { length: count },
    (_, k) => out.get(k) ?? { ok: false, code: -1, output: 'the script stopped before this command' },
  );
}
