/**
 * `cnperf doctor`: can this machine run cnperf's datapaths, and what will add noise to them?
 * Datapaths are checked for real: each is built in fresh namespaces and torn down again, and one that
 * cannot be built says why in the user's terms (e.g. the kernel feature it lacks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { DATAPATHS } from '../datapaths/registry.js';
import { collectEnvironment } from '../env/environment.js';
import { runCommand } from '../host/command.js';
import { probeEngineVersion } from '../engine/supervisor.js';
import { buildTopology, explainBuildFailure, planDatapath } from '../runner/measure.js';
import { installStopHandlers } from '../runner/signals.js';
import { UserError, errorMessage } from '../util/errors.js';
import { findPlugin } from '../cni/plugin.js';
import { parseCommandArgs } from './args.js';

function irqbalanceRunning(): boolean {
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'irqbalance') return true;
    } catch {
      /* exited while we looked */
    }
  }
  return false;
}

export async function doctorCommand(argv: string[]): Promise<number> {
  parseCommandArgs('doctor', argv, {}, 'cnperf doctor');
  const out = (mark: string, what: string, detail = '') => process.stdout.write(`${mark} ${what}${detail ? `: ${detail}` : ''}\n`);
  let bad = 0;
  let unavailable = 0;
  const isRoot = process.getuid?.() === 0;
  isRoot ? out('ok  ', 'running as root') : (bad++, out('FAIL', 'running as root', 'cnperf builds namespaces and links; run as root'));
  try {
    const { stdout } = await runCommand(['ip', '-V']);
    out('ok  ', 'iproute2', stdout.trim());
  } catch (e) {
    bad++;
    out('FAIL', 'iproute2', `${errorMessage(e)} (apt-get install iproute2)`);
  }
  let engineVersion: string | null = null;
  try {
    engineVersion = await probeEngineVersion();
    out('ok  ', 'cnperf-engine', `version ${engineVersion}`);
  } catch (e) {
    bad++;
    out('FAIL', 'cnperf-engine', errorMessage(e));
  }
  if (isRoot) {
    installStopHandlers();
    // Each datapath is built for real in every placement it supports, and removed again.
    for (const d of DATAPATHS) {
      for (const placement of d.placements) {
        const what = `datapath ${d.name}${d.placements.length > 1 ? ` (${placement})` : ''}`;
        if (d.name === 'cni') {
          // Built from the user's own configuration: what can be checked here is the plugins.
          try {
            out('ok  ', what, `${d.description}; plugins: ${findPlugin('bridge').replace(/\/bridge$/, '')}`);
          } catch (e) {
            unavailable++;
            out('no  ', what, errorMessage(e) + (e instanceof UserError && e.hint ? ` (${e.hint})` : ''));
          }
          continue;
        }
        try {
          const host = await buildTopology(planDatapath(d.name, undefined, 1, { placement }), 'run');
          const t = await host.teardown();
          if (t.failed.length) throw new Error(`teardown: ${t.failed.map((f) => f.error).join('; ')}`);
          out('ok  ', what, d.description);
        } catch (e) {
          unavailable++;
          out('no  ', what, explainBuildFailure(errorMessage(e)));
        }
      }
    }
  }
  const env = collectEnvironment(engineVersion);
  const noise: string[] = [];
  if (env.governor && env.governor !== 'performance') noise.push(`CPU governor is '${env.governor}' (performance gives steadier latency)`);
  if (env.smt === '1') noise.push('SMT is on: a sibling thread shares the core with the engine');
  if (env.virtualization) noise.push(`virtualized (${env.virtualization}): the hypervisor adds its own latency tail`);
  if (!env.preemption?.startsWith('PREEMPT_RT')) noise.push(`kernel preemption: ${env.preemption ?? 'unknown'} (PREEMPT_RT shortens worst cases, seed 000)`);
  if (irqbalanceRunning()) noise.push('irqbalance is running: it moves interrupts between CPUs while you measure');
  if (env.cpu_count < 3) noise.push(`${env.cpu_count} CPUs: client, server and softirq work share them; pin with --cpus`);
  out('info', 'kernel', `${env.kernel} ${env.preemption ?? ''}`.trim());
  out('info', 'clocksource', env.clocksource ?? 'unknown');
  for (const n of noise) out('note', n);
  if (unavailable) out('info', `${unavailable} datapath placement(s) unavailable on this machine (see 'no' lines); the others work`);
  // Missing datapaths are facts about this kernel, not failures of cnperf: only broken basics fail.
  return bad ? 1 : 0;
}
