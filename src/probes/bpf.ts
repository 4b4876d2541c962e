/**
 * What the eBPF datapaths' own programs saw during a run: each program's run count and run time
 * (per-program statistics, on only while the run measures: cnperf-bpf stats-hold keeps them on,
 * and the kernel turns them off when it exits, even when cnperf is killed), and the actions the
 * programs counted themselves (redirect, flood, pass, drop...). Read from the run's pins.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { bpfToolPath } from '../paths.js';
import { runCommand } from '../local/command.js';
import type { Topology } from '../topology/model.js';

/** One pinned program's figures over the window. */
export interface BpfProgramReport {
  name: string;
  /** the node namespace whose object it belongs to */
  node: string;
  runs: number;
  run_ns: number;
  /** mean run time: null when it never ran */
  ns_per_run: number | null;
  /** runs per packet delivered to an endpoint: null when nothing was delivered */
  runs_per_packet: number | null;
}

export interface BpfReport {
  programs: BpfProgramReport[];
  /** the programs' own action counters, summed over nodes and CPUs */
  actions: Record<string, number>;
}

interface RawStats {
  dir: string;
  programs: Array<{ name: string; id: number; run_cnt: number; run_time_ns: number }>;
  counters: Record<string, number>;
}

export function parseBpfStats(stdout: string): RawStats[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RawStats);
}

/** The window's figures from two readings. Pure, for tests. */
export function bpfDelta(topo: Topology, before: RawStats[], after: RawStats[], packets: number): BpfReport {
  const programs: BpfProgramReport[] = [];
  const actions: Record<string, number> = {};
  for (const a of after) {
    const b = before.find((x) => x.dir === a.dir);
    const node = topo.bpf?.find((l) => l.pinDir === a.dir)?.netns ?? a.dir;
    for (const p of a.programs) {
      const p0 = b?.programs.find((x) => x.id === p.id);
      const runs = p.run_cnt - (p0?.run_cnt ?? 0);
      const ns = p.run_time_ns - (p0?.run_time_ns ?? 0);
      programs.push({
        name: p.name,
        node,
        runs,
        run_ns: ns,
        ns_per_run: runs > 0 ? Number((ns / runs).toFixed(1)) : null,
        runs_per_packet: packets > 0 ? Number((runs / packets).toFixed(3)) : null,
      });
    }
    for (const [k, v] of Object.entries(a.counters)) actions[k] = (actions[k] ?? 0) + v - (b?.counters[k] ?? 0);
  }
  programs.sort((x, y) => x.node.localeCompare(y.node) || x.name.localeCompare(y.name));
  return { programs, actions };
}

export class BpfStatsSession {
  private constructor(
    private readonly topo: Topology,
    private readonly holder: ChildProcess,
    private readonly before: RawStats[],
  ) {}

  /** null for a datapath without BPF programs. */
  static async start(topo: Topology): Promise<BpfStatsSession | null> {
    if (!topo.bpf?.length) return null;
    const holder = spawn(bpfToolPath(), ['stats-hold'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let err = '';
        holder.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        holder.stdout!.once('data', () => resolve());
        holder.once('error', reject);
        holder.once('exit', () => reject(new Error(`cnperf-bpf stats-hold: ${err.trim() || 'exited'}`)));
      });
      return new BpfStatsSession(topo, holder, await read(topo));
    } catch (e) {
      holder.kill('SIGKILL');
      throw e;
    }
  }

  async stop(packets: number): Promise<BpfReport> {
    try {
      return bpfDelta(this.topo, this.before, await read(this.topo), packets);
    } finally {
      this.abort();
    }
  }

  abort(): void {
    this.holder.stdin?.end();
  }
}

async function read(topo: Topology): Promise<RawStats[]> {
  const { stdout } = await runCommand([bpfToolPath(), 'stats', ...(topo.bpf ?? []).map((b) => b.pinDir)]);
  return parseBpfStats(stdout);
}
