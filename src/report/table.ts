/** Plain-text tables for the terminal: right-aligned numbers, one header row, a rule. */
export function renderTable(header: string[], rows: string[][], alignLeft: number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (alignLeft.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/** Microseconds with one decimal: the unit RTT tables are read in. */
export function us(ns: number | undefined | null): string {
  return typeof ns === 'number' && Number.isFinite(ns) ? (ns / 1000).toFixed(1) : '–';
}
