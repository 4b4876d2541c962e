/**
 * A real host's steps in one ssh call instead of two per step (its undo appended to the journal, then
 * the step): a shell script that does exactly that for each step in order — the undo line written to
 * the host's journal before the step runs — and stops at the first step that fails, naming it. One
 * round trip for a whole part of a plan (measured on simulated hosts: routed cross-node built in
 * 5.9 s step by step; see the README for the figure after).
 */
import { parseJournal } from '../local/journal.js';
import type { Step } from '../local/steps.js';
import { HostCommandError } from '../util/errors.js';
import type { RemoteHost } from './remote-host.js';
import type { RemoteJournal } from './remote-journal.js';
import { shellQuote } from '../util/shell.js';

const EOF_MARK = 'CNPERF_STDIN_EOF';

/** The script for these steps: $1 is the journal. Pure. */
export function batchScript(steps: readonly Step[]): string {
  const lines = ['j=$1'];
  steps.forEach((s, k) => {
    lines.push(`echo "@@cnperf-step ${k}" >&2`);
    if (s.undo) lines.push(`printf '%s\\n' ${shellQuote(JSON.stringify(s.undo))} >> "$j" || exit 125`);
    const cmd = s.argv.map(shellQuote).join(' ');
    if (s.stdin === undefined) lines.push(`${cmd} </dev/null || exit $?`);
    else {
      if (s.stdin.split('\n').includes(EOF_MARK)) throw new Error(`internal: a step's input contains ${EOF_MARK}`);
      lines.push(`${cmd} <<'${EOF_MARK}' || exit $?`, s.stdin.replace(/\n$/, ''), EOF_MARK);
    }
  });
  return lines.join('\n');
}

/** Runs steps on the host as one script; a failing step is reported as itself (its argv, its stderr). */
export async function runBatch(host: RemoteHost, journal: RemoteJournal, steps: readonly Step[]): Promise<void> {
  host.check();
  try {
    // the script goes on stdin (sh -s), never in argv: one argument may hold at most 128 KiB, and 128
    // pairs routed across hosts are ~200 KB of steps (every step's own stdin is a here-document or
    // /dev/null, so none reads the rest of the script)
    await host.ssh.run(['sh', '-s', '--', journal.path], batchScript(steps), 15_000 + steps.length * 1000);
    journal.record(steps.flatMap((s) => (s.undo ? [s.undo] : [])));
  } catch (e) {
    // what reached the journal there is what teardown must undo: read it back
    const text = await host.ssh.tryRun(['cat', journal.path]).catch(() => null);
    if (text?.code === 0) journal.sync(parseJournal(text.stdout, journal.path).undos);
    // unreadable: assume all were journaled (the undo of what is not there is "gone")
    else journal.record(steps.flatMap((s) => (s.undo ? [s.undo] : [])));
    if (!(e instanceof HostCommandError) || e.code === 255 || e.code === null) throw e;
    const parts = e.stderr.split(/^@@cnperf-step (\d+)\n/m);
    const k = parts.length >= 3 ? Number(parts[parts.length - 2]) : -1;
    const step = steps[k];
    if (!step) throw e;
    throw new HostCommandError([`[${host.name}]`, ...step.argv], parts[parts.length - 1] ?? '', e.code);
  }
}
