/**
 * Every workload cnperf knows, listed explicitly, like the datapaths. A new workload is one module
 * (./types.ts says what it owns) plus one line here, and its options in src/input/options.ts.
 */
import { notOneOf } from '../util/nearest.js';
import { HOSTS_PART } from '../datapaths/nodes.js';
import { planDatapath } from '../datapaths/plan.js';
import { getDatapath } from '../datapaths/registry.js';
import { VM_PART } from '../topology/guests.js';
import type { DatapathOptions } from '../datapaths/types.js';
import type { Topology } from '../topology/model.js';
import { errorMessage, UserError } from '../util/errors.js';
import { splitByHost } from '../remote/split.js';
import { stateDir } from '../paths.js';
import { loadWorkload } from './load.js';
import type { WorkloadName } from './results.js';
import { crrWorkloadDef, rrWorkloadDef } from './rr.js';
import { rttWorkload } from './rtt.js';
import { streamWorkload } from './stream.js';
import { sweepWorkload } from './sweep.js';
import type { Outcome, Workload } from './types.js';

export const WORKLOADS = {
  rtt: rttWorkload,
  stream: streamWorkload,
  sweep: sweepWorkload,
  load: loadWorkload,
  rr: rrWorkloadDef,
  crr: crrWorkloadDef,
} as const satisfies Record<WorkloadName, unknown>;

type ParamsOf<W> = W extends Workload<infer P, infer _O> ? P : never;

/** One measurement of a case: a workload and its parameters. */
export type Job = { [K in WorkloadName]: { workload: K; params: ParamsOf<(typeof WORKLOADS)[K]> } }[WorkloadName];

export const WORKLOAD_NAMES = Object.keys(WORKLOADS) as WorkloadName[];

export function getWorkload(name: string): (typeof WORKLOADS)[WorkloadName] {
  if (!(WORKLOAD_NAMES as string[]).includes(name)) throw notOneOf('--workload', name, WORKLOAD_NAMES);
  return WORKLOADS[name as WorkloadName];
}

/**
 * The job's workload with its parameters. TypeScript cannot correlate `WORKLOADS[job.workload]` with
 * `job.params`; the Job type guarantees they match, and this is the one place that says so.
 */
export function workloadOf(job: Job): { w: Workload<unknown, Outcome<unknown, unknown, unknown>>; p: unknown } {
  return { w: WORKLOADS[job.workload] as Workload<unknown, Outcome<unknown, unknown, unknown>>, p: job.params };
}

/** Jobs for a workload from parsed options: one per variant (e.g. per --api). */
export function jobsOf(
  name: WorkloadName,
  parse: (w: Workload<unknown, Outcome<unknown, unknown, unknown>>) => unknown[],
): Job[] {
  return parse(WORKLOADS[name] as Workload<unknown, Outcome<unknown, unknown, unknown>>).map(
    (params) => ({ workload: name, params }) as Job,
  );
}

/** The client/server pairs a set of jobs needs from the datapath: the most any of them uses at once. */
export function pairsNeeded(jobs: readonly Job[]): number {
  return Math.max(
    1,
    ...jobs.map((j) => {
      const { w, p } = workloadOf(j);
      return w.pairsNeeded(p);
    }),
  );
}

/** The first raw sending API any of the jobs uses, or null. */
export function rawApiOf(jobs: readonly Job[]): string | null {
  return rawApisOf(jobs)[0] ?? null;
}

/** Every raw sending API the jobs use (raw, raw-mmsg, raw-ring, xdp), in job order. */
export function rawApisOf(jobs: readonly Job[]): string[] {
  return jobs.flatMap((j) => {
    const { w, p } = workloadOf(j);
    const api = w.rawApi(p);
    return api ? [api] : [];
  });
}

/**
 * The datapath planned for these jobs (pure): enough pairs for all of them, a Service's rules for the
 * protocol they send, and every refusal — a workload that cannot go through the Service — before
 * anything is built.
 */
export function planForJobs(
  datapath: string,
  jobs: readonly Job[],
  options: DatapathOptions,
  runId?: string,
): Topology {
  let opts = options;
  if (options.service && options.service.proxy !== 'none') {
    const transports = [
      ...new Set(
        jobs.map((j) => {
          const { w, p } = workloadOf(j);
          return w.transport?.(p) ?? 'udp';
        }),
      ),
    ];
    if (transports.length > 1)
      throw new UserError(
        `--service-proxy: a Service's rules match one protocol, and these runs send ` +
          `${transports.join(' and ')}: measure them in separate runs`,
      );
    opts = { ...options, service: { ...options.service, protocol: transports[0]! } };
  }
  // VM endpoints: each guest's qemu is pinned to its role's engine CPU (--cpus), as the engines are.
  if (opts.vm && jobs.length) {
    const { w, p } = workloadOf(jobs[0]!);
    const cpus = w.cpus(p);
    if (cpus) opts = { ...opts, vm: { ...opts.vm, cpus } };
  }
  const topo = planDatapath(datapath, runId, pairsNeeded(jobs), opts);
  if (VM_PART.of(topo)) for (const j of jobs) guestCheck(workloadOf(j).p);
  const refuseWorkload = getDatapath(datapath).refuseWorkload;
  for (const j of jobs) {
    const refused = refuseWorkload?.(j.workload, workloadOf(j).p);
    if (refused) throw new UserError(`--workload ${j.workload} over ${datapath}: ${refused.why}`, refused.hint);
  }
  if (HOSTS_PART.of(topo)) for (const j of jobs) hostsCheck(datapath, topo, j);
  if (topo.service) {
    for (const j of jobs) {
      const { w, p } = workloadOf(j);
      const why = w.serviceUnsupported?.(p, topo.service);
      if (why) throw new UserError(`--workload ${w.name} through a Service: ${why}`);
    }
  }
  return topo;
}

/**
 * What a run across real hosts cannot do: its plan must split into the hosts' parts; the breakdown
 * needs one clock for both ends; raw frames and AF_XDP would use a real NIC directly.
 */
function hostsCheck(datapath: string, topo: Topology, job: Job): void {
  try {
    splitByHost(topo);
  } catch (e) {
    throw new UserError(`${datapath} --hosts: ${errorMessage(e)}`);
  }
  const { w, p } = workloadOf(job);
  const argvs = w.commands(topo, p, stateDir()).map((c) => c.argv);
  if (argvs.some((a) => a.includes('--stamps-out'))) {
    throw new UserError(
      "--breakdown with --hosts: it joins the client's and the server's kernel timestamps, and two hosts " +
        'have two clocks',
      'measure the breakdown on one machine (a datapath without --hosts)',
    );
  }
  const api = argvs
    .flatMap((a) => (a.includes('--api') ? [a[a.indexOf('--api') + 1]] : []))
    .find((x) => x && /^(raw|raw-mmsg|raw-ring|xdp)$/.test(x));
  if (api)
    throw new UserError(
      `--api ${api} with --hosts: raw frames and AF_XDP would use a real host's NIC directly; not across hosts`,
      'use --api send, sendmmsg or tcp',
    );
}

/**
 * What a guest endpoint cannot do yet, found in a workload's parameters (a load's probe and load are
 * nested): the breakdown joins the client's and the server's kernel timestamps, which in a guest come
 * from another clock; raw frames and AF_XDP need the endpoints' devices on the host.
 */
function guestCheck(p: unknown): void {
  if (!p || typeof p !== 'object') return;
  const o = p as Record<string, unknown>;
  if (o.breakdown === true)
    throw new UserError(
      '--breakdown with VM endpoints: it joins kernel timestamps of the client and the server, and a ' +
        "guest's clock is not the host's",
      'measure the breakdown with container endpoints',
    );
  if (typeof o.api === 'string' && /^(raw|raw-mmsg|raw-ring|xdp)$/.test(o.api))
    throw new UserError(
      `--api ${o.api} with VM endpoints: cnperf addresses raw frames and binds AF_XDP sockets by the ` +
        `endpoints' devices on the host, and a guest's eth0 is not one`,
      'use --api send, sendmmsg or tcp',
    );
  for (const v of Object.values(o)) if (v && typeof v === 'object') guestCheck(v);
}
