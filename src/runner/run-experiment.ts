/**
 * Runs an experiment: every case × repeat, one after the other (repeat-major, so slow drift of the
 * machine hits every case alike), each stored as it finishes; a failed case is stored with its error
 * and the others go on; --resume skips the cases an interrupted run of the same plan already has.
 */
import { createHash } from 'node:crypto';
import type { Environment } from '../env/environment.js';
import type { HostSet } from '../remote/host-set.js';
import type { LoadedExperiment } from '../input/experiment-file.js';
import { workloadsOf } from '../input/experiment-schema.js';
import { cooldownOf, expandCases, repeatsOf, type Case, type Scale } from '../input/matrix.js';
import type { ExperimentRecord, RunRecord, Store } from '../store/db.js';
import { newRunId } from '../util/ids.js';
import { parseDuration } from '../util/units.js';
import { measure } from './measure.js';
import type { StopState } from './signals.js';

export interface ExperimentProgress {
  /** a case starts: i of n (1-based), what it is, the estimated time left */
  caseStarted(i: number, n: number, c: Case, repeat: number, etaMs: number | null): void;
  caseDone(i: number, n: number, c: Case, repeat: number, record: RunRecord): void;
  /** what the case's build and workload report */
  detail(msg: string): void;
}

export interface ExperimentOutcome {
  experiment: ExperimentRecord;
  cases: Case[];
  ok: number;
  partial: number;
  failed: number;
  /** already stored by an earlier, interrupted run (--resume) */
  skipped: number;
  interrupted: boolean;
}

/** Identity of what would be measured: the same plan can be resumed, a changed one cannot. */
export function planHash(workload: string, cases: readonly Case[], repeats: number, trace: boolean): string {
  return createHash('sha256')
    .update(JSON.stringify({ workload, cases: cases.map((c) => c.key), repeats, trace }))
    .digest('hex')
    .slice(0, 16);
}

export async function runExperiment(
  loaded: LoadedExperiment,
  scale: Scale,
  o: {
    store: Store;
    resume: boolean;
    env: Environment;
    stop: StopState;
    progress: ExperimentProgress;
    hosts?: HostSet | null;
  },
): Promise<ExperimentOutcome> {
  const { spec } = loaded;
  const cases = expandCases(spec, scale);
  const repeats = repeatsOf(spec, scale);
  const hash = planHash(workloadsOf(spec).join(','), cases, repeats, spec.trace);
  let experiment = o.resume ? o.store.findResumable(spec.name, scale, hash) : null;
  if (!experiment) {
    experiment = {
      id: newRunId(),
      name: spec.name,
      scale,
      file: loaded.file,
      text: loaded.text,
      plan_hash: hash,
      cases: cases.length,
      repeats,
      created_at: new Date().toISOString(),
      finished_at: null,
      status: 'running',
    };
    o.store.createExperiment(experiment);
  } else {
    o.store.finishExperiment(experiment.id, 'running');
  }
  const measured = o.store.measuredCases(experiment.id);
  const cooldownMs = parseDuration(cooldownOf(spec, scale), 'cooldown') / 1e6;
  const out: ExperimentOutcome = { experiment, cases, ok: 0, partial: 0, failed: 0, skipped: 0, interrupted: false };
  const total = cases.length * repeats;
  const durations: number[] = [];
  let i = 0;
  for (let r = 1; r <= repeats; r++) {
    for (const c of cases) {
      i++;
      if (measured.has(`${c.key}#${r}`)) {
        out.skipped++;
        continue;
      }
      if (o.stop.requested) break;
      // Cases left, this one included, at the mean time of those measured so far.
      const eta = durations.length ? (durations.reduce((a, b) => a + b, 0) / durations.length) * (total - i + 1) : null;
      o.progress.caseStarted(i, total, c, r, eta);
      const t0 = performance.now();
      const job = c.quick.jobs[0]!;
      const m = await measure(c.datapath, job, {
        batchId: experiment.id,
        env: o.env,
        stop: o.stop,
        progress: o.progress.detail,
        trace: spec.trace,
        datapathOptions: c.quick.datapathOptions[0]!, // one family per case (matrix.ts)
        hosts: o.hosts ?? null,
      });
      const record: RunRecord = {
        ...m.record,
        experiment_id: experiment.id,
        case_key: c.key,
        case_label: c.label,
        repeat: r,
      };
      o.store.saveRun(record);
      durations.push(performance.now() - t0 + cooldownMs);
      out[record.status]++;
      o.progress.caseDone(i, total, c, r, record);
      if (cooldownMs && i < total && !o.stop.requested) await sleepUnlessStopped(cooldownMs, o.stop);
    }
    if (o.stop.requested) break;
  }
  out.interrupted = o.stop.requested;
  o.store.finishExperiment(experiment.id, out.interrupted ? 'interrupted' : 'done');
  out.experiment = { ...experiment, status: out.interrupted ? 'interrupted' : 'done' };
  return out;
}

async function sleepUnlessStopped(ms: number, stop: StopState): Promise<void> {
  const until = performance.now() + ms;
  while (!stop.requested && performance.now() < until)
    await new Promise((r) => setTimeout(r, Math.min(100, until - performance.now())));
}
