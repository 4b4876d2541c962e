// A node:test reporter that writes one JSON line per finished test (not suites): its name, file,
// duration and outcome. scripts/run-tests.mjs reads them to print the slowest tests and the totals.
export default async function* timings(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.details?.type === 'suite') continue;
    const outcome =
      event.type === 'test:fail' ? 'fail' : d.skip !== undefined || d.todo !== undefined ? 'skip' : 'pass';
    yield JSON.stringify({ name: d.name, file: d.file ?? null, ms: d.details?.duration_ms ?? 0, outcome }) + '\n';
  }
}
