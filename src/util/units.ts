import { UserError } from './errors.js';

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9 };

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

export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)}s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)}ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)}us`;
  return `${ns}ns`;
}

/** Packets per second: "250000", "250k", "1.5M", or 0 (as fast as possible). */
export function parseRate(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m) throw new UserError(`${what} '${text}': expected packets per second, e.g. 250000, 250k, 1.5M, or 0 for as fast as possible`);
  const pps = Math.round(Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1e3 : 1e6));
  if (pps > 1e9) throw new UserError(`${what} '${text}': at most 1G packets per second`);
  return pps;
}
