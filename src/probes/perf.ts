/**
 * Where the CPUs spent their time, by kernel function (--trace, when `perf` is installed): `perf
 * record` samples every CPU at 999 Hz with the cpu-clock software event (it works in VMs without a
 * PMU), and after the run `perf report` gives each kernel symbol's share of the busy samples — seed 000's
 * fib_table_lookup, nf_hook_slow, br_handle_frame. perf dies with cnperf (setpriv --pdeathsig) and
 * writes into the run's directory, which the run's journal removes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../local/command.js';
import { assertListed } from '../tools/table.js';
import type { Journal } from '../local/journal.js';
import { errorMessage } from '../util/errors.js';
import { within } from '../util/timeout.js';

export interface PerfSymbol {
  symbol: string;
  /** kernel ([k]) or user space ([.]) */
  kernel: boolean;
  /** share of all samples */
  share: number;
  /** share of the samples where the CPU was not idle */
  busy_share: number;
}

export interface PerfSummary {
  /** share of all samples spent in the idle loop */
  idle_share: number;
  top: PerfSymbol[];
}

/** The idle loop's functions: a sample there is a CPU with nothing to do. */
const IDLE = new RegExp(
  '^(pv_native_safe_halt|native_safe_halt|default_idle|default_idle_call|arch_cpu_idle|cpu_idle_poll|intel_idle|' +
    'intel_idle_irq|acpi_idle_do_entry|acpi_safe_halt|mwait_idle|poll_idle|do_idle|cpuidle_enter_state|amd_e400_idle)$',
);

/** Parses `perf report --stdio --sort sym --no-children -q` ("  12.34%  [k] fib_table_lookup"). Pure. */
export function parsePerfReport(text: string, topN = 15): PerfSummary {
  const rows: Array<{ symbol: string; kernel: boolean; share: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)%\s+\[([k.])\]\s+(.+?)\s*$/.exec(line);
    if (m) rows.push({ share: Number(m[1]) / 100, kernel: m[2] === 'k', symbol: m[3]! });
  }
  const idle = rows.filter((r) => IDLE.test(r.symbol)).reduce((a, r) => a + r.share, 0);
  const busy = 1 - idle;
  const round = (x: number) => Number(x.toFixed(4));
  return {
    idle_share: round(idle),
    // Kernel symbols only: the datapath's cost is there, and user space would mostly show cnperf's
    // own Node process reading its counters.
    top: rows
      .filter((r) => r.kernel && !IDLE.test(r.symbol))
      .slice(0, topN)
      .map((r) => ({ ...r, share: round(r.share), busy_share: busy > 0 ? round(r.share / busy) : 0 })),
  };
}

export class PerfSession {
  private constructor(
    private readonly child: ChildProcess,
    private readonly file: string,
    private readonly exited: Promise<number | null>,
  ) {}

  /** Null (and why, in problems) when perf is not installed or will not start. */
  static async start(runDir: string, journal: Journal | undefined, problems: string[]): Promise<PerfSession | null> {
    try {
      await runCommand(['perf', '--version']);
    } catch {
      problems.push('perf is not installed (Debian package linux-perf): no per-function CPU profile');
      return null;
    }
    if (!existsSync(runDir)) {
      journal?.append({ op: 'rm-dir', path: runDir });
      mkdirSync(runDir, { mode: 0o700 });
    }
    const file = path.join(runDir, 'perf.data');
    ['setpriv', 'perf'].forEach(assertListed);
    const child = spawn(
      'setpriv',
      ['--pdeathsig', 'KILL', '--', 'perf', 'record', '-a', '-q', '-e', 'cpu-clock', '-F', '999', '-o', file],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(-1));
    });
    // perf needs a moment to open its events on every CPU; one that exits at once failed.
    const early = await within(exited, 300, 'running' as const);
    if (early !== 'running') {
      problems.push(`perf record failed to start: ${stderr.trim() || `exit ${early}`}`);
      rmSync(file, { force: true });
      return null;
    }
    return new PerfSession(child, file, exited);
  }

  /** Stops sampling and reads the profile. */
  async stop(problems: string[]): Promise<PerfSummary | null> {
    try {
      this.child.kill('SIGINT');
      if ((await within(this.exited, 10_000, 'timeout' as const)) === 'timeout') {
        this.child.kill('SIGKILL');
        problems.push('perf record did not stop within 10 s');
        return null;
      }
      const { stdout } = await runCommand([
        'perf',
        'report',
        '-i',
        this.file,
        '--stdio',
        '--sort',
        'sym',
        '--no-children',
        '-q',
        '--percent-limit',
        '0.2',
      ]);
      return parsePerfReport(stdout);
    } catch (e) {
      problems.push(`perf report: ${errorMessage(e)}`);
      return null;
    } finally {
      rmSync(this.file, { force: true });
      rmSync(`${this.file}.old`, { force: true });
    }
  }

  abort(): void {
    this.child.kill('SIGKILL');
    rmSync(this.file, { force: true });
  }
}
