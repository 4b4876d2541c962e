/**
 * Measures RTT through one datapath: plan → build (journaled) → run the engines → tear down,
 * always, also on error and on a signal → a run record. The caller stores and reports it.
 */
import { mkdirSync } from 'node:fs';
import { getDatapath } from '../datapaths/registry.js';
import { HostExecutor, type TeardownReport } from '../host/executor.js';
import { Journal } from '../host/journal.js';
import { stepsFor } from '../host/steps.js';
import { stateDir } from '../paths.js';
import { Histogram } from '../stats/histogram.js';
import { summarize, type RttSummary } from '../stats/summary.js';
import type { RunRecord } from '../store/db.js';
import { assertValidTopology, type Topology } from '../topology/model.js';
import { errorMessage } from '../util/errors.js';
import { newRunId } from '../util/ids.js';
import { runRtt, type RttOutcome, type RttParams } from '../workloads/rtt.js';
import type { Environment } from '../env/environment.js';
import type { StopState } from './signals.js';

export interface MeasureContext {
  batchId: string;
  env: Environment;
  stop: StopState;
  progress: (msg: string) => void;
}

export interface Measured {
  record: RunRecord;
  summary: RttSummary | null;
  teardown: TeardownReport;
}

/** Builds the topology, returning the executor whose teardown undoes it (also after a failure). */
export async function buildTopology(topo: Topology, kind: 'run' | 'topo'): Promise<HostExecutor> {
  const journal = Journal.create(stateDir(), { runId: topo.runId, kind, datapath: topo.datapath });
  const host = new HostExecutor(journal);
  try {
    await host.apply(stepsFor(topo));
  } catch (e) {
    await host.teardown();
    throw e;
  }
  return host;
}

export function planDatapath(name: string, runId = newRunId()): Topology {
  return assertValidTopology(getDatapath(name).plan({ runId }));
}

export async function measureRtt(datapath: string, params: RttParams, ctx: MeasureContext): Promise<Measured> {
  const topo = planDatapath(datapath);
  const created_at = new Date().toISOString();
  const base = {
    id: topo.runId,
    batch_id: ctx.batchId,
    created_at,
    datapath,
    workload: 'rtt',
    params: paramsRecord(params),
    topology: topo,
    env: ctx.env as unknown as Record<string, unknown>,
  };
  mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  ctx.progress(`${datapath}: building ${topo.summary}`);
  const failed = (problem: string, teardown: TeardownReport): Measured => ({
    record: { ...base, status: 'failed', problem, samples: 0, lost: 0, summary: null, engine: null, histogram: null, raw: null },
    summary: null,
    teardown,
  });
  let host: HostExecutor;
  try {
    host = await buildTopology(topo, 'run');
  } catch (e) {
    // The kernel refused something (a missing feature, a fault): this datapath fails, others may run.
    return failed(`building the datapath failed: ${errorMessage(e)}`, { removed: [], alreadyGone: [], failed: [] });
  }
  let outcome: RttOutcome | null = null;
  let error: unknown = null;
  try {
    if (!ctx.stop.requested) {
      ctx.progress(`${datapath}: measuring ${params.count} round trips (run ${topo.runId})`);
      outcome = await runRtt(topo.endpoints.client, topo.endpoints.server, params, { workDir: stateDir() });
    }
  } catch (e) {
    error = e;
  }
  // Teardown before anything else can fail.
  const teardown = await host.teardown();
  if (teardown.failed.length) {
    const what = teardown.failed.map((f) => `${f.what}: ${f.error}`).join('; ');
    ctx.progress(`${datapath}: teardown could not remove: ${what} — 'cnperf clean' retries`);
  }
  if (!outcome) return failed(error ? errorMessage(error) : 'interrupted before measuring', teardown);
  const c = outcome.client;
  const hist = Histogram.fromEngine(c.hist, { min: c.min_ns, max: c.max_ns });
  const summary = summarize(hist, c.mean_ns === null ? undefined : { mean: c.mean_ns, stddev: c.stddev_ns });
  const { hist: _h, event: _e, role: _r, ...engine } = c;
  const record: RunRecord = {
    ...base,
    status: outcome.problem ? 'partial' : 'ok',
    problem: outcome.problem,
    samples: c.received,
    lost: c.lost,
    summary: summary ? { ...summary, cdf: hist.cdf() } : null,
    engine: { ...engine, server_echoed: outcome.server?.echoed ?? null },
    histogram: hist.encode(),
    raw: outcome.raw ? Buffer.from(outcome.raw.buffer) : null,
  };
  return { record, summary, teardown };
}

/** The parameters of a run as stored and as printed in `--json` (snake_case, units in names). */
export function paramsRecord(p: RttParams): Record<string, unknown> {
  return {
    count: p.count,
    warmup: p.warmup,
    interval_ns: p.intervalNs,
    size: p.size,
    wait: p.wait,
    pace: p.pace,
    cpus: p.cpus ?? null,
    rt_prio: p.rtPrio ?? 0,
    timeout_ns: p.timeoutNs,
    max_consecutive_lost: p.maxConsecutiveLost,
    raw: p.raw,
  };
}
