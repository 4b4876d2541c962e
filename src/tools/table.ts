/**
 * The tool table: every program cnperf (and its tests and benchmarks) runs, and every file its
 * builds need, with the Debian package that provides it (src/tools/tools.json, the one list). The
 * same file drives scripts/setup.sh (it installs the packages of what is missing), `cnperf doctor`,
 * the install hints in error messages, and test/unit/tools.test.ts, which fails when the code spawns a
 * program the table lacks or when the package named is not the one that owns the file here.
 * Spawning a bare program name the table does not list is an internal error (see runCommand).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../paths.js';

const Entry = z
  .object({
    program: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._+-]*$/)
      .optional(),
    path: z.string().startsWith('/').optional(),
    package: z.string().regex(/^[a-z0-9][a-z0-9.+-]+$/),
    use: z.enum(['run', 'build', 'test', 'bench', 'image']),
    optional: z.boolean().optional(),
    neededBy: z.string().min(1),
  })
  .strict()
  .refine((e) => (e.program === undefined) !== (e.path === undefined), 'an entry names a program or a path, not both');

export type ToolEntry = z.infer<typeof Entry>;

export const TOOL_TABLE_FILE = path.join(PROJECT_ROOT, 'src', 'tools', 'tools.json');

let table: readonly ToolEntry[] | undefined;

/** The table, read once. */
export function toolTable(): readonly ToolEntry[] {
  table ??= z
    .object({ '//': z.string(), tools: z.array(Entry) })
    .parse(JSON.parse(readFileSync(TOOL_TABLE_FILE, 'utf8'))).tools;
  return table;
}

const MULTIARCH =
  ({ x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' } as Record<string, string>)[process.arch] ??
  `${process.arch}-linux-gnu`;

/** An entry's file path on this machine ($MULTIARCH expanded); programs have none until looked up. */
export function entryPath(e: ToolEntry): string | undefined {
  return e.path?.replace('$MULTIARCH', MULTIARCH);
}

/** The key a spawn site uses: the program's name, or the path as the table writes it. */
export function entryKey(e: ToolEntry): string {
  return e.program ?? e.path!;
}

/** The entry of a program (bare name) or path; an unlisted one is cnperf's bug, not the user's. */
export function toolEntry(programOrPath: string): ToolEntry {
  const e = findTool(programOrPath);
  if (!e)
    throw new Error(
      `cnperf runs '${programOrPath}', which the tool table (src/tools/tools.json) does not list: add it ` +
        `with its Debian package`,
    );
  return e;
}

export function findTool(programOrPath: string): ToolEntry | undefined {
  return toolTable().find(
    (e) => e.program === programOrPath || entryPath(e) === programOrPath || e.path === programOrPath,
  );
}

/** "apt-get install dpdk-dev" for the named tools, each package once. */
export function installHint(...programsOrPaths: string[]): string {
  return `apt-get install ${[...new Set(programsOrPaths.map((p) => toolEntry(p).package))].join(' ')}`;
}

/** Where a program is looked up: PATH, then the sbin directories root's PATH sometimes lacks. */
export function searchDirs(): string[] {
  return [
    ...(process.env.PATH ?? '').split(':').filter(Boolean),
    '/usr/local/sbin',
    '/usr/local/bin',
    '/usr/sbin',
    '/usr/bin',
    '/sbin',
    '/bin',
  ];
}

function usable(file: string, mode: number): boolean {
  try {
    accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

/** The file an entry names on this machine, or undefined when it is not installed. */
export function locateTool(e: ToolEntry): string | undefined {
  if (e.program)
    return searchDirs()
      .map((d) => path.join(d, e.program!))
      .find((f) => usable(f, constants.X_OK));
  const p = entryPath(e)!;
  return usable(p, constants.R_OK) ? p : undefined;
}

/** The table's entries that this machine lacks (doctor lists them with what needs them). */
export function missingTools(uses: ReadonlyArray<ToolEntry['use']> = ['run']): ToolEntry[] {
  return toolTable().filter((e) => uses.includes(e.use) && locateTool(e) === undefined);
}

/**
 * Every spawn of a program by bare name passes here: one the table lacks would fail on a fresh
 * machine where setup did not install it, so it fails everywhere, at once (paths — cnperf's own
 * binaries, a CNI plugin found on CNI_PATH — are the caller's to check).
 */
export function assertListed(file: string): void {
  if (!file.includes('/')) toolEntry(file);
}
