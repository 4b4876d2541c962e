/**
 * Commands for a POSIX shell on another machine: ssh hands the remote side one command line, not an
 * argv, so arguments are quoted, small scripts take theirs as $1…, and a script's output comes back
 * in named sections. Pure.
 */
/** One argument as a POSIX shell reads it: ssh hands the remote side a command line, not argv. */
export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_./:@=+,%-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/**
 * The sections of a host script's output: each begins with a line `@@NAME` (printed after a newline,
 * `printf '\n@@%s\n' NAME`) and runs to the next. Pure.
 */
export function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const chunk of out.split('\n@@').slice(1)) {
    const nl = chunk.indexOf('\n');
    m.set(nl < 0 ? chunk : chunk.slice(0, nl), nl < 0 ? '' : chunk.slice(nl + 1));
  }
  return m;
}

/** argv for `sh -c SCRIPT sh ARGS…`: a small script run on the host with its arguments as $1…. */
export function sh(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
