/**
 * The tool table (src/tools/tools.json) against the code and against this machine:
 * - every program the code spawns (src, bench and test: an argv's first element, the first argument
 *   of spawn/execFile, a helper called as f('prog', [args])) is in the table;
 * - each installed entry's file is owned by the Debian package the table names (dpkg -S): a wrong
 *   name there is a fresh machine whose setup installs the wrong package (dpdk vs dpdk-dev);
 * - under CI every non-optional entry is installed (setup read the same table).
 */
import { strict as assert } from 'node:assert';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/paths.js';
import {
  assertListed,
  entryKey,
  findTool,
  installHint,
  locateTool,
  searchDirs,
  toolTable,
  type ToolEntry,
} from '../../src/tools/table.js';

/** First elements that are not programs although a program of that name exists (say why). */
const NOT_PROGRAMS: Record<string, string> = {
  link: "ip's object in an argv tail (['link', 'set', …])",
  id: 'a table column',
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every string the code may run as a program, with where it stands. */
export function spawnedPrograms(files: readonly string[]): Map<string, string[]> {
  const parsed = files.map((f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.ES2022, true));
  // `const QEMU = 'qemu-system-x86_64'` then [QEMU, …]: constants are resolved by name, across files
  const consts = new Map<string, string>();
  for (const sf of parsed) {
    const visit = (n: ts.Node): void => {
      if (
        ts.isVariableDeclaration(n) &&
        ts.isIdentifier(n.name) &&
        n.initializer &&
        ts.isStringLiteralLike(n.initializer) &&
        n.parent.flags & ts.NodeFlags.Const
      )
        consts.set(n.name.text, n.initializer.text);
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  const literal = (e: ts.Expression | undefined) =>
    !e ? undefined : ts.isStringLiteralLike(e) ? e.text : ts.isIdentifier(e) ? consts.get(e.text) : undefined;
  const found = new Map<string, string[]>();
  const add = (value: string | undefined, sf: ts.SourceFile, n: ts.Node) => {
    if (value === undefined) return;
    const where =
      `${path.relative(PROJECT_ROOT, sf.fileName)}:` + `${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    found.set(value, [...(found.get(value) ?? []), where]);
  };
  for (const sf of parsed) {
    const visit = (n: ts.Node): void => {
      if (ts.isArrayLiteralExpression(n)) {
        add(literal(n.elements[0]), sf, n);
        // `ip netns exec NS PROGRAM …`: the program run inside the namespace
        if (['ip', 'netns', 'exec'].every((w, i) => literal(n.elements[i]) === w)) add(literal(n.elements[4]), sf, n);
      }
      if (ts.isCallExpression(n)) {
        const callee = ts.isIdentifier(n.expression)
          ? n.expression.text
          : ts.isPropertyAccessExpression(n.expression)
            ? n.expression.name.text
            : '';
        const [first, second] = n.arguments;
        if (['spawn', 'spawnSync', 'execFile', 'execFileSync'].includes(callee)) add(literal(first), sf, n);
        else if (['exec', 'execSync'].includes(callee) && first && ts.isStringLiteralLike(first))
          add(first.text.split(' ')[0], sf, n);
        else if (second && ts.isArrayLiteralExpression(second)) add(literal(first), sf, n);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

const DPKG_INFO = '/var/lib/dpkg/info';
const hasDpkg = existsSync(DPKG_INFO);

/**
 * Which packages own which files, from dpkg's own lists (what `dpkg -S` reads, without a process per
 * file): only the names asked for are kept.
 */
function ownersOf(files: readonly string[]): (file: string) => string[] {
  // usrmerge: /bin/x and /usr/bin/x are one file with two names; an alternative's link leads to its target
  const namesOf = (file: string) => {
    const names = new Set([file, realpathSync(file)]);
    for (const f of [...names]) names.add(f.startsWith('/usr/') ? f.slice(4) : `/usr${f}`);
    return [...names];
  };
  const wanted = new Set(files.flatMap(namesOf));
  const owner = new Map<string, Set<string>>();
  for (const list of readdirSync(DPKG_INFO).filter((n) => n.endsWith('.list'))) {
    const pkg = list.slice(0, -'.list'.length).replace(/:[a-z0-9]+$/, '');
    for (const line of readFileSync(path.join(DPKG_INFO, list), 'utf8').split('\n')) {
      if (wanted.has(line)) owner.set(line, (owner.get(line) ?? new Set()).add(pkg));
    }
  }
  return (file) => [...new Set(namesOf(file).flatMap((n) => [...(owner.get(n) ?? [])]))];
}

describe('tool table', () => {
  it('lists every program the code spawns', () => {
    const files = ['src', 'bench', 'test'].flatMap((d) => sources(path.join(PROJECT_ROOT, d)));
    const unlisted: string[] = [];
    for (const [value, where] of spawnedPrograms(files)) {
      if (findTool(value) || value in NOT_PROGRAMS) continue;
      const base = path.basename(value);
      const isProgram = value.startsWith('/')
        ? executable(value) &&
          !value.startsWith(PROJECT_ROOT) &&
          !(findTool(base) && searchDirs().includes(path.dirname(value)))
        : /^[a-z][a-z0-9._+-]*$/.test(value) && searchDirs().some((d) => executable(path.join(d, value)));
      if (isProgram) unlisted.push(`${value} (${where.slice(0, 3).join(', ')})`);
    }
    assert.deepEqual(unlisted, [], 'spawned but not in src/tools/tools.json');
  });

  it('finds a spawn by each of the forms it looks for', () => {
    const f = path.join(PROJECT_ROOT, 'test', 'fixtures', 'tools-spawns.ts.txt');
    const found = spawnedPrograms([f]);
    for (const program of 'dpkg-query nproc pgrep pidof whoami'.split(' ')) assert.ok(found.has(program), program);
    assert.ok(!found.has('word'));
  });

  it('names each entry once, and every key resolves', () => {
    const keys = toolTable().map(entryKey);
    assert.equal(new Set(keys).size, keys.length, 'a program or path twice');
    for (const k of keys) assert.ok(findTool(k));
    assert.equal(installHint('dpdk-testpmd', 'qemu-system-x86_64'), 'apt-get install dpdk-dev qemu-system-x86');
  });

  it('refuses to spawn a program it does not list, and says where to add it', () => {
    assert.throws(() => assertListed('definitely-not-a-tool'), /tool table \(src\/tools\/tools.json\) does not list/);
    assert.doesNotThrow(() => assertListed('ip'));
    assert.doesNotThrow(() => assertListed('/opt/anything/own-binary'));
  });

  it(
    'names the Debian package that owns each installed file',
    { skip: hasDpkg ? false : 'no dpkg on this machine' },
    () => {
      const wrong: string[] = [];
      const absent: ToolEntry[] = [];
      const located = toolTable().map((e) => [e, locateTool(e)] as const);
      const owners = ownersOf(located.flatMap(([, f]) => (f ? [f] : [])));
      for (const [e, file] of located) {
        if (!file) {
          if (!e.optional) absent.push(e);
          continue;
        }
        const own = owners(file);
        if (e.optional && own.length === 0) continue; // e.g. a Docker CLI installed by hand
        if (!own.includes(e.package))
          wrong.push(
            `${entryKey(e)}: ${file} is owned by ${own.join(', ') || 'no package'}, the table says ${e.package}`,
          );
      }
      assert.deepEqual(wrong, []);
      // setup.sh installed from this same table: under CI nothing may be missing
      if (process.env.CI === 'true')
        assert.deepEqual(absent.map(entryKey), [], 'not installed although setup read the table');
    },
  );
});
