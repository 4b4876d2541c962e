/**
 * The experiment file: one zod schema is the single source of truth, for validation here and for
 * the JSON Schema `cnperf schema` prints (editors complete and check files with it).
 *
 * Parameters use the names and value syntax of `cnperf quick`'s options (count: 10000,
 * interval: 1ms, rate: 250k), so a case is exactly a quick command and is checked by the same code.
 * A list value is a matrix axis: every combination of every list is one case.
 */
import { z } from 'zod/v4';
import { EXPERIMENT_PARAM_NAMES, OPTIONS, type OptionDef } from '../options/options.js';
import { WORKLOAD_NAMES } from '../workloads/registry.js';

/** What an experiment's `params` may set: the option table's datapath and workload options. */
export const PARAM_NAMES: readonly string[] = EXPERIMENT_PARAM_NAMES;

const Scalar = z.union([z.string().max(200), z.number(), z.boolean()]);
/** A value of one option (a flag takes true/false), or a list of them: a matrix axis. */
function paramValue(name: string) {
  const d = OPTIONS[name as keyof typeof OPTIONS] as OptionDef<unknown>;
  const one = d.type === 'boolean' ? z.boolean() : z.union([z.string().max(200), z.number()]);
  return z.union([one, z.array(one).min(1).max(100)]).describe(`${d.help}; a list is a matrix axis`);
}
const Params = z
  .strictObject(Object.fromEntries(PARAM_NAMES.map((k) => [k, paramValue(k).optional()])))
  .describe("cnperf quick's options, by name without the dashes; a list is a matrix axis");

const Name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63 characters');

const Expect = z
  .array(z.string().max(200))
  .min(1)
  .max(50)
  .describe(
    'pass/fail conditions, "METRIC OP VALUE": "p99 < 200us", "rx_pps > 200k", "loss < 0.1%", ' +
      '"transactions_per_s > 5k" (cnperf run --check, cnperf check)',
  );

const DatapathEntry = z.union([
  z.string().max(32).describe('a datapath name'),
  z
    .strictObject({
      datapath: z.string().max(32).describe('a datapath name'),
      label: Name.optional().describe('how this case is named in tables and plots (default: the datapath)'),
      params: Params.optional(),
      expect: Expect.optional(),
    })
    .describe('a datapath with its own options and expectations'),
]);

const Override = z.strictObject({
  when: z
    .strictObject({
      datapath: z.string().max(32).optional(),
      label: z.string().max(63).optional(),
      params: z.record(z.string(), Scalar).optional().describe('cases whose parameter has this value'),
    })
    .describe('which cases the override applies to (all conditions must hold)'),
  params: Params,
});

const Duration = z.string().regex(/^\d+(\.\d+)?(ns|us|ms|s)$|^0$/, 'a duration: 500ms, 2s');

const Scale = z.strictObject({
  repeats: z.number().int().min(1).max(100).optional(),
  params: Params.optional(),
  datapaths: z.array(DatapathEntry).min(1).max(64).optional().describe('replaces the datapaths at this scale'),
  cooldown: Duration.optional().describe('replaces the pause between cases at this scale'),
});

export const Experiment = z
  .strictObject({
    name: Name.describe('the experiment, in stored results and reports'),
    description: z.string().max(4000).optional(),
    workload: z
      .union([
        z.enum(WORKLOAD_NAMES as [string, ...string[]]),
        z
          .array(z.enum(WORKLOAD_NAMES as [string, ...string[]]))
          .min(1)
          .max(WORKLOAD_NAMES.length),
      ])
      .describe(
        'what to measure; a list measures every case with each (each case gets the parameters that apply to ' +
          'its workload)',
      ),
    datapaths: z.array(DatapathEntry).min(1).max(64),
    hosts: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        'real hosts over ssh: an inventory file (relative to this file; see cnperf quick --hosts); the ' +
          "datapaths' nodes are those hosts",
      ),
    params: Params.optional(),
    expect: Expect.optional().describe('conditions every case must meet (cnperf run --check exits 1 when one fails)'),
    repeats: z.number().int().min(1).max(100).default(1).describe('each case is measured this many times'),
    cooldown: Duration.default('0').describe('pause between cases'),
    trace: z.boolean().default(false).describe('tracepoints and perf for every case (see cnperf quick --trace)'),
    overrides: z.array(Override).max(100).optional(),
    scales: z
      .strictObject({ quick: Scale.optional(), full: Scale.optional() })
      .optional()
      .describe('what changes at `--scale quick` (minutes) and `--scale full` (the paper’s parameters)'),
  })
  .describe('a cnperf experiment: datapaths × workload parameters, repeated');

export type Experiment = z.infer<typeof Experiment>;
export type ParamsSpec = z.infer<typeof Params>;
export type DatapathSpec = z.infer<typeof DatapathEntry>;

/** The workloads an experiment measures, in file order. */
export function workloadsOf(spec: Pick<Experiment, 'workload'>): string[] {
  return Array.isArray(spec.workload) ? spec.workload : [spec.workload];
}

export function experimentJsonSchema(): unknown {
  return { ...z.toJSONSchema(Experiment, { io: 'input' }), title: 'cnperf experiment' };
}
