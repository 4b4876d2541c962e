/**
 * Tracepoints while a workload runs (--trace): softirq durations per vector (irq:softirq_entry/exit)
 * and the packets each device handed to the stack or transmitted (net:netif_receive_skb,
 * net:net_dev_xmit), which give the stack traversals per packet (seed 000's explanation of the
 * bridge's cost). The events go to the run's own tracefs instance and are decoded from the binary
 * ring buffer after the run, so nothing formats or copies them while the workload runs.
 */
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { runCommand } from '../local/command.js';
import type { Journal } from '../local/journal.js';
import {
  findTracefs,
  isTracefsMounted,
  removeTraceInstance,
  traceInstancePath,
  TRACEFS_MOUNT,
  unmountTracefs,
} from '../local/tracefs.js';
import { Histogram } from '../stats/histogram.js';
import { dataLocString, parseEventFormat, parseRingBufferPages, type EventFormat } from './ringbuffer.js';

export const SOFTIRQ_NAMES = [
  'HI',
  'TIMER',
  'NET_TX',
  'NET_RX',
  'BLOCK',
  'IRQ_POLL',
  'TASKLET',
  'SCHED',
  'HRTIMER',
  'RCU',
];

const EVENTS = ['irq/softirq_entry', 'irq/softirq_exit', 'net/netif_receive_skb', 'net/net_dev_xmit'] as const;

export interface SoftirqStats {
  count: number;
  p50_ns: number;
  p99_ns: number;
  max_ns: number;
  total_ns: number;
}

export interface TraceSummary {
  events: number;
  /** events the kernel could not store (buffer full): figures then cover the start of the run */
  lost_events: number;
  softirq: Record<string, SoftirqStats>;
  /** netif_receive_skb per device: each is one pass of a packet into a network stack */
  receive_by_device: Record<string, number>;
  xmit_by_device: Record<string, number>;
}

export interface TraceOptions {
  runId: string;
  /** device name patterns (tracefs filter globs) of the run: its own prefix, and "lo" for loopback */
  devices: string[];
  /** per-CPU ring buffer size */
  bufferKb: number;
  /** journal of the run: the instance (and a mount) are recorded before they are made */
  journal?: Journal;
}

export class TraceUnavailable extends Error {}

/** What the events of a run add up to. Pure (given decoded events), for tests. */
export class TraceAggregator {
  private readonly softirqEntry = new Map<number, { vec: number; ts: bigint }>();
  private readonly softirqHist = new Map<number, Histogram>();
  private readonly softirqTotal = new Map<number, number>();
  readonly receive: Record<string, number> = {};
  readonly xmit: Record<string, number> = {};
  events = 0;

  constructor(private readonly formats: Record<(typeof EVENTS)[number], EventFormat>) {}

  /** Feeds one CPU's pages; softirqs are paired per CPU (they never nest on one CPU). */
  addCpuPages(cpu: number, buf: Buffer, pageSize: number): void {
    const f = this.formats;
    const ids = {
      entry: f['irq/softirq_entry'].id,
      exit: f['irq/softirq_exit'].id,
      rx: f['net/netif_receive_skb'].id,
      tx: f['net/net_dev_xmit'].id,
    };
    const vecAt = f['irq/softirq_entry'].fields.vec!.offset;
    const rxName = f['net/netif_receive_skb'].fields.name!.offset;
    const txName = f['net/net_dev_xmit'].fields.name!.offset;
    this.softirqEntry.delete(cpu);
    const st = parseRingBufferPages(buf, pageSize, (e) => {
      if (e.type === ids.entry) {
        this.softirqEntry.set(cpu, { vec: e.data.readUInt32LE(vecAt), ts: e.ts });
      } else if (e.type === ids.exit) {
        const open = this.softirqEntry.get(cpu);
        const vec = e.data.readUInt32LE(vecAt);
        if (open && open.vec === vec && e.ts >= open.ts) {
          const d = Number(e.ts - open.ts);
          let h = this.softirqHist.get(vec);
          if (!h) this.softirqHist.set(vec, (h = new Histogram()));
          h.record(d);
          this.softirqTotal.set(vec, (this.softirqTotal.get(vec) ?? 0) + d);
        }
        this.softirqEntry.delete(cpu);
      } else if (e.type === ids.rx) {
        const n = dataLocString(e.data, rxName);
        this.receive[n] = (this.receive[n] ?? 0) + 1;
      } else if (e.type === ids.tx) {
        const n = dataLocString(e.data, txName);
        this.xmit[n] = (this.xmit[n] ?? 0) + 1;
      }
    });
    this.events += st.events;
  }

  summary(lostEvents: number): TraceSummary {
    const softirq: Record<string, SoftirqStats> = {};
    for (const [vec, h] of [...this.softirqHist].sort((a, b) => a[0] - b[0])) {
      softirq[SOFTIRQ_NAMES[vec] ?? `vec${vec}`] = {
        count: h.total,
        p50_ns: h.valueAtQuantile(0.5),
        p99_ns: h.valueAtQuantile(0.99),
        max_ns: h.max,
        total_ns: this.softirqTotal.get(vec) ?? 0,
      };
    }
    return {
      events: this.events,
      lost_events: lostEvents,
      softirq,
      receive_by_device: this.receive,
      xmit_by_device: this.xmit,
    };
  }
}

/** A tracefs filter matching the run's devices: `name ~ "cnpabc123-*" || name == "lo"`. */
export function deviceFilter(devices: readonly string[]): string {
  return devices.map((d) => (d.includes('*') ? `name ~ "${d}"` : `name == "${d}"`)).join(' || ');
}

/** Sums the "dropped events" and "overrun" lines of per_cpu/cpuN/stats. Pure. */
export function parseLostEvents(stats: string): number {
  let lost = 0;
  for (const m of stats.matchAll(/^(?:dropped events|overrun): (\d+)$/gm)) lost += Number(m[1]);
  return lost;
}

export class TraceSession {
  private constructor(
    private readonly instance: string,
    private readonly mountedByUs: boolean,
    private readonly formats: Record<(typeof EVENTS)[number], EventFormat>,
  ) {}

  /** Creates the run's instance, enables the events and starts recording. */
  static async start(o: TraceOptions): Promise<TraceSession> {
    let root = findTracefs();
    let mounted = false;
    if (!root) {
      if (!existsSync(TRACEFS_MOUNT))
        throw new TraceUnavailable(`--trace: this kernel has no tracefs (${TRACEFS_MOUNT} is missing; CONFIG_TRACING)`);
      o.journal?.append({ op: 'umount-tracefs', path: TRACEFS_MOUNT });
      await runCommand(['mount', '-t', 'tracefs', 'nodev', TRACEFS_MOUNT]);
      mounted = isTracefsMounted(TRACEFS_MOUNT);
      root = findTracefs();
      if (!root) throw new TraceUnavailable(`--trace: tracefs mounted at ${TRACEFS_MOUNT} has no instances directory`);
    }
    const instance = traceInstancePath(root, o.runId);
    o.journal?.append({ op: 'rm-trace-instance', path: instance });
    try {
      mkdirSync(instance);
      const w = (file: string, value: string) => writeFileSync(path.join(instance, file), value);
      w('tracing_on', '0'); // a new instance records from birth: nothing before the events are set up
      const formats = {} as Record<(typeof EVENTS)[number], EventFormat>;
      for (const e of EVENTS) {
        const dir = path.join(instance, 'events', e);
        if (!existsSync(dir))
          throw new TraceUnavailable(`--trace: this kernel has no ${e.replace('/', ':')} tracepoint`);
        formats[e] = parseEventFormat(readFileSync(path.join(dir, 'format'), 'utf8'));
      }
      w('buffer_size_kb', String(o.bufferKb));
      w('options/overwrite', '0'); // when full, keep the start of the run and count what is lost
      w('trace_clock', 'local');
      for (const e of ['net/netif_receive_skb', 'net/net_dev_xmit']) w(`events/${e}/filter`, deviceFilter(o.devices));
      for (const e of EVENTS) w(`events/${e}/enable`, '1');
      w('tracing_on', '1');
      return new TraceSession(instance, mounted, formats);
    } catch (e) {
      await removeAll(instance, mounted);
      throw e;
    }
  }

  /** Stops recording, decodes the buffers, removes the instance (and the mount, if ours). */
  async stop(): Promise<TraceSummary> {
    try {
      writeFileSync(path.join(this.instance, 'tracing_on'), '0');
      const agg = new TraceAggregator(this.formats);
      const pageSize = subBufferBytes(this.instance);
      let lost = 0;
      for (const cpuDir of readdirSync(path.join(this.instance, 'per_cpu'))) {
        const cpu = Number(/^cpu(\d+)$/.exec(cpuDir)?.[1]);
        if (!Number.isInteger(cpu)) continue;
        lost += parseLostEvents(readFileSync(path.join(this.instance, 'per_cpu', cpuDir, 'stats'), 'utf8'));
        agg.addCpuPages(
          cpu,
          readPipeRaw(path.join(this.instance, 'per_cpu', cpuDir, 'trace_pipe_raw'), pageSize),
          pageSize,
        );
      }
      return agg.summary(lost);
    } finally {
      await this.remove();
    }
  }

  async remove(): Promise<void> {
    await removeAll(this.instance, this.mountedByUs);
  }

  /** The instance only (the error path, where the run's journal teardown unmounts what we mounted). */
  removeSync(): void {
    try {
      removeTraceInstance(this.instance);
    } catch {
      /* the journal's teardown retries */
    }
  }
}

async function removeAll(instance: string, mounted: boolean): Promise<void> {
  removeTraceInstance(instance);
  if (mounted) await unmountTracefs(TRACEFS_MOUNT, runCommand);
}

function subBufferBytes(instance: string): number {
  try {
    return Number(readFileSync(path.join(instance, 'buffer_subbuf_size_kb'), 'utf8').trim()) * 1024 || 4096;
  } catch {
    return 4096; // older kernels: one page
  }
}

/** Everything left in one CPU's buffer (recording stopped): whole sub-buffers until it is empty. */
function readPipeRaw(file: string, pageSize: number): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  const pages: Buffer[] = [];
  try {
    for (;;) {
      // Whole sub-buffers: a short read is still one page (zero-filled past what it held).
      const page = Buffer.alloc(pageSize);
      let n: number;
      try {
        n = readSync(fd, page, 0, pageSize, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
      if (n <= 0) break;
      pages.push(page);
    }
  } finally {
    closeSync(fd);
  }
  return Buffer.concat(pages);
}
