/**
 * Hugepages for a kernel-bypass run: DPDK's memory, which the switch and the engines share over
 * vhost-user. The run reserves the 2 MB pages it needs on top of what the host had, mounts a hugetlbfs
 * of its own in its directory, and journals both undos first: teardown, a failure and `cnperf clean`
 * after SIGKILL put `nr_hugepages` back and unmount. DPDK's runtime files (/var/run/dpdk/<prefix>) of
 * the run's processes go too.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCommand, type CommandRunner } from '../../local/command.js';
import { registerHostUndoHandler, registerUndoHandler, scriptOrGone, unmountOnHost } from '../../local/undo.js';
import { registerUndoKind } from '../../local/undo-kinds.js';
import type { JournalLike } from '../../local/journal.js';
import { makeDirs } from '../../local/statedir.js';
import { processState } from '../../local/proc.js';
import { stateDir } from '../../paths.js';
import { UserError } from '../../util/errors.js';

const PAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB';
export const DPDK_RUNTIME = '/var/run/dpdk';

function readPages(file: string): number {
  return Number(readFileSync(path.join(PAGES, file), 'utf8').trim());
}

/** Why this host cannot give a run 2 MB pages, or null. */
export function hugepagesUnavailable(): string | null {
  return existsSync(path.join(PAGES, 'nr_hugepages')) ? null : `this kernel has no 2 MB hugepages (${PAGES})`;
}

/** Reserves `pages` more 2 MB pages and mounts a hugetlbfs at `dir`; both undone from the journal. */
export async function reserveHugepages(
  pages: number,
  dir: string,
  journal: JournalLike,
  run: CommandRunner = runCommand,
): Promise<void> {
  const why = hugepagesUnavailable();
  if (why) throw new UserError(why);
  const before = readPages('nr_hugepages');
  await journal.append({ op: 'hugepages-restore', before });
  writeFileSync(path.join(PAGES, 'nr_hugepages'), String(before + pages));
  const free = readPages('free_hugepages');
  if (free < pages) {
    throw new UserError(
      `the kernel gave ` +
        `${free} free 2 MB pages of the ` +
        `${pages} the run needs ` +
        `(${readPages('nr_hugepages')} reserved in all): memory is too fragmented or too small`,
      'free memory, or drop caches (echo 3 > /proc/sys/vm/drop_caches) and try again',
    );
  }
  await journal.append({ op: 'umount-hugetlbfs', path: dir });
  makeDirs(dir);
  await run(['mount', '-t', 'hugetlbfs', '-o', `pagesize=2M,size=${pages * 2}M,mode=0700`, 'cnperf-hugepages', dir]);
}

/**
 * Only ever what a run of ours mounted: a hugetlbfs under the state directory. A process that still
 * maps one of its files is the run's by construction (the mount is the run's own, in its directory):
 * a DPDK switch or engine that outlived its stop — its pidfile gone, or cnperf killed before it
 * journaled the engine — is killed here, else its pages could never go back.
 */
async function unmount(dir: string, run: CommandRunner): Promise<'removed' | 'gone'> {
  if (!path.resolve(dir).startsWith(path.resolve(stateDir()) + path.sep))
    throw new Error(`refusing to unmount ${dir}: not under ${stateDir()}`);
  const mounted = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === dir && l.split(' ')[2] === 'hugetlbfs');
  if (!mounted) return 'gone';
  let left = mappers(path.resolve(dir) + path.sep);
  for (const p of left) {
    // said, because it means a stop before this one missed it: the clue to why
    process.stderr.write(`cnperf: teardown: ${describe(p)} still mapped ${dir}: killed\n`);
    killQuietly(p.pid);
  }
  for (let i = 0; i < 100 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = mappers(path.resolve(dir) + path.sep);
  }
  if (left.length)
    throw new Error(`${left.map(describe).join(', ')} still map ${dir} 5 s after SIGKILL: the mount cannot go yet`);
  await run(['umount', dir]);
  return 'removed';
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/**
 * Back to what the host had. Pages a dying DPDK process still maps cannot go yet: the write is
 * repeated until the count holds (seen in the suite: 128 pages left reserved after a busy testpmd's
 * stop; 78 still held 5 s after an ovs-dpdk or testpmd sweep; and 64 held past 5 s with no process
 * left mapping them — a process's memory being torn down no longer shows in its maps). So it is
 * retried for 20 s whether or not a holder is seen; a count that never comes back is an error that
 * names the holders, which teardown reports and clean retries.
 */
async function restorePages(before: number): Promise<'removed' | 'gone'> {
  if (hugepagesUnavailable() || readPages('nr_hugepages') === before) return 'gone';
  const restored = () => {
    writeFileSync(path.join(PAGES, 'nr_hugepages'), String(before));
    return readPages('nr_hugepages') === before;
  };
  for (let i = 0; i < 200; i++) {
    if (restored()) return 'removed';
    await new Promise((r) => setTimeout(r, 100));
  }
  if (restored()) return 'removed';
  const holders = hugepageHolders();
  throw new Error(
    `nr_hugepages is ` +
      `${readPages('nr_hugepages')}, not the ` +
      `${before} it was, 20 s on: ${readPages('nr_hugepages') - readPages('free_hugepages')} pages are still in use` +
      (holders.length
        ? ` (mapped by ${holders.join(', ')})`
        : ' (by no process that maps a file of the state directory)'),
  );
}

interface Mapper {
  pid: number;
  comm: string;
  /** /proc/PID/stat's state letter (R, S, D, Z…) and what it waits in: why a killed one lingers */
  state: string;
}

/** The processes mapping a file whose path starts with `prefix` and has `part` in it. */
function mappers(prefix: string, part = ''): Mapper[] {
  const out: Mapper[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
      if (!maps.split('\n').some((l) => l.includes(' ' + prefix) && l.includes(part))) continue;
      out.push({
        pid: Number(pid),
        comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
        state: processState(Number(pid)),
      });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

const describe = (m: Mapper) => `${m.comm} ${m.pid} (state ${m.state})`;

/** The processes mapping a hugetlbfs file under the state directory (a run's DPDK process), as "comm pid (state)". */
function hugepageHolders(): string[] {
  return mappers(path.resolve(stateDir()) + path.sep, '/hugepages/').map(describe);
}

/** DPDK's runtime directories of the run's processes (their --file-prefix starts with the run's). */
function removeRuntime(prefix: string): 'removed' | 'gone' {
  if (!/^cnp[a-z0-9]{6}/.test(prefix) || !existsSync(DPDK_RUNTIME)) return 'gone';
  const ours = readdirSync(DPDK_RUNTIME).filter((d) => d.startsWith(prefix));
  for (const d of ours) rmSync(path.join(DPDK_RUNTIME, d), { recursive: true, force: true });
  return ours.length ? 'removed' : 'gone';
}

declare module '../../local/steps.js' {
  interface UndoKinds {
    /** the 2 MB page reservation as it was before the run */
    'hugepages-restore': { before: number };
    /** the run's hugetlbfs mount */
    'umount-hugetlbfs': { path: string };
    /** DPDK's runtime files of the run's processes (/var/run/dpdk/<prefix>*) */
    'rm-dpdk-runtime': { prefix: string };
  }
}

registerUndoKind('hugepages-restore', (o) => Number.isInteger(o.before) && (o.before as number) >= 0);
registerUndoKind('umount-hugetlbfs', (o) => typeof o.path === 'string');
registerUndoKind('rm-dpdk-runtime', (o) => typeof o.prefix === 'string');

registerUndoHandler('hugepages-restore', {
  describe: (u) => `2 MB hugepages back to ${u.before}`,
  undo: (u) => restorePages(u.before),
});
registerUndoHandler('umount-hugetlbfs', {
  describe: (u) => `hugetlbfs mount ${u.path}`,
  undo: (u, run) => unmount(u.path, run),
});
registerUndoHandler('rm-dpdk-runtime', {
  describe: (u) => `DPDK runtime files ${DPDK_RUNTIME}/${u.prefix}*`,
  undo: async (u) => removeRuntime(u.prefix),
});

// On a real host (the DPDK datapaths do not run across hosts yet, but a host's journal is undone there,
// never here in the host's stead): its nr_hugepages, its mount, its runtime files.

/** nr_hugepages back to what the host had, rewritten until it holds (pages a dying process maps come back late). */
const RESTORE_PAGES = `f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
[ -e "$f" ] && [ "$(cat "$f")" != "$1" ] || exit 3
i=0; while [ $i -lt 50 ]; do echo "$1" > "$f"; [ "$(cat "$f")" = "$1" ] && exit 0; sleep 0.1; i=$((i+1)); done
echo "nr_hugepages is $(cat "$f"), not the $1 it was: pages are still in use" >&2; exit 1`;

/** DPDK's runtime directories of the run's processes (their --file-prefix starts with the run's). */
const RM_DPDK_RUNTIME = 'set -- /var/run/dpdk/"$1"*; [ -e "$1" ] || exit 3; rm -rf -- "$@"';

registerHostUndoHandler('hugepages-restore', {
  describe: (u) => u.op,
  undo: (u, run) => scriptOrGone(run, RESTORE_PAGES, String(u.before)),
});
registerHostUndoHandler('umount-hugetlbfs', { describe: (u) => u.op, undo: unmountOnHost('hugetlbfs') });
registerHostUndoHandler('rm-dpdk-runtime', {
  describe: (u) => u.op,
  undo: async (u, run) => {
    if (!/^cnp[a-z0-9]{6}[a-z0-9-]*$/.test(u.prefix))
      throw new Error(`refusing to remove DPDK runtime files '${u.prefix}*' on a host: not a run's prefix`);
    return scriptOrGone(run, RM_DPDK_RUNTIME, u.prefix);
  },
});
