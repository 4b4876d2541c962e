import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { assertListed } from '../tools/table.js';
import { HostCommandError } from '../util/errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export type CommandRunner = (
  argv: readonly string[],
  input?: string | Buffer,
  timeoutMs?: number,
) => Promise<CommandResult>;

/** What a command may take unless its step says otherwise (a big ruleset does: Step.timeoutMs). */
export const COMMAND_TIMEOUT_MS = 15_000;

/** Runs argv[0] with argv[1..] directly (never through a shell), with a deadline; `input` goes to stdin. */
export const runCommand: CommandRunner = (argv, input, timeoutMs = COMMAND_TIMEOUT_MS) =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) return reject(new Error('empty command'));
    assertListed(file);
    const child = execFile(
      file,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          const killed = (err as { killed?: boolean }).killed && (err as { signal?: string }).signal === 'SIGKILL';
          const why =
            err.code === 'ENOENT'
              ? `${file} not found on PATH`
              : killed
                ? `did not finish within ${timeoutMs / 1000} s and was killed${stderr ? ` (${stderr.trim()})` : ''}`
                : stderr || err.message;
          return reject(new HostCommandError(argv, why, code));
        }
        resolve({ stdout, stderr });
      },
    );
    child.stdin?.on('error', () => {}); // a command that exits early closes its stdin: its exit code tells
    child.stdin?.end(input ?? '');
  });

/** Whether a program is on PATH (doctor's checks, and what a datapath says it can use). */
export function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((dir) => existsSync(`${dir}/${tool}`));
}
