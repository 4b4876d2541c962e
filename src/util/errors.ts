/**
 * An error the user can act on: printed as one line (plus an optional hint), never with a stack.
 * Everything else reaching the CLI's top level is a bug and is printed with its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * Something outside cnperf refused (the host's kernel or a tool, the engine, a CNI plugin): its
 * message says what and where, and it is printed as that one line, without a stack — not a bug here.
 */
export class RefusedError extends Error {}

/** A command that changes the host failed: names the command and what it printed. */
export class HostCommandError extends RefusedError {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`command failed (exit ${code ?? 'signal'}): ${argv.join(' ')}: ${stderr.trim() || 'no output'}`);
    this.name = 'HostCommandError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
