/**
 * What a workload is: one module that owns its options' meaning, its engine command lines (the same
 * builders serve the run and --dry-run), its run, and the typed result it shapes. The runner only
 * orchestrates: plan → build → run a workload with probes → store → teardown. A new workload is one
 * module plus one line in ./registry.ts (and its options in src/options/options.ts).
 */
import type { IntervalEvent } from '../engine-client/protocol.js';
import type { OptionValues } from '../options/options.js';
import type { BreakdownSummary } from '../stats/breakdown.js';
import type { ServicePath, Topology } from '../topology/model.js';

export interface RunContext {
  stop: { readonly requested: boolean };
  progress: (msg: string) => void;
  /** a directory for the engines' sample files */
  workDir: string;
  /** each engine interval as it arrives (a stream's seconds), for the live feed */
  onInterval?: (flow: number, ev: IntervalEvent) => void;
}

/** What a workload's run contributes to a run record; S, E and R are its summary, engine counters and series. */
export interface Outcome<S, E, R> {
  /** what went wrong while still producing a result, else null */
  problem: string | null;
  samples: number;
  lost: number;
  summary: S | null;
  engine: E | null;
  histogram: Buffer | null;
  raw: Buffer | null;
  series: R | null;
  breakdown?: BreakdownSummary | null;
}

/** An engine command line as a run executes it: for --dry-run and for the test that compares them. */
export interface EngineCommand {
  argv: string[];
  /** what a dry run cannot know yet (the port the server reports, a MAC address) */
  note?: string;
}

export interface Workload<P, O extends Outcome<unknown, unknown, unknown>> {
  name: string;
  /** one line for the usage text */
  description: string;
  /** parsed options → one job per variant (e.g. one per --api); throws a UserError on bad values */
  parse(v: OptionValues): P[];
  /** client/server pairs the topology needs (flows at once) */
  pairsNeeded(p: P): number;
  /** the transport its traffic uses (a Service's rules match it); absent: udp */
  transport?(p: P): 'tcp' | 'udp';
  /** why it cannot run through this Service (--service-proxy), if it cannot */
  serviceUnsupported?(p: P, service: ServicePath): string | null;
  /** the sending APIs whose frames need raw support from the datapath (raw, raw-mmsg, raw-ring, xdp), if any */
  rawApi(p: P): string | null;
  /** [client, server] CPUs the engines are pinned to, for the probes' per-endpoint CPU split */
  cpus(p: P): [number, number] | undefined;
  /** roughly how many packets it carries (sizes trace buffers; never a limit) */
  expectedPackets(p: P): number;
  /** the progress line while it runs */
  describe(p: P): string;
  /** one line under the results table: how it was measured */
  footer(p: P): string;
  /** its parameters as stored and printed in --json (snake_case, units in names) */
  record(p: P): Record<string, unknown>;
  /** the engine command lines a run executes, as --dry-run prints them */
  commands(topo: Topology, p: P, workDir: string): EngineCommand[];
  run(topo: Topology, p: P, ctx: RunContext): Promise<O>;
}
