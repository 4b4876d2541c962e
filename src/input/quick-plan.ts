/**
 * What `cnperf quick` (and each case of an experiment) will do, from datapath names and option
 * values: the jobs of one workload and the datapath options, all checked — and every datapath planned
 * once — before anything touches the host. Pure. The values are raw (strings, true for flags), as
 * they come from argv or from an experiment file; the option table parses them.
 */
import { getDatapath } from '../datapaths/registry.js';
import type { DatapathOptions } from '../datapaths/types.js';
import { usageHint } from '../util/usage.js';
import { UserError } from '../util/errors.js';
import { getWorkload, jobsOf, planForJobs, rawApisOf, type Job } from '../workloads/registry.js';
import type { WorkloadName } from '../workloads/results.js';
import { datapathOptions } from './datapath-options.js';
import {
  OPTIONS,
  parseOptionValues,
  workloadOptionNames,
  type OptionName,
  type OptionValues,
} from '../options/options.js';

export interface QuickPlan {
  datapaths: string[];
  workload: WorkloadName;
  /** the options of each family measured (--ip dual: IPv4's, then IPv6's; else one) */
  datapathOptions: DatapathOptions[];
  jobs: Job[];
  values: OptionValues;
}

export type RawValues = Readonly<Record<string, string | boolean | undefined>>;

export function planQuick(datapaths: readonly string[], raw: RawValues, usage?: string): QuickPlan {
  if (datapaths.length === 0)
    throw new UserError('quick: name at least one datapath', usage ? usageHint('quick', usage) : undefined);
  for (const d of datapaths) getDatapath(d); // unknown names fail here, with a suggestion
  const dup = datapaths.find((d, i) => datapaths.indexOf(d) !== i);
  if (dup) throw new UserError(`quick: datapath '${dup}' named twice`);
  const workloadName = typeof raw.workload === 'string' ? raw.workload : 'rtt';
  const workload = getWorkload(workloadName);
  const own = workloadOptionNames(workload.name);
  const foreign = Object.keys(raw).find((k) => {
    const f = OPTIONS[k as OptionName]?.for;
    return (
      raw[k] !== undefined && f !== undefined && f !== 'output' && f !== 'datapath' && !own.includes(k as OptionName)
    );
  });
  if (foreign) {
    const takes = Object.keys(OPTIONS).filter(
      (k) =>
        OPTIONS[k as OptionName].for === 'output' ||
        OPTIONS[k as OptionName].for === 'datapath' ||
        own.includes(k as OptionName),
    );
    throw new UserError(
      `--${foreign} does not apply to --workload ${workload.name}`,
      `options of --workload ${workload.name}: ${takes.map((k) => `--${k}`).join(' ')}`,
    );
  }
  const values = parseOptionValues(raw);
  const jobs = jobsOf(workload.name as WorkloadName, (w) => w.parse(values));
  const single = datapathOptions(values, datapaths);
  const { ip: _ip, ...v4 } = single;
  const families = values.ip === 'dual' ? [v4, { ...v4, ip: 6 as const }] : [single];
  const rawApis = rawApisOf(jobs);
  for (const d of datapaths)
    for (const dpOptions of families) {
      // Plans are pure: planning every case now finds every refusal before anything is built.
      const topo = planForJobs(d, jobs, dpOptions, 'aaaaaa');
      if (topo.rawUnsupported && rawApis.length) throw new UserError(`datapath '${d}': ${topo.rawUnsupported}`);
      if (topo.xdpUnsupported && rawApis.includes('xdp'))
        throw new UserError(`datapath '${d}' with --api xdp: ${topo.xdpUnsupported}`);
    }
  return {
    datapaths: [...datapaths],
    workload: workload.name as WorkloadName,
    datapathOptions: families,
    jobs,
    values,
  };
}
