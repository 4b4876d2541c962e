/**
 * The initramfs format the kernel unpacks: a "newc" cpio archive (Documentation/driver-api/early-userspace/
 * buffer-format.rst). Written here rather than by cpio(1), which a fresh machine may lack; gzip is Node's.
 */
export interface CpioEntry {
  /** the path inside the archive, without a leading slash: "bin/busybox" */
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  /** permission bits (0o755) */
  mode: number;
  /** a file's bytes, or a symlink's target */
  data?: Buffer | string;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function record(ino: number, name: string, mode: number, data: Buffer, nlink: number): Buffer[] {
  const nameBytes = Buffer.from(name + '\0');
  // magic, ino, mode, uid, gid, nlink, mtime (0: reproducible), filesize, devmajor, devminor, rdevmajor, rdevminor,
  // namesize, check
  const header =
    '070701' + [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBytes]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

/** The archive's bytes: the entries in order (a directory before what it holds), then the trailer. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const type = e.kind === 'dir' ? S_IFDIR : e.kind === 'symlink' ? S_IFLNK : S_IFREG;
    const data = e.kind === 'dir' ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? '');
    parts.push(...record(i + 1, e.name.replace(/^\/+/, ''), type | (e.mode & 0o7777), data, e.kind === 'dir' ? 2 : 1));
  });
  parts.push(...record(0, 'TRAILER!!!', 0, Buffer.alloc(0), 1));
  return Buffer.concat(parts);
}
