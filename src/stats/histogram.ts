/**
 * Log-linear (HDR-style) histogram of non-negative integer nanosecond values.
 *
 * Same indexing as engine/hist.c (the engine ships bucket indices): values below 2^subBits are
 * exact; above, each power of two is split into 2^(subBits-1) buckets, so a bucket is at most
 * 1/1024 of its value wide with subBits = 11. Percentiles are the midpoint of the bucket holding
 * the nearest-rank sample, clamped to the exact min/max: within 0.05 % of the true order statistic.
 *
 * Histograms merge by adding counts, which is how percentiles across repeats and flows are made:
 * never by averaging per-run percentiles.
 */
import { deflateSync, inflateSync } from 'node:zlib';

export const SUB_BITS = 11;
/** Buckets of values below 2^31 with SUB_BITS = 11 (what record() keeps densely). */
const DENSE_BUCKETS = 2 ** SUB_BITS + (31 - SUB_BITS) * 2 ** (SUB_BITS - 1);

export function bucketIndex(v: number, subBits = SUB_BITS): number {
  const subCount = 2 ** subBits;
  if (v < subCount) return v;
  const half = subCount / 2;
  if (v < 0x80000000) {
    // Below 2^31 ns (2.1 s: every RTT that matters) the integer path: clz32 finds the top bit exactly.
    const shift = 31 - Math.clz32(v) - (subBits - 1);
    return subCount + (shift - 1) * half + ((v >>> shift) - half);
  }
  const msb = Math.floor(Math.log2(v));
  // Math.log2 can round up just below a power of two; correct it exactly.
  const m = 2 ** msb > v ? msb - 1 : 2 ** (msb + 1) <= v ? msb + 1 : msb;
  const shift = m - (subBits - 1);
  const sub = Math.floor(v / 2 ** shift);
  return subCount + (shift - 1) * half + (sub - half);
}

export function bucketLowest(idx: number, subBits = SUB_BITS): number {
  const subCount = 2 ** subBits;
  if (idx < subCount) return idx;
  const half = subCount / 2;
  const rel = idx - subCount;
  const shift = Math.floor(rel / half) + 1;
  return (half + (rel % half)) * 2 ** shift;
}

export function bucketHighest(idx: number, subBits = SUB_BITS): number {
  const subCount = 2 ** subBits;
  if (idx < subCount) return idx;
  return bucketLowest(idx + 1, subBits) - 1;
}

export interface EngineHistogram {
  sub_bits: number;
  buckets: Array<[number, number]>;
}

export class Histogram {
  /** bucket index -> count; sparse because RTTs cluster in a few hundred buckets. */
  private readonly counts = new Map<number, number>();
  /**
   * record()'s fast path: a dense array of the buckets below 2^31 ns, folded into `counts` before
   * anything reads them (a Map update per sample made 10 M samples take 1.4 s; this takes ~0.2 s).
   */
  private dense: Float64Array | null = null;
  private denseDirty = false;
  private n = 0;
  private lo = Infinity;
  private hi = -Infinity;

  constructor(readonly subBits = SUB_BITS) {}

  static fromEngine(h: EngineHistogram, exact?: { min: number; max: number }): Histogram {
    const out = new Histogram(h.sub_bits);
    for (const [idx, count] of h.buckets) out.addBucket(idx, count);
    if (exact && out.n > 0) {
      out.lo = exact.min;
      out.hi = exact.max;
    }
    return out;
  }

  get total(): number {
    return this.n;
  }
  get min(): number {
    return this.n ? this.lo : NaN;
  }
  get max(): number {
    return this.n ? this.hi : NaN;
  }

  record(v: number, count = 1): void {
    if (!(v >= 0) || v !== Math.floor(v) || v === Infinity)
      throw new RangeError(`histogram value must be a non-negative integer, got ${v}`);
    if (count <= 0) return;
    // The default layout inline (the hot path of a 10 M-sample analysis), bucketIndex otherwise.
    const idx =
      this.subBits === SUB_BITS && v < 0x80000000
        ? v < 2048
          ? v
          : 1024 + (20 - Math.clz32(v)) * 1024 + (v >>> (21 - Math.clz32(v)))
        : bucketIndex(v, this.subBits);
    if (idx < DENSE_BUCKETS) {
      (this.dense ??= new Float64Array(DENSE_BUCKETS))[idx]! += count;
      this.denseDirty = true;
    } else {
      this.counts.set(idx, (this.counts.get(idx) ?? 0) + count);
    }
    this.n += count;
    // Exact extremes for recorded values (bucket bounds would widen them).
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  /** Moves the dense fast-path counts into the bucket map. */
  private fold(): void {
    if (!this.denseDirty || !this.dense) return;
    const d = this.dense;
    for (let i = 0; i < d.length; i++) {
      if (d[i]) {
        this.counts.set(i, (this.counts.get(i) ?? 0) + d[i]!);
        d[i] = 0;
      }
    }
    this.denseDirty = false;
  }

  /** Adds a bucket's count; min/max widen to the bucket's bounds unless known exactly. */
  addBucket(idx: number, count: number): void {
    if (count <= 0) return;
    this.counts.set(idx, (this.counts.get(idx) ?? 0) + count);
    this.n += count;
    const lo = bucketLowest(idx, this.subBits);
    const hi = bucketHighest(idx, this.subBits);
    if (lo < this.lo) this.lo = lo;
    if (hi > this.hi) this.hi = hi;
  }

  merge(other: Histogram): void {
    if (other.subBits !== this.subBits)
      throw new Error(`cannot merge histograms of sub_bits ${this.subBits} and ${other.subBits}`);
    this.fold();
    other.fold();
    for (const [idx, c] of other.counts) {
      this.counts.set(idx, (this.counts.get(idx) ?? 0) + c);
      this.n += c;
    }
    if (other.n) {
      this.lo = Math.min(this.lo, other.lo);
      this.hi = Math.max(this.hi, other.hi);
    }
  }

  private sortedBuckets(): Array<[number, number]> {
    this.fold();
    return [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
  }

  private representative(idx: number): number {
    const lo = bucketLowest(idx, this.subBits);
    const hi = bucketHighest(idx, this.subBits);
    const mid = Math.round((lo + hi) / 2);
    return Math.min(Math.max(mid, this.lo), this.hi);
  }

  /** Nearest-rank percentile: the value of the ceil(q*N)-th smallest sample (q in [0, 1]). */
  valueAtQuantile(q: number): number {
    if (this.n === 0) return NaN;
    if (q <= 0) return this.lo;
    if (q >= 1) return this.hi;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (const [idx, c] of this.sortedBuckets()) {
      seen += c;
      if (seen >= rank) return this.representative(idx);
    }
    return this.hi;
  }

  /** Mean from bucket midpoints: used only when exact moments are not known (merged data). */
  approxMean(): number {
    if (this.n === 0) return NaN;
    let sum = 0;
    this.fold();
    for (const [idx, c] of this.counts) sum += this.representative(idx) * c;
    return sum / this.n;
  }

  approxStddev(): number {
    if (this.n < 2) return NaN;
    const mean = this.approxMean();
    let ss = 0;
    this.fold();
    for (const [idx, c] of this.counts) ss += c * (this.representative(idx) - mean) ** 2;
    return Math.sqrt(ss / (this.n - 1));
  }

  /**
   * CDF points (x, fraction of samples <= x), one per non-empty bucket at its upper bound (where
   * that fraction is exact; clamped to the max so the curve ends at the largest sample), thinned to at most maxPoints
   * while always keeping the tail's last buckets, where the interesting part of an RTT CDF is.
   */
  cdf(maxPoints = 500): Array<[number, number]> {
    const buckets = this.sortedBuckets();
    const points: Array<[number, number]> = [];
    let seen = 0;
    for (const [idx, c] of buckets) {
      seen += c;
      points.push([Math.min(bucketHighest(idx, this.subBits), this.hi), seen / this.n]);
    }
    if (points.length <= maxPoints) return points;
    const keepTail = Math.floor(maxPoints / 4);
    const head = points.slice(0, points.length - keepTail);
    const step = head.length / (maxPoints - keepTail);
    const thinned: Array<[number, number]> = [];
    for (let i = 0; i < maxPoints - keepTail; i++) thinned.push(head[Math.floor(i * step)]!);
    return thinned.concat(points.slice(points.length - keepTail));
  }

  /**
   * Compact binary encoding for the store: version byte, subBits, min, max (as varints), then
   * (index delta, count) varint pairs, deflated.
   */
  encode(): Buffer {
    const out: number[] = [1, this.subBits];
    const pushVarint = (v: number) => {
      let x = v;
      while (x >= 0x80) {
        out.push((x % 0x80) | 0x80);
        x = Math.floor(x / 0x80);
      }
      out.push(x);
    };
    pushVarint(this.n ? this.lo : 0);
    pushVarint(this.n ? this.hi : 0);
    let prev = 0;
    for (const [idx, c] of this.sortedBuckets()) {
      pushVarint(idx - prev);
      pushVarint(c);
      prev = idx;
    }
    return deflateSync(Buffer.from(out));
  }

  static decode(blob: Uint8Array): Histogram {
    const buf = inflateSync(blob);
    if (buf[0] !== 1) throw new Error(`unknown histogram encoding version ${buf[0]}`);
    const h = new Histogram(buf[1]);
    let pos = 2;
    const readVarint = (): number => {
      let v = 0;
      let mul = 1;
      for (;;) {
        if (pos >= buf.length) throw new Error('truncated histogram encoding');
        const b = buf[pos++]!;
        v += (b & 0x7f) * mul;
        if (b < 0x80) return v;
        mul *= 0x80;
      }
    };
    const lo = readVarint();
    const hi = readVarint();
    let idx = 0;
    while (pos < buf.length) {
      idx += readVarint();
      h.addBucket(idx, readVarint());
    }
    if (h.n) {
      h.lo = lo;
      h.hi = hi;
    }
    return h;
  }
}
