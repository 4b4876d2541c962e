/**
 * What a run's datapath adds to reports itself (its `report` hook, from its own part of the stored
 * topology): a member of the `--json` result, a line under the tables, a part of the run's why line.
 * The report knows no datapath by name.
 */
import { DATAPATHS } from '../datapaths/registry.js';
import type { DatapathReport } from '../datapaths/types.js';
import type { RunRecord } from '../store/db.js';
import { storedTopology } from './stored.js';

/** The run's datapath's report hooks with its stored topology, or null (none, or a datapath no longer known). */
function sectionOf(r: RunRecord): { report: DatapathReport; t: NonNullable<ReturnType<typeof storedTopology>> } | null {
  const report = DATAPATHS.find((d) => d.name === r.datapath)?.report;
  const t = storedTopology(r);
  return report && t ? { report, t } : null;
}

/** The datapath's member of the run's `--json` result, as [name, value], or null. */
export function datapathJson(r: RunRecord): [string, object] | null {
  const s = sectionOf(r);
  const value = s?.report.json?.(s.t, r.params);
  return s?.report.member && value ? [s.report.member, value] : null;
}

/** The lines under the tables, one per run, under each datapath's heading. */
export function datapathNotes(runs: RunRecord[]): string {
  const byHeading = new Map<string, string[]>();
  for (const r of runs) {
    const s = sectionOf(r);
    const note = s?.report.note?.(s.t, r.params);
    if (!s || !note) continue;
    const heading = s.report.heading ?? r.datapath;
    byHeading.set(heading, [...(byHeading.get(heading) ?? []), `  ${r.id}: ${note}`]);
  }
  return [...byHeading].map(([heading, lines]) => `${heading}\n${lines.join('\n')}`).join('\n\n');
}

/** The datapath's part of the run's why line, or null. */
export function datapathWhy(r: RunRecord): string | null {
  const s = sectionOf(r);
  return s?.report.why?.(s.t) ?? null;
}
