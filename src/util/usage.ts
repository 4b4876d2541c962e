/**
 * A usage error's hint: the usage's first line (the synopsis) and where the rest is — never the whole
 * option list (quick's is over a hundred lines, and the one line that matters scrolls away).
 */
export function usageHint(command: string, usage: string): string {
  return `usage: ${usage.split('\n')[0]}\n'cnperf ${command.split(' ')[0]} --help' lists every option`;
}
