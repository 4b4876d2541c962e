/**
 * Measures one case — a datapath and a workload —: plan → build (journaled) → run the workload with
 * the probes → tear down, always, also on error and on a signal → a run record. The caller stores
 * and reports it. Everything a workload knows lives in its module (src/workloads/).
 */
import path from 'node:path';
import { HOSTS_PART } from '../datapaths/nodes.js';
import { getDatapath } from '../datapaths/registry.js';
import { explainBuildFailure } from '../datapaths/plan.js';
import type { DatapathOptions } from '../datapaths/types.js';
import type { Environment } from '../env/environment.js';
import { UserError } from '../util/errors.js';
import type { TeardownReport } from '../local/executor.js';
import { buildOnHosts } from '../remote/remote-build.js';
import type { HostSet } from '../remote/host-set.js';
import { HostProbes } from '../remote/remote-probes.js';
import { stateDir } from '../paths.js';
import { ProbeSession, traceBufferKb, type ProbeReport } from '../probes/session.js';
import type { RunRecord } from '../store/db.js';
import { errorMessage } from '../util/errors.js';
import { planForJobs, workloadOf, type Job } from '../workloads/registry.js';
import type { Outcome } from '../workloads/types.js';
import { buildTopology } from './build.js';
import { LiveFeed } from './live.js';
import type { StopState } from './signals.js';

export interface MeasureContext {
  batchId: string;
  /** run the tracepoint probes (tracefs) alongside the always-on counters */
  trace?: boolean;
  datapathOptions?: DatapathOptions;
  env: Environment;
  stop: StopState;
  progress: (msg: string) => void;
  /** real hosts (--hosts): the datapath's nodes are these */
  hosts?: HostSet | null;
}

/** What a case was built on: this machine (one executor) or real hosts (one per host). */
interface Built {
  teardown(): Promise<TeardownReport>;
  timings: Array<{ what: string; ms: number }>;
  probes(): Promise<{ stop(): Promise<ProbeReport>; abort(): void; onCpu?: ProbeSession['onCpu'] }>;
}

export interface Measured {
  record: RunRecord;
  teardown: TeardownReport;
}

export async function measure(datapath: string, job: Job, ctx: MeasureContext): Promise<Measured> {
  const { w, p } = workloadOf(job);
  // across hosts the plan uses what connecting found (each host's NIC and its MTU)
  const options = ctx.hosts ? { ...ctx.datapathOptions, hosts: ctx.hosts.planHosts() } : (ctx.datapathOptions ?? {});
  const topo = planForJobs(datapath, [job], options);
  const runDir = path.join(stateDir(), `cnp${topo.runId}`);
  const base = {
    id: topo.runId,
    batch_id: ctx.batchId,
    created_at: new Date().toISOString(),
    datapath,
    params: { ...w.record(p), ...(Object.keys(options).length ? { datapath: options } : {}) },
    topology: topo,
    // across hosts: the environments of the hosts this case ran on
    env:
      HOSTS_PART.of(topo) && ctx.env.hosts
        ? { ...ctx.env, hosts: ctx.env.hosts.filter((h) => HOSTS_PART.of(topo)!.some((x) => x.name === h.name)) }
        : ctx.env,
  };
  // The record's result part is the workload's own type (src/workloads/results.ts), keyed by its name.
  const recordOf = (
    status: RunRecord['status'],
    problem: string | null,
    o: Omit<Outcome<unknown, unknown, unknown>, 'problem'> | null,
    probes: RunRecord['probes'],
    teardown: TeardownReport,
  ): Measured => ({
    record: {
      ...base,
      workload: job.workload,
      status,
      problem,
      samples: o?.samples ?? 0,
      lost: o?.lost ?? 0,
      summary: o?.summary ?? null,
      engine: o?.engine ?? null,
      histogram: o?.histogram ?? null,
      raw: o?.raw ?? null,
      series: o?.series ?? null,
      probes,
    } as RunRecord,
    teardown,
  });
  ctx.progress(`${datapath}: building ${topo.summary}`);
  let host: Built;
  try {
    if (ctx.hosts) {
      const across = await buildOnHosts(topo, ctx.hosts.hosts, 'run');
      host = {
        teardown: () => across.teardown(),
        timings: [],
        probes: () =>
          HostProbes.start(
            across.parts,
            ctx.trace ? { runId: topo.runId, bufferKb: traceBufferKb(w.expectedPackets(p)) } : undefined,
          ),
      };
    } else {
      const exec = await buildTopology(topo, 'run');
      host = {
        teardown: () => exec.teardown(),
        timings: exec.timings,
        probes: () =>
          ProbeSession.start({
            topo,
            ...getDatapath(datapath).probeTargets?.(topo),
            cpus: w.cpus(p),
            trace: ctx.trace ?? false,
            expectedPackets: w.expectedPackets(p),
            journal: exec.journal,
            runDir,
          }),
      };
    }
  } catch (e) {
    // The kernel refused something (a missing feature, a fault): this case fails, others may run.
    // a user's mistake keeps its hint: it lands in the run's "failed: …" line, not on its own
    const hint = e instanceof UserError && e.hint ? ` (${e.hint})` : '';
    const problem =
      `building the datapath failed: ` + `${explainBuildFailure(getDatapath(datapath), errorMessage(e))}${hint}`;
    return recordOf('failed', problem, null, null, { removed: [], alreadyGone: [], failed: [] });
  }
  let outcome: Outcome<unknown, unknown, unknown> | null = null;
  let probes: ProbeReport | null = null;
  let error: unknown = null;
  let session: Awaited<ReturnType<Built['probes']>> | null = null;
  let live: LiveFeed | null = null;
  try {
    if (!ctx.stop.requested) {
      session = await host.probes();
      ctx.progress(`${datapath}: ${w.describe(p)} (run ${topo.runId})`);
      live = LiveFeed.open({ run_id: topo.runId, datapath, workload: job.workload, what: w.describe(p) });
      const feed = live;
      session.onCpu?.((_t, c) =>
        feed.add({ event: 'cpu', t_s: feed.now(), usr: c.usr, sys: c.sys, softirq: c.softirq }),
      );
      outcome = await w.run(topo, p, {
        stop: ctx.stop,
        progress: (m) => ctx.progress(`${datapath}: ${m}`),
        workDir: stateDir(),
        onInterval: (flow, ev) =>
          feed.add({
            event: 'rate',
            t_s: feed.now(),
            flow,
            side: ev.role === 'stream-tx' ? 'tx' : 'rx',
            pps: (ev.packets * 1e9) / ev.ns,
            gbps: (ev.bytes * 8) / ev.ns,
          }),
      });
      probes = await session.stop();
      session = null;
      if (host.timings.length) probes.rules_load = host.timings;
    }
  } catch (e) {
    error = e;
  } finally {
    session?.abort();
    live?.close();
  }
  // Teardown before anything else can fail.
  const teardown = await host.teardown();
  if (teardown.failed.length) {
    const what = teardown.failed.map((f) => `${f.what}: ${f.error}`).join('; ');
    ctx.progress(
      `${datapath}: teardown could not remove: ${what} — 'cnperf clean${ctx.hosts ? ' --hosts FILE' : ''}' retries`,
    );
  }
  if (!outcome)
    return recordOf('failed', error ? errorMessage(error) : 'interrupted before measuring', null, null, teardown);
  const { problem, breakdown, ...rest } = outcome;
  const why = probes || breakdown ? { ...(probes ?? {}), ...(breakdown ? { breakdown } : {}) } : null;
  return recordOf(problem ? 'partial' : 'ok', problem, rest, why, teardown);
}
