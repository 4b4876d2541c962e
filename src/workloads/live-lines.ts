/**
 * `--live` / `-i N`: a stream's seconds as they happen, one line per interval on stderr as iperf3 prints
 * them, the final table unchanged. The engines report each whole second (their `interval` events); a line
 * covers N of them and is printed once every flow's receiver and sender have reported its last second (a
 * sender that has finished reports no more), summed over the flows: sent and received rates, Gbit/s
 * received, drops, and for TCP the senders' retransmits and the first sender's cwnd.
 */
import type { IntervalEvent } from '../engine-client/protocol.js';

interface Second {
  rx?: IntervalEvent;
  tx?: IntervalEvent;
}

const rate = (n: number, ns: number) => (n * 1e9) / ns;
const kpps = (pps: number) => `${(pps / 1000).toFixed(1)} kpps`;

export class LiveLines {
  /** per flow, the seconds reported so far, by the engines' second index */
  private readonly flows: Array<Map<number, Second>>;
  /** flows whose sender has finished: the seconds after its last are the receiver's alone */
  private readonly sendersDone = new Set<number>();
  private printedUpTo = 0;

  constructor(
    flows: number,
    private readonly every: number,
    private readonly print: (line: string) => void,
    /** a byte stream (TCP): its rates in Gbit/s, never in messages per second */
    private readonly byteStream = false,
  ) {
    this.flows = Array.from({ length: flows }, () => new Map());
  }

  /** An engine's interval event of flow `flow`; prints every line all flows have now covered. */
  add(flow: number, ev: IntervalEvent): void {
    const seconds = this.flows[flow];
    if (!seconds) return;
    const s = seconds.get(ev.t) ?? {};
    if (ev.role === 'stream-rx') s.rx = ev;
    else s.tx = ev;
    seconds.set(ev.t, s);
    this.flush();
  }

  /** Flow `flow`'s sender has finished (its result came): its receiver's remaining seconds need no sender's. */
  senderDone(flow: number): void {
    this.sendersDone.add(flow);
    this.flush();
  }

  private covered(flow: number, t: number): boolean {
    const s = this.flows[flow]!.get(t);
    return !!s?.rx && (!!s.tx || this.sendersDone.has(flow));
  }

  private flush(): void {
    for (;;) {
      const first = this.printedUpTo;
      const last = first + this.every - 1;
      for (let t = first; t <= last; t++) if (!this.flows.every((_, i) => this.covered(i, t))) return;
      this.print(this.line(first, last));
      this.printedUpTo = last + 1;
    }
  }

  private line(first: number, last: number): string {
    let sent = 0;
    let sentBytes = 0;
    let got = 0;
    let bytes = 0;
    let drops = 0;
    let retr: number | null = null;
    let ns = 0;
    for (const f of this.flows)
      for (let t = first; t <= last; t++) {
        const s = f.get(t)!;
        got += s.rx!.packets;
        bytes += s.rx!.bytes;
        drops += s.rx!.drops;
        sent += s.tx?.packets ?? 0;
        sentBytes += s.tx?.bytes ?? 0;
        if (s.tx?.retransmits !== undefined) retr = (retr ?? 0) + s.tx.retransmits;
        if (f === this.flows[0]) ns += s.rx!.ns;
      }
    const cwnd = this.flows[0]!.get(last)?.tx?.cwnd;
    const gbps = (b: number) => `${((rate(b, ns) * 8) / 1e9).toFixed(3)} Gbit/s`;
    const rates = this.byteStream
      ? `sent ${gbps(sentBytes)}  received ${gbps(bytes)}`
      : `sent ${kpps(rate(sent, ns))}  received ${kpps(rate(got, ns))}  ${gbps(bytes)}`;
    return (
      `${String(first).padStart(3)}–${String(last + 1).padEnd(3)} s  ${rates}  drops ${drops}` +
      (retr === null ? '' : `  retransmits ${retr}`) +
      (cwnd === undefined ? '' : `  cwnd ${cwnd}`)
    );
  }
}
