/**
 * Softirq and hardware interrupt counts per CPU from /proc/softirqs and /proc/interrupts: how often
 * the kernel ran NET_RX / NET_TX work for the packets of a run (seed 002: softirqs ≈ 3× IRQs on an
 * overlay).
 */

/** Parses /proc/softirqs: vector name → count per CPU. Pure. */
export function parseSoftirqs(text: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const line of text.split('\n').slice(1)) {
    const m = /^\s*([A-Z_]+):\s+(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().split(/\s+/).map(Number);
  }
  return out;
}

/**
 * Parses /proc/interrupts into the total per CPU over every interrupt source that has per-CPU
 * columns (device IRQs, LOC, RES, CAL, TLB, ...; ERR and MIS have one total and are left out). Pure.
 */
export function parseInterruptTotals(text: string): number[] {
  const lines = text.split('\n');
  const ncpu = (lines[0] ?? '')
    .trim()
    .split(/\s+/)
    .filter((c) => /^CPU\d+$/.test(c)).length;
  const totals = new Array<number>(ncpu).fill(0);
  for (const line of lines.slice(1)) {
    const m = /^\s*[^:\s]+:\s+(.*)$/.exec(line);
    if (!m) continue;
    const cols = m[1]!.trim().split(/\s+/);
    if (cols.length < ncpu || !cols.slice(0, ncpu).every((c) => /^\d+$/.test(c))) continue;
    for (let i = 0; i < ncpu; i++) totals[i]! += Number(cols[i]);
  }
  return totals;
}
