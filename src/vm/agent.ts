/**
 * The host's side of a guest's agent (engine/agent.c): a line protocol over the unix socket qemu
 * joins to the guest's virtio-serial port. The agent's hello is the guest's readiness; after it,
 * engines are started, signalled and heard from by id, and the files they write in the guest
 * (--raw-out, --stamps-out) come back to the same paths on the host before their exit is reported.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import { constants } from 'node:os';
import type { EngineCallbacks, EngineHost } from '../engine-client/guest.js';
import { parseEngineLine } from '../engine-client/protocol.js';
import { ENGINE_PROTO, VERSION } from '../version.js';

interface Running {
  on: EngineCallbacks;
  /** the paths this engine may send back (its --raw-out and --stamps-out): nothing else is written */
  files: Set<string>;
  fd?: number;
  /** bytes written to fd so far */
  written?: number;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/** A message from the agent: `<id> <kind> <rest>`. Pure. */
export function parseAgentLine(line: string): { id: number; kind: string; rest: string } | null {
  const m = /^(\d+) (out|err|file|data|exit) ?(.*)$/s.exec(line);
  return m ? { id: Number(m[1]), kind: m[2]!, rest: m[3]! } : null;
}

/** The command that starts an engine: arguments joined by tabs, which none may hold. Pure. */
export function startCommand(id: number, argv: readonly string[]): string {
  const bad = argv.find((a) => /[\t\n]/.test(a) || a === '');
  if (bad !== undefined)
    throw new Error(`internal: engine argument ${JSON.stringify(bad)} cannot cross the agent's line protocol`);
  return `start ${id} ${argv.join('\t')}\n`;
}

/**
 * The longest line the agent sends (it relays an engine's line whole up to 16 MiB, plus its prefix),
 * and the most a file it sends back may hold: past either, the guest is not speaking the protocol, and
 * its connection is closed rather than buffered without end.
 */
export const MAX_AGENT_LINE = 16 * 2 ** 20 + 64;
export const MAX_AGENT_FILE = 4 * 2 ** 30;

export class GuestAgent implements EngineHost {
  private socket: net.Socket | null = null;
  private buffer = '';
  private nextId = 1;
  private running = new Map<number, Running>();
  private hello: ((err: Error | null) => void) | null = null;
  private closedWhy: string | null = null;
  private onClose: Array<() => void> = [];

  constructor(readonly name: string) {}

  /**
   * Connects to the agent's socket and waits for its hello. Retries the connection while qemu has
   * not made the socket yet; gives up at the deadline.
   */
  async connect(socketPath: string, deadline: number, alive: () => boolean): Promise<void> {
    for (;;) {
      try {
        this.socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(socketPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch (e) {
        if (Date.now() > deadline || !alive())
          throw new Error(`cannot reach the guest's agent at ${socketPath}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const s = this.socket;
    s.setEncoding('utf8');
    s.on('data', (d: string) => this.onData(d));
    s.on('error', () => undefined); // 'close' follows and says it
    s.on('close', () => this.closed("the guest's channel closed (its VM stopped)"));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (Date.now() > deadline) finish(new Error("no hello from the guest's agent before the boot deadline"));
        else if (!alive()) finish(new Error("qemu exited before the guest's agent said hello"));
      }, 100);
      const finish = (err: Error | null) => {
        clearInterval(timer);
        this.hello = null;
        if (err) reject(err);
        else resolve();
      };
      this.hello = finish;
    });
  }

  whenClosed(f: () => void): void {
    if (this.closedWhy) f();
    else this.onClose.push(f);
  }

  close(): void {
    this.socket?.destroy();
  }

  spawn(argv: readonly string[], on: EngineCallbacks): { signal(sig: NodeJS.Signals): void } {
    const id = this.nextId++;
    if (this.closedWhy || !this.socket) {
      queueMicrotask(() => on.exit(null, null, this.closedWhy ?? "the guest's agent is not connected"));
      return { signal: () => undefined };
    }
    const files = new Set<string>();
    argv.forEach((a, i) => {
      if ((a === '--raw-out' || a === '--stamps-out') && argv[i + 1]) files.add(argv[i + 1]!);
    });
    this.running.set(id, { on, files });
    this.socket.write(startCommand(id, argv));
    return {
      signal: (sig) => {
        if (!this.closedWhy) this.socket?.write(`kill ${id} ${constants.signals[sig]}\n`);
      },
    };
  }

  private onData(d: string): void {
    this.buffer += d;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
      if (this.closedWhy) return;
    }
    if (this.buffer.length > MAX_AGENT_LINE)
      this.refuse(`the guest's agent sent a line of over ${MAX_AGENT_LINE} bytes`);
  }

  /** The guest broke the protocol: its connection is closed, and what it ran ends with the reason. */
  private refuse(why: string): void {
    this.buffer = '';
    this.closed(why);
    this.socket?.destroy();
  }

  private onLine(line: string): void {
    const m = parseAgentLine(line);
    if (!m) return;
    if (m.id === 0) {
      if (m.kind === 'out' && this.hello) {
        try {
          const ev = parseEngineLine(m.rest);
          if (ev.event !== 'hello') throw new Error(`the agent's first event was '${ev.event}'`);
          if (ev.version !== VERSION || ev.proto !== ENGINE_PROTO)
            throw new Error(
              `the guest's engine is version ` +
                `${ev.version} (protocol ` +
                `${ev.proto}), cnperf is ${VERSION} (protocol ${ENGINE_PROTO}): the image is stale`,
            );
          this.hello(null);
        } catch (e) {
          this.hello(e as Error);
        }
      }
      return;
    }
    const r = this.running.get(m.id);
    if (!r) return;
    if (m.kind === 'out') r.on.line(m.rest);
    else if (m.kind === 'err') r.on.stderr(m.rest + '\n');
    else if (m.kind === 'file') {
      const path = m.rest.replace(/ \d+$/, '');
      if (r.fd !== undefined) closeSync(r.fd);
      r.fd = r.files.has(path) ? openSync(path, 'w', 0o600) : undefined;
      r.written = 0;
    } else if (m.kind === 'data') {
      if (r.fd === undefined) return;
      const bytes = Buffer.from(m.rest, 'base64');
      r.written = (r.written ?? 0) + bytes.length;
      if (r.written > MAX_AGENT_FILE)
        return this.refuse(`the guest's agent sent a file of over ${MAX_AGENT_FILE} bytes`);
      writeSync(r.fd, bytes);
    } else if (m.kind === 'exit') {
      if (r.fd !== undefined) closeSync(r.fd);
      this.running.delete(m.id);
      const [code, sig] = m.rest.split(' ').map(Number);
      r.on.exit(code! >= 0 ? code! : null, sig ? (SIGNAL_NAMES.get(sig!) ?? null) : null);
    }
  }

  private closed(why: string): void {
    if (this.closedWhy) return;
    this.closedWhy = why;
    this.hello?.(new Error(why));
    for (const [id, r] of this.running) {
      if (r.fd !== undefined) closeSync(r.fd);
      this.running.delete(id);
      r.on.exit(null, null, why);
    }
    for (const f of this.onClose) f();
  }
}
