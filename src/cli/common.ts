/** Human progress: stderr, so stdout stays for results. */
export function progress(msg: string): void {
  process.stderr.write(`cnperf: ${msg}\n`);
}
