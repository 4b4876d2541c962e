/**
 * The shape of the code, checked: files small enough to read, data flowing one way between the
 * floors, engine command lines only where the workloads build them, and every option, workload and
 * datapath declared once and derived everywhere else.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { QUICK_USAGE, dryRun, parseQuickArgs } from '../../src/cli/quick.js';
import { DATAPATHS } from '../../src/datapaths/registry.js';
import { EXPERIMENT_PARAM_NAMES, OPTIONS, OPTION_NAMES } from '../../src/spec/options.js';
import { experimentJsonSchema } from '../../src/spec/experiment-schema.js';
import { WORKLOADS, WORKLOAD_NAMES } from '../../src/workloads/registry.js';
import { ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const SRC = path.join(ROOT, 'src');
const files = sources(SRC).map((f) => ({ rel: path.relative(SRC, f), text: readFileSync(f, 'utf8') }));

describe('architecture', () => {
  it('no TypeScript file over 400 lines', () => {
    const long = files.filter((f) => f.text.split('\n').length > 400).map((f) => `${f.rel}: ${f.text.split('\n').length}`);
    assert.deepEqual(long, []);
  });

  it('lower floors never import higher ones', () => {
    const lower = ['topology', 'datapaths', 'host', 'engine', 'stats'];
    const higher = ['cli', 'runner', 'report', 'spec'];
    const bad: string[] = [];
    for (const f of files) {
      const floor = f.rel.split(path.sep)[0]!;
      if (!lower.includes(floor)) continue;
      for (const m of f.text.matchAll(/from '\.\.\/([a-z]+)\//g)) if (higher.includes(m[1]!)) bad.push(`${f.rel} imports ${m[1]}/`);
    }
    assert.deepEqual(bad, []);
  });

  it('src/cli holds no engine command line (the workloads build them)', () => {
    const subcommands = /['"](rtt-server|rtt-client|stream-tx|stream-rx)['"]|--interval-ns|--duration-ns/;
    assert.deepEqual(files.filter((f) => f.rel.startsWith(`cli${path.sep}`) && subcommands.test(f.text)).map((f) => f.rel), []);
  });

  it('every option is declared once and reaches the usage text and the experiment schema', () => {
    for (const k of OPTION_NAMES) assert.match(QUICK_USAGE, new RegExp(`--${k}\\b`), `usage lacks --${k}`);
    const schema = experimentJsonSchema() as { properties: { params: { properties: Record<string, unknown> } } };
    assert.deepEqual(Object.keys(schema.properties.params.properties).sort(), [...EXPERIMENT_PARAM_NAMES].sort());
    for (const k of OPTION_NAMES) {
      const f = OPTIONS[k].for;
      if (f !== 'output' && f !== 'datapath') for (const w of f) assert.ok(WORKLOAD_NAMES.includes(w as never), `--${k} names unknown workload ${w}`);
    }
    for (const d of DATAPATHS) assert.ok(d.placements.includes(d.defaultPlacement), `${d.name}: its default placement is one it supports`);
    assert.deepEqual(WORKLOAD_NAMES, Object.values(WORKLOADS).map((w) => w.name));
  });

  it('--dry-run prints the command lines the workloads build, with every option they pass', () => {
    const args = parseQuickArgs(['veth', '--workload', 'stream', '--rcvbuf', '4M', '--dry-run']);
    assert.notEqual(args, 'help');
    if (args === 'help') return;
    const text = dryRun('veth', args.jobs, args.datapathOptions);
    assert.match(text, /cnperf-engine stream-rx .*--rcvbuf 4194304/);
    assert.match(text, /cnperf-engine stream-tx .*--duration-ns 10000000000/);
    // The load's stream runs for the probe's schedule, not 0 s (the old printer's drift).
    const load = parseQuickArgs(['veth', '--workload', 'load', '--count', '100', '--dry-run']);
    if (load === 'help') return;
    const loadText = dryRun('veth', load.jobs, load.datapathOptions);
    assert.doesNotMatch(loadText, /--duration-ns 0\b/);
    assert.match(loadText, /rtt-client .*--open-loop .*--raw-out/);
  });
});
