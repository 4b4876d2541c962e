/**
 * `cnperf doctor`: can this machine run cnperf's datapaths, and what will add noise to them?
 * Datapaths are checked for real: each is built in fresh namespaces and torn down again, and one that
 * cannot be built says why in the user's terms (e.g. the kernel feature it lacks, the package to
 * install). Building disturbs a measurement, so doctor takes the measurement lock like `quick` does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { DATAPATHS } from '../datapaths/registry.js';
import { collectEnvironment } from '../env/environment.js';
import { bpfToolPath, wirePath } from '../paths.js';
import { onPath, runCommand } from '../local/command.js';
import { probeEngineVersion } from '../engine-client/supervisor.js';
import { explainBuildFailure, OPTION_TOOLS, planDatapath } from '../datapaths/plan.js';
import type { Datapath } from '../datapaths/types.js';
import { locateTool, missingTools, toolEntry } from '../tools/table.js';
import { buildTopology } from '../runner/build.js';
import { withSession } from '../runner/session.js';
import { UserError, errorMessage } from '../util/errors.js';
import { vmDoctorLines } from '../vm/vm-doctor.js';
import { parseCommandArgs, str } from './args.js';
import { hostsDoctor } from './doctor-hosts.js';
import { loadHostsFile } from '../input/hosts-file.js';

export const DOCTOR_OPTIONS = { hosts: { type: 'string' as const } };
export const DOCTOR_USAGE = `cnperf doctor [--hosts FILE]
  builds every datapath here (or, with --hosts, on those hosts) and removes it; names what is missing
  and what adds noise. Exit 1 only when the basics are broken (root, iproute2, the engine).`;

type Out = (mark: string, what: string, detail?: string) => void;

/** Builds each datapath in every placement it supports, and removes it again; returns how many could not. */
async function checkDatapaths(out: Out): Promise<number> {
  let unavailable = 0;
  const missing = (tools: readonly string[]) => tools.filter((t) => locateTool(toolEntry(t)) === undefined);
  const named = (t: string) => `${t} is not installed (Debian package ${toolEntry(t).package})`;
  for (const d of DATAPATHS) {
    for (const placement of d.placements) {
      const what = `datapath ${d.name}${d.placements.length > 1 ? ` (${placement})` : ''}`;
      try {
        const lacking = missing(d.tools ?? []);
        if (lacking.length) throw new UserError(lacking.map(named).join('; '));
        out('ok  ', what, d.doctor ? `${d.description}; ${d.doctor()}` : await buildAndRemove(d, placement));
      } catch (e) {
        unavailable++;
        out(
          'no  ',
          what,
          e instanceof UserError
            ? errorMessage(e) + (e.hint ? ` (${e.hint})` : '')
            : explainBuildFailure(d, errorMessage(e)),
        );
      }
    }
  }
  for (const t of missing(OPTION_TOOLS)) out('note', `${named(t)}: options that need it will fail`);
  return unavailable;
}

async function buildAndRemove(d: Datapath, placement: Datapath['placements'][number]): Promise<string> {
  const topo = planDatapath(d.name, undefined, 1, { placement });
  const host = await buildTopology(topo, 'run');
  const t = await host.teardown();
  if (t.failed.length) throw new Error(`teardown: ${t.failed.map((f) => f.error).join('; ')}`);
  // what the build found (how podman had to be run here)
  const found = d.describe?.(topo);
  const how = found ? `; ${found}` : '';
  return d.description + how;
}

/**
 * What the eBPF datapaths and AF_XDP need from this kernel, each named (cnperf-bpf probe asks the
 * kernel itself: prog types and helpers it loads, the tcx attach type, AF_XDP sockets, bpffs).
 * Missing features are facts about the kernel: the datapath checks below say which datapath they stop.
 */
async function checkBpf(out: Out): Promise<void> {
  try {
    const { stdout } = await runCommand([bpfToolPath(), 'probe']);
    for (const line of stdout.trim().split('\n')) {
      const [name, yes, detail] = line.split('\t');
      out(yes === 'yes' ? 'ok  ' : 'no  ', `eBPF ${name}`, detail);
    }
  } catch (e) {
    out(
      'no  ',
      'eBPF loader (cnperf-bpf)',
      `${errorMessage(e)}: the xdp and tcx datapaths need it (install clang and libbpf-dev, as ` +
        `scripts/setup.sh does, then 'npm run build')`,
    );
  }
}

/**
 * kube-proxy's modes (--service-proxy): iptables and nftables need their tools (their kernel side is
 * what the bridge and routed builds below exercise with rules); IPVS mode needs the kernel's ip_vs,
 * which shows as /proc/net/ip_vs — cnperf does not build IPVS mode (yet), and says whether it could.
 */
function checkServiceProxies(out: (mark: string, what: string, detail?: string) => void): void {
  for (const [mode, tool] of [
    ['iptables', 'iptables-restore'],
    ['nftables', 'nft'],
  ] as const) {
    onPath(tool)
      ? out('ok  ', `--service-proxy ${mode}`, `${tool} found`)
      : out('no  ', `--service-proxy ${mode}`, `${tool} not found (apt-get install ${toolEntry(tool).package})`);
  }
  existsSync('/proc/net/ip_vs')
    ? out('info', 'kube-proxy IPVS mode', 'this kernel has ip_vs; cnperf does not build IPVS Services yet')
    : out(
        'no  ',
        'kube-proxy IPVS mode',
        'this kernel has no ip_vs (no /proc/net/ip_vs); cnperf does not build IPVS Services either',
      );
}

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
  const p = parseCommandArgs('doctor', argv, DOCTOR_OPTIONS, DOCTOR_USAGE);
  const file = str(p, 'hosts');
  if (file) return hostsDoctor(loadHostsFile(file));
  const out = (mark: string, what: string, detail = '') =>
    process.stdout.write(`${mark} ${what}${detail ? `: ${detail}` : ''}\n`);
  let bad = 0;
  let unavailable = 0;
  const isRoot = process.getuid?.() === 0;
  isRoot
    ? out('ok  ', 'running as root')
    : (bad++, out('FAIL', 'running as root', 'cnperf builds namespaces and links; run as root'));
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
  // Every datapath's kernel steps go through cnperf-wire (src/local/wire.ts).
  let wireOk = false;
  try {
    const { stdout } = await runCommand([wirePath(), 'version']);
    wireOk = stdout.trim() === engineVersion;
    wireOk
      ? out('ok  ', 'cnperf-wire', `version ${stdout.trim()}`)
      : (bad++,
        out(
          'FAIL',
          'cnperf-wire',
          `version ${stdout.trim()}, the engine's is ${engineVersion ?? '–'}: rebuild both with 'npm run build'`,
        ));
  } catch (e) {
    bad++;
    out('FAIL', 'cnperf-wire', `${errorMessage(e)} (build it with 'npm run build')`);
  }
  // The tool table's programs cnperf runs: each missing one with its package and what needs it.
  const lacking = missingTools(['run']);
  for (const t of lacking)
    out(
      t.optional ? 'info' : 'note',
      `${t.program ?? t.path} is not installed`,
      `Debian package ${t.package}; needed by ${t.neededBy}`,
    );
  if (!lacking.some((t) => !t.optional))
    out('ok  ', 'tools', 'every program cnperf runs is installed (src/tools/tools.json)');
  await checkBpf(out);
  checkServiceProxies(out);
  // what datapaths need beyond tools (hugepages, vhost-user), each hook once (testpmd and ovs-dpdk share theirs)
  const datapathLines = [...new Set(DATAPATHS.flatMap((d) => (d.doctorLines ? [d.doctorLines] : [])))];
  for (const [mark, what, detail] of [...vmDoctorLines(), ...datapathLines.flatMap((f) => f())])
    out(mark, what, detail);
  // Without root nothing can be built; with it, the builds hold the measurement lock.
  if (isRoot && engineVersion && wireOk)
    unavailable = await withSession({ command: 'doctor', owner: 'doctor' }, () => checkDatapaths(out));
  const env = collectEnvironment(engineVersion);
  const noise: string[] = [];
  if (env.governor && env.governor !== 'performance')
    noise.push(`CPU governor is '${env.governor}' (performance gives steadier latency)`);
  if (env.smt === '1') noise.push('SMT is on: a sibling thread shares the core with the engine');
  if (env.virtualization) noise.push(`virtualized (${env.virtualization}): the hypervisor adds its own latency tail`);
  if (!env.preemption?.startsWith('PREEMPT_RT'))
    noise.push(`kernel preemption: ${env.preemption ?? 'unknown'} (PREEMPT_RT shortens worst cases, seed 000)`);
  if (irqbalanceRunning()) noise.push('irqbalance is running: it moves interrupts between CPUs while you measure');
  if (env.cpu_count < 3)
    noise.push(`${env.cpu_count} CPUs: client, server and softirq work share them; pin with --cpus`);
  out('info', 'kernel', `${env.kernel} ${env.preemption ?? ''}`.trim());
  out('info', 'clocksource', env.clocksource ?? 'unknown');
  for (const n of noise) out('note', n);
  if (unavailable)
    out('info', `${unavailable} datapath placement(s) unavailable on this machine (see 'no' lines); the others work`);
  // Missing datapaths are facts about this kernel, not failures of cnperf: only broken basics fail.
  return bad ? 1 : 0;
}
