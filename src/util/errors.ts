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

/** A command that changes the host failed: names the command and what it printed. */
export class HostCommandError extends Error {
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
