/** The bench's summaries: medians over rounds, and ratios that carry their spread. */

export function median(xs: readonly number[]): number {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
}

/**
 * cnperf / peer, round by round (the two ran back to back in each round), as the median ratio with
 * the rounds' range; "within noise" when the range covers 1.0.
 */
export function ratioText(ours: readonly number[], theirs: readonly number[]): string {
  const r = ours.map((v, i) => v / theirs[i]!).filter(Number.isFinite);
  if (!r.length) return '–';
  const lo = Math.min(...r);
  const hi = Math.max(...r);
  const noise = lo <= 1 && hi >= 1 ? ', within noise' : '';
  return r.length === 1
    ? `${r[0]!.toFixed(2)} (one round)`
    : `${median(r).toFixed(2)} (${lo.toFixed(2)}–${hi.toFixed(2)}${noise})`;
}
