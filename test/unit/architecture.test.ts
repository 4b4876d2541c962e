/**
 * The shape of the code, checked: files small enough to read, data flowing one way between the
 * floors, engine command lines only where the workloads build them, and every option, workload and
 * datapath declared once and derived everywhere else.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { QUICK_USAGE, dryRun, parseQuickArgs } from '../../src/cli/quick.js';
import { DATAPATHS } from '../../src/datapaths/registry.js';
import { EXPERIMENT_PARAM_NAMES, OPTIONS, OPTION_NAMES } from '../../src/options/options.js';
import { experimentJsonSchema } from '../../src/input/experiment-schema.js';
import { WORKLOADS, WORKLOAD_NAMES } from '../../src/workloads/registry.js';
import {
  cycles,
  floorsIn,
  floorViolations,
  folderOf,
  identifierWords,
  importGraph,
  names,
} from '../helpers/import-graph.js';
import { ROOT } from '../helpers/paths.js';

function tree(dir: string, name: RegExp): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (n === 'fixtures' || n === 'node_modules') return [];
    return statSync(p).isDirectory() ? tree(p, name) : name.test(n) ? [p] : [];
  });
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const SRC = path.join(ROOT, 'src');
const files = sources(SRC).map((f) => ({ rel: path.relative(SRC, f), text: readFileSync(f, 'utf8') }));

describe('architecture', () => {
  it('git tracks no compiled binary: every ELF the build makes is ignored', (t) => {
    let files: string[];
    try {
      files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    } catch {
      t.skip('not a git checkout');
      return;
    }
    const elf = files.filter((f) => {
      const head = Buffer.alloc(4);
      let fd: number;
      try {
        fd = openSync(path.join(ROOT, f), 'r');
      } catch {
        return false; // deleted in the work tree
      }
      const n = readSync(fd, head, 0, 4, 0);
      closeSync(fd);
      return n === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    });
    assert.deepEqual(elf, []);
  });

  it('no line over 120 characters in src/, test/, bench/, scripts/ (`npm run format` wraps code) and engine/', () => {
    const dirs = ['src', 'test', 'bench', 'scripts'].map((d) => path.join(ROOT, d));
    const all = [...dirs.flatMap((d) => tree(d, /\.(ts|mjs)$/)), ...tree(path.join(ROOT, 'engine'), /\.[ch]$/)];
    const long = all.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((l, i) => (l.length > 120 ? [`${path.relative(ROOT, f)}:${i + 1}: ${l.length}`] : [])),
    );
    assert.ok(all.length > 200, 'the files were found');
    assert.deepEqual(long, []);
  });

  it('no TypeScript file over 400 lines', () => {
    const long = files
      .filter((f) => f.text.split('\n').length > 400)
      .map((f) => `${f.rel}: ${f.text.split('\n').length}`);
    assert.deepEqual(long, []);
  });

  it(
    'the import graph: no cycle between files or folders, every import down the floors ' +
      'docs/architecture.md writes',
    (t) => {
      const graph = importGraph(SRC);
      const floors = floorsIn(readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8'));
      t.diagnostic(`floors, top first: ${floors.map((f) => f.join(' ')).join(' | ')}`);
      for (const [i, f] of floors.entries())
        t.diagnostic(
          `floor ${i + 1}: ` +
            `${f.map((d) => `${d} → ${[...(graph.folders.get(d) ?? [])].sort().join(', ') || 'nothing'}`).join('; ')}`,
        );
      const folders = [...new Set([...graph.files.keys()].map(folderOf))].sort();
      assert.deepEqual(floors.flat().sort(), folders, 'every folder of src/ on exactly one floor');
      assert.deepEqual(cycles(graph.files), [], 'cycles between files');
      assert.deepEqual(cycles(graph.folders), [], 'cycles between folders');
      assert.deepEqual(floorViolations(graph, floors), []);
    },
  );

  it(
    "a datapath's folder is its own: no file outside src/datapaths/<x>/ imports from it (but the registry) " +
      'or names one of its datapaths in code',
    (t) => {
      const graph = importGraph(SRC);
      const folderOfDatapath = (d: { name: string }) =>
        files.find((f) => /^datapaths\/[^/]+\//.test(f.rel) && f.text.includes(`  name: '${d.name}',`))?.rel;
      const homes = new Map<string, string[]>(); // datapaths/<x>/ → the datapaths defined in it
      for (const d of DATAPATHS) {
        const file = folderOfDatapath(d);
        if (file) homes.set(path.dirname(file), [...(homes.get(path.dirname(file)) ?? []), d.name]);
      }
      t.diagnostic(`datapath folders: ${[...homes].map(([h, ds]) => `${h}/ (${ds.join(', ')})`).join('; ')}`);
      assert.ok(homes.size >= 5, 'the datapath folders were found');
      const trespass: string[] = [];
      for (const [home, datapaths] of homes) {
        const inside = (rel: string) => rel.startsWith(`${home}/`);
        for (const [rel, imports] of graph.files) {
          if (inside(rel) || rel === 'datapaths/registry.ts') continue;
          for (const target of imports) if (inside(target)) trespass.push(`${rel} imports ${target}`);
        }
        // 'xdp' is also the engine's AF_XDP method (--api xdp) and 'existing' a word (Store.openExisting):
        // for those two the imports above are the check
        const own = datapaths.filter((d) => d !== 'xdp' && d !== 'existing');
        for (const f of files) {
          if (inside(f.rel) || f.rel === 'datapaths/registry.ts') continue;
          const ids = identifierWords(f.text);
          for (const d of own) if (names(ids, d)) trespass.push(`${f.rel} names datapath ${d}`);
        }
      }
      assert.deepEqual(trespass, []);
    },
  );

  it('the name check reads code only: identifiers, not strings, comments or template text', () => {
    const ids = identifierWords(
      "// attachCni\nconst a = 'podman' + /existing'/.source; const CNI_PART = 1;\n" +
        'f(`testpmd ${ovsDpdk.x} ${`${{ y: 1 }.y}`} tcx`);',
    );
    assert.ok(names(ids, 'cni'));
    assert.ok(names(ids, 'ovs-dpdk'));
    assert.ok(!names(ids, 'podman'));
    assert.ok(!names(ids, 'testpmd'));
    assert.ok(!names(ids, 'tcx'));
    assert.ok(!names(ids, 'existing'));
    assert.ok(!names(ids, 'existing'));
    assert.ok(!names(identifierWords('const attach = 1;'), 'tcx'));
  });

  it('the graph check finds what it must: a cycle, an import upwards, an import beside', () => {
    const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));
    assert.deepEqual(cycles(g({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })), [['a', 'b', 'c']]);
    assert.deepEqual(cycles(g({ a: ['a'] })), [['a']]);
    assert.deepEqual(cycles(g({ a: ['b'], b: [] })), []);
    const graph = {
      files: g({}),
      folders: g({ lower: ['upper'], upper: ['lower', 'aside'], aside: ['upper'] }),
      why: new Map([
        ['lower -> upper', ['lower/x.ts imports upper/y.ts']],
        ['upper -> lower', ['upper/y.ts imports lower/x.ts']],
        ['upper -> aside', ['upper/y.ts imports aside/z.ts']],
        ['aside -> upper', ['aside/z.ts imports upper/y.ts']],
      ]),
    };
    assert.deepEqual(floorViolations(graph, [['upper', 'aside'], ['lower']]), [
      'lower/x.ts imports upper/y.ts (lower/ is on floor 2, upper/ on 1)',
      'upper/y.ts imports aside/z.ts (upper/ is on floor 1, aside/ on 1)',
      'aside/z.ts imports upper/y.ts (aside/ is on floor 1, upper/ on 1)',
    ]);
    assert.deepEqual(floorsIn('x\n```floors\ncli\nstore input  # same floor\n```\n'), [['cli'], ['store', 'input']]);
  });

  it('src/cli holds no engine command line (the workloads build them)', () => {
    const subcommands = /['"](rtt-server|rtt-client|stream-tx|stream-rx)['"]|--interval-ns|--duration-ns/;
    assert.deepEqual(
      files.filter((f) => f.rel.startsWith(`cli${path.sep}`) && subcommands.test(f.text)).map((f) => f.rel),
      [],
    );
  });

  it('every option is declared once and reaches the usage text and the experiment schema', () => {
    for (const k of OPTION_NAMES) assert.match(QUICK_USAGE, new RegExp(`--${k}\\b`), `usage lacks --${k}`);
    const schema = experimentJsonSchema() as { properties: { params: { properties: Record<string, unknown> } } };
    assert.deepEqual(Object.keys(schema.properties.params.properties).sort(), [...EXPERIMENT_PARAM_NAMES].sort());
    for (const k of OPTION_NAMES) {
      const f = OPTIONS[k].for;
      if (f !== 'output' && f !== 'datapath')
        for (const w of f) assert.ok(WORKLOAD_NAMES.includes(w as never), `--${k} names unknown workload ${w}`);
    }
    for (const d of DATAPATHS)
      assert.ok(d.placements.includes(d.defaultPlacement), `${d.name}: its default placement is one it supports`);
    assert.deepEqual(
      WORKLOAD_NAMES,
      Object.values(WORKLOADS).map((w) => w.name),
    );
  });

  it('--dry-run prints the command lines the workloads build, with every option they pass', () => {
    const args = parseQuickArgs(['veth', '--workload', 'stream', '--rcvbuf', '4M', '--dry-run']);
    assert.notEqual(args, 'help');
    if (args === 'help') return;
    const text = dryRun('veth', args.jobs, args.datapathOptions[0]!);
    assert.match(text, /cnperf-engine stream-rx .*--rcvbuf 4194304/);
    assert.match(text, /cnperf-engine stream-tx .*--duration-ns 10000000000/);
    // The load's stream runs for the probe's schedule, not 0 s (the old printer's drift).
    const load = parseQuickArgs(['veth', '--workload', 'load', '--count', '100', '--dry-run']);
    if (load === 'help') return;
    const loadText = dryRun('veth', load.jobs, load.datapathOptions[0]!);
    assert.doesNotMatch(loadText, /--duration-ns 0\b/);
    assert.match(loadText, /rtt-client .*--open-loop .*--raw-out/);
  });
});
