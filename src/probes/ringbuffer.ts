/**
 * Pure parsers for what tracefs hands out: event `format` files and the binary ring-buffer pages of
 * per_cpu/cpuN/trace_pipe_raw (the layout is described by events/header_page and
 * events/header_event). Reading the binary pages after the run keeps nanosecond timestamps and costs
 * the measurement nothing: the kernel only writes them, nobody formats text while it runs.
 */

export interface EventFormat {
  name: string;
  id: number;
  /** field name → byte offset and size inside the event record (common_type at 0) */
  fields: Record<string, { offset: number; size: number }>;
}

/** Parses an events/<system>/<event>/format file. */
export function parseEventFormat(text: string): EventFormat {
  const name = /^name: (\S+)/m.exec(text)?.[1];
  const id = /^ID: (\d+)/m.exec(text)?.[1];
  if (!name || !id) throw new Error('not a tracefs event format (no name or ID)');
  const fields: EventFormat['fields'] = {};
  for (const m of text.matchAll(/field:([^;]+);\s*offset:(\d+);\s*size:(\d+);/g)) {
    // "unsigned int vec", "__data_loc char[] name", "void * skbaddr": the name is the last word.
    const fieldName = /([A-Za-z_][A-Za-z0-9_]*)(\[\d*\])?\s*$/.exec(m[1]!.trim())?.[1];
    if (fieldName) fields[fieldName] = { offset: Number(m[2]), size: Number(m[3]) };
  }
  return { name, id: Number(id), fields };
}

export interface RawEvent {
  /** the ring buffer's clock (trace_clock "local": ns, per CPU) */
  ts: bigint;
  type: number;
  /** the event record: common_type at offset 0, then the event's fields */
  data: Buffer;
}

// events/header_event: type_len (5 bits) | time_delta (27 bits), then array[].
const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
const TS_SHIFT = 27n;
/** Flags the kernel keeps in the page's commit field (RB_MISSED_EVENTS, RB_MISSED_STORED). */
const COMMIT_FLAGS = (1 << 31) | (1 << 30);

export interface PageStats {
  pages: number;
  events: number;
  /** pages the kernel marked as following lost events (buffer full) */
  missedMarks: number;
}

/**
 * Decodes trace_pipe_raw pages (each `pageSize` bytes: u64 timestamp, 8-byte commit, data) and
 * calls onEvent for every data event. Little-endian 64-bit layout (x86_64, arm64).
 */
export function parseRingBufferPages(buf: Buffer, pageSize: number, onEvent: (e: RawEvent) => void): PageStats {
  const stats: PageStats = { pages: 0, events: 0, missedMarks: 0 };
  for (let page = 0; page + 16 <= buf.length; page += pageSize) {
    stats.pages++;
    let ts = buf.readBigUInt64LE(page);
    const commit = Number(buf.readBigInt64LE(page + 8) & 0xffffffffn);
    if (commit & COMMIT_FLAGS) stats.missedMarks++;
    const dataLen = commit & ~COMMIT_FLAGS;
    const start = page + 16;
    const end = Math.min(start + dataLen, page + pageSize, buf.length);
    let p = start;
    while (p + 4 <= end) {
      const hdr = buf.readUInt32LE(p);
      const typeLen = hdr & 0x1f;
      const delta = BigInt(hdr >>> 5);
      if (typeLen === TYPE_PADDING) {
        if (delta === 0n) break; // a null event: the rest of the page is empty
        p += 4 + buf.readUInt32LE(p + 4);
        continue;
      }
      if (typeLen === TYPE_TIME_EXTEND) {
        ts += (BigInt(buf.readUInt32LE(p + 4)) << TS_SHIFT) + delta;
        p += 8;
        continue;
      }
      if (typeLen === TYPE_TIME_STAMP) {
        // An absolute stamp: its low 59 bits replace the clock's, the top bits stay.
        const abs = (BigInt(buf.readUInt32LE(p + 4)) << TS_SHIFT) | delta;
        ts = (ts & ~((1n << 59n) - 1n)) | abs;
        p += 8;
        continue;
      }
      ts += delta;
      let dataStart: number;
      let length: number;
      if (typeLen === 0) {
        length = buf.readUInt32LE(p + 4) - 4; // array[0] counts itself
        dataStart = p + 8;
      } else {
        length = typeLen * 4;
        dataStart = p + 4;
      }
      if (length < 2 || dataStart + length > end) break; // a torn record: stop at what is sound
      const data = buf.subarray(dataStart, dataStart + length);
      stats.events++;
      onEvent({ ts, type: data.readUInt16LE(0), data });
      p = dataStart + length;
    }
  }
  return stats;
}

/** Reads a __data_loc string field (u32: offset in the low 16 bits, length in the high 16). */
export function dataLocString(data: Buffer, offset: number): string {
  const loc = data.readUInt32LE(offset);
  const off = loc & 0xffff;
  const len = loc >>> 16;
  const s = data.subarray(off, Math.min(off + len, data.length)).toString('latin1');
  const nul = s.indexOf('\0');
  return nul >= 0 ? s.slice(0, nul) : s;
}
