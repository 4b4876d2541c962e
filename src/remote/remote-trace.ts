/**
 * --trace on a real host: the run's own tracefs instance there, set up and read as on this machine
 * (src/probes/tracepoints.ts) — the same events, filters and buffers — but through ssh: one call to
 * set it up (after its removal, and a mount of tracefs if the host had none, are journaled on the
 * host), one to stop it and read each CPU's counters, and one per CPU for its raw ring buffer, which
 * is decoded here by the same aggregator.
 */
import { parseEventFormat, type EventFormat } from '../probes/ringbuffer.js';
import {
  deviceFilter,
  parseLostEvents,
  TraceAggregator,
  TraceUnavailable,
  type TraceSummary,
} from '../probes/tracepoints.js';
import type { RemoteHost } from './remote-host.js';
import type { RemoteJournal } from './remote-journal.js';
import { sections, sh } from '../util/shell.js';

const EVENTS = ['irq/softirq_entry', 'irq/softirq_exit', 'net/netif_receive_skb', 'net/net_dev_xmit'] as const;
const MOUNT = '/sys/kernel/tracing';

/** $1 instance, $2 buffer KB, $3 the device filter: set up, print each event's format, start. */
const SETUP = `i=$1
mkdir "$i" || exit 1
echo 0 > "$i/tracing_on"
for e in ${EVENTS.join(' ')}; do
  [ -d "$i/events/$e" ] || { echo "no $e tracepoint" >&2; exit 5; }
  printf '\\n@@%s\\n' "$e"; cat "$i/events/$e/format"
done
echo "$2" > "$i/buffer_size_kb" && echo 0 > "$i/options/overwrite" && echo local > "$i/trace_clock" || exit 1
for e in net/netif_receive_skb net/net_dev_xmit; do echo "$3" > "$i/events/$e/filter" || exit 1; done
for e in ${EVENTS.join(' ')}; do echo 1 > "$i/events/$e/enable" || exit 1; done
echo 1 > "$i/tracing_on"`;

/** $1 instance: stop, then the sub-buffer size and each CPU's lost-event counters. */
const STOP = `i=$1
echo 0 > "$i/tracing_on"
printf '@@page %s\\n' "$(cat "$i/buffer_subbuf_size_kb" 2>/dev/null || echo 4)"
for d in "$i"/per_cpu/cpu*; do printf '\\n@@%s\\n' "\${d##*/}"; cat "$d/stats"; done`;

export class RemoteTrace {
  private constructor(
    private readonly host: RemoteHost,
    private readonly instance: string,
    private readonly mounted: boolean,
    private readonly formats: Record<(typeof EVENTS)[number], EventFormat>,
  ) {}

  static async start(
    host: RemoteHost,
    journal: RemoteJournal,
    o: { runId: string; devices: string[]; bufferKb: number },
  ): Promise<RemoteTrace> {
    const where = (
      await host.ssh.run(
        sh(
          'for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do [ -d "$t/instances" ] && { echo "$t"; ' +
            'exit 0; }; done; [ -d /sys/kernel/tracing ] && echo none || echo absent',
        ),
      )
    ).stdout.trim();
    let root = where;
    let mounted = false;
    if (where === 'absent')
      throw new TraceUnavailable(
        `--trace: host ${host.name}'s kernel has no tracefs (${MOUNT} is missing; CONFIG_TRACING)`,
      );
    if (where === 'none') {
      await journal.append({ op: 'umount-tracefs', path: MOUNT });
      await host.ssh.run(['mount', '-t', 'tracefs', 'nodev', MOUNT]);
      mounted = true;
      root = MOUNT;
    }
    // named for the host too: hosts that share one kernel (the simulated ones) must not share an instance
    const instance = `${root}/instances/cnperf-${o.runId}-${host.name}`;
    await journal.append({ op: 'rm-trace-instance', path: instance });
    const r = await host.ssh.tryRun(sh(SETUP, instance, String(o.bufferKb), deviceFilter(o.devices)));
    if (r.code !== 0) {
      await removeInstance(host, instance, mounted);
      throw new TraceUnavailable(`--trace on host ${host.name}: ${r.stderr.trim() || `setting up ${instance} failed`}`);
    }
    const formats = {} as Record<(typeof EVENTS)[number], EventFormat>;
    for (const [e, text] of sections(r.stdout)) formats[e as (typeof EVENTS)[number]] = parseEventFormat(text);
    return new RemoteTrace(host, instance, mounted, formats);
  }

  /** Stops recording, decodes every CPU's buffer, removes the instance (and the mount, if ours). */
  async stop(): Promise<TraceSummary> {
    try {
      const out = (await this.host.ssh.run(sh(STOP, this.instance))).stdout;
      const pageSize = Number(/^@@page (\d+)/m.exec(out)?.[1] ?? 4) * 1024;
      const agg = new TraceAggregator(this.formats);
      let lost = 0;
      for (const [dir, stats] of sections(out)) {
        const cpu = Number(/^cpu(\d+)$/.exec(dir)?.[1]);
        if (!Number.isInteger(cpu)) continue;
        lost += parseLostEvents(stats);
        // whole sub-buffers until the buffer is empty (a short read padded to one, as tracefs pages are)
        const raw = await this.host.ssh.readOutput(
          sh(
            'dd if="$1" of=/dev/stdout iflag=nonblock bs="$2" conv=sync status=none 2>/dev/null; true',
            `${this.instance}/per_cpu/cpu${cpu}/trace_pipe_raw`,
            String(pageSize),
          ),
        );
        agg.addCpuPages(cpu, raw, pageSize);
      }
      return agg.summary(lost);
    } finally {
      await removeInstance(this.host, this.instance, this.mounted);
    }
  }

  /** On the error path: the instance goes (the run's journal on the host unmounts what was mounted). */
  async abort(): Promise<void> {
    await removeInstance(this.host, this.instance, false).catch(() => {});
  }
}

/** $1 instance: stop it and remove it (tracefs frees its buffers with it); exit 3 if it is not there. */
export const REMOVE_INSTANCE = `[ -d "$1" ] || exit 3; echo 0 > "$1/tracing_on" 2>/dev/null; rmdir "$1"`;

async function removeInstance(host: RemoteHost, instance: string, mounted: boolean): Promise<void> {
  await host.ssh.tryRun(sh(REMOVE_INSTANCE, instance));
  if (mounted) await host.ssh.tryRun(['umount', MOUNT]);
}
