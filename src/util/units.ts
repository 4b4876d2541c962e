import { UserError } from './errors.js';

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/**
 * Parses "1ms", "250us", "2s", "0" into integer nanoseconds. A bare number other than 0 is
 * refused: "--interval 1" is ambiguous, and guessing a unit silently changes an experiment.
 */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(text.trim());
  if (!m) throw new UserError(`${what} '${text}': expected a duration like 1ms, 250us, 2s or 0`);
  const value = Number(m[1]);
  const unit = m[2];
  if (!unit) {
    if (value === 0) return 0;
    throw new UserError(`${what} '${text}': give a unit (ns, us, ms, s), e.g. ${text}ms`);
  }
  const ns = Math.round(value * (DURATION_UNITS[unit] ?? 1));
  if (!Number.isSafeInteger(ns)) throw new UserError(`${what} '${text}': too large`);
  return ns;
}

export function parseIntIn(text: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`${what} '${text}': expected a whole number ${min}..${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new UserError(`${what} ${n}: out of range, allowed ${min}..${max}`);
  return n;
}

/** Bytes: "4096", "256K", "4M", "1G" (binary multiples), within min..max. */
export function parseBytes(text: string, what: string, min: number, max: number): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UserError(`${what} '${text}': expected bytes, e.g. 262144, 256K, 4M`);
  const n = Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
  if (n < min || n > max) throw new UserError(`${what} ${text}: out of range, allowed ${min}..${max} bytes`);
  return n;
}

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)}s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)}ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)}us`;
  return `${ns}ns`;
}

/** Packets per second: "250000", "250k", "1.5M", or 0 (as fast as possible). */
export function parseRate(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m)
    throw new UserError(
      `${what} '${text}': expected packets per second, e.g. 250000, 250k, 1.5M, or 0 for as fast as possible`,
    );
  const pps = Math.round(Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1e3 : 1e6));
  if (pps > 1e9) throw new UserError(`${what} '${text}': at most 1G packets per second`);
  return pps;
}

/**
 * Offered rates for a sweep: a list ("50k,100k,200k") or a linear range "FROM..TO:N" (N points,
 * both ends included), in packets per second, ascending, no duplicates.
 */
export function parseRateList(text: string, what: string): number[] {
  const range = /^([^.,:]+)\.\.([^.,:]+):(\d+)$/.exec(text.trim());
  let rates: number[];
  if (range) {
    const from = parseRate(range[1]!, what);
    const to = parseRate(range[2]!, what);
    const n = Number(range[3]);
    if (n < 2 || n > 100) throw new UserError(`${what} '${text}': a range needs 2..100 points`);
    if (to <= from) throw new UserError(`${what} '${text}': the range must rise (FROM..TO:N with FROM < TO)`);
    rates = Array.from({ length: n }, (_, i) => Math.round(from + ((to - from) * i) / (n - 1)));
  } else {
    rates = text.split(',').map((r) => parseRate(r, what));
  }
  if (rates.some((r) => r === 0))
    throw new UserError(`${what} '${text}': a sweep offers rates; 0 (as fast as possible) is not one`);
  const sorted = [...new Set(rates)].sort((a, b) => a - b);
  if (sorted.length !== rates.length) throw new UserError(`${what} '${text}': a rate is named twice`);
  return sorted;
}

/** "0.1%" or "0.001" → 0.001. */
export function parsePercent(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UserError(`${what} '${text}': expected a ratio like 0.1% or 0.001`);
  const v = Number(m[1]) / (m[2] ? 100 : 1);
  if (v <= 0 || v >= 1) throw new UserError(`${what} '${text}': must lie between 0 and 100 %`);
  return v;
}
