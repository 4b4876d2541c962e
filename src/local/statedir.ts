/**
 * The state directory holds journals and the lock: cnperf writes there before it changes anything,
 * so a directory it cannot write (read-only, full, not a directory) is refused up front, with what to
 * do instead. Created level by level: Node's recursive mkdir can spin forever on pseudo filesystems
 * (seen with a path under /proc).
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';

const PROBE_BYTES = 4096;
const checked = new Set<string>();

function refuse(dir: string, e: unknown): never {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    EROFS: 'it is on a read-only file system',
    ENOSPC: 'its file system is full',
    EDQUOT: 'its quota is exhausted',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    ENOENT: 'it cannot be created there',
  };
  throw new UserError(
    `cannot use ${dir} as cnperf's state directory: ${why[err.code ?? ''] ?? err.message}`,
    'cnperf writes its journal there before it changes anything; point CNPERF_STATE_DIR at a writable ' +
      'directory (a tmpfs such as /run is best)',
  );
}

/** mkdir -p, one level at a time (never Node's recursive mkdir: see above). */
export function makeDirs(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) mkdirSync(d, { mode });
}

/**
 * A state directory whose journals someone else could write is refused: a journal says what to remove,
 * unmount and kill, and `clean` replays it as root. It must be a directory (not a link) owned by this
 * user, writable by no group or other.
 */
function untrusted(dir: string): void {
  const st = lstatSync(dir);
  const why = st.isSymbolicLink()
    ? 'it is a symbolic link'
    : st.uid !== process.getuid?.()
      ? `it is owned by uid ${st.uid}, not by this user (uid ${process.getuid?.()})`
      : st.mode & 0o022
        ? `it is writable by ` +
          `${st.mode & 0o020 ? 'its group' : ''}${
            (st.mode & 0o022) === 0o022 ? ' and ' : ''
          }${st.mode & 0o002 ? 'everyone' : ''} (mode ${(st.mode & 0o777).toString(8)})`
        : null;
  if (why)
    throw new UserError(
      `cannot use ${dir} as cnperf's state directory: ${why}; its journals say what cnperf removes, as root`,
      "remove it (cnperf makes it, mode 700), or point CNPERF_STATE_DIR at a directory of root's that no " +
        'one else can write',
    );
}

export function ensureStateDir(dir: string): void {
  const abs = path.resolve(dir);
  if (checked.has(abs)) return;
  try {
    makeDirs(abs);
    if (!statSync(abs).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    untrusted(abs);
    const probe = path.join(abs, `.probe-${process.pid}`);
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, Buffer.alloc(PROBE_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      rmSync(probe, { force: true });
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    refuse(abs, e);
  }
  checked.add(abs);
}

/** The run's directory, made (and its removal journaled first) unless it is there already. */
export function ensureRunDir(runDir: string, journal: { append(u: { op: 'rm-dir'; path: string }): void }): void {
  if (existsSync(runDir)) return;
  journal.append({ op: 'rm-dir', path: runDir });
  makeDirs(runDir);
}
