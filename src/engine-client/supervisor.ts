/**
 * Spawns and supervises cnperf-engine processes. Each child runs in its own process group, has a
 * deadline (SIGTERM, then SIGKILL after a grace period), and its first event must be a `hello`
 * of our exact version. Every live child is tracked so a signal handler can stop them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { enginePath } from '../paths.js';
import { RefusedError, UserError } from '../util/errors.js';
import { ENGINE_PROTO, VERSION } from '../version.js';
import { engineHostFor, guestArgv } from './guest.js';
import { parseEngineLine, type EngineEvent, type ErrorEvent } from './protocol.js';

export class EngineError extends RefusedError {
  constructor(
    readonly label: string,
    message: string,
    readonly code?: string,
  ) {
    super(`${label}: ${message}`);
    this.name = 'EngineError';
  }
}

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: EngineEvent[];
  stderr: string;
  /** why we stopped it, if we did */
  stoppedBy?: 'deadline' | 'request';
}

const live = new Set<EngineProcess>();
const STDERR_KEEP = 16 * 1024;
const GRACE_MS = 2000;

export class EngineProcess {
  readonly events: EngineEvent[] = [];
  readonly exited: Promise<EngineExit>;
  /** how signals reach it: its process group here, or the agent of the guest it runs in */
  private readonly transport: { signal(sig: NodeJS.Signals): void };
  private pidValue: number | undefined;
  private stderr = '';
  private listeners: Array<(e: EngineEvent) => void> = [];
  private protocolError: Error | null = null;
  private stoppedBy: EngineExit['stoppedBy'];
  private deadlineTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    readonly label: string,
    readonly argv: readonly string[],
    deadlineMs: number,
  ) {
    let resolveExit!: (x: EngineExit) => void;
    this.exited = new Promise<EngineExit>((resolve) => (resolveExit = resolve));
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      this.done = true;
      live.delete(this);
      clearTimeout(this.deadlineTimer);
      clearTimeout(this.killTimer);
      resolveExit({ code, signal, events: this.events, stderr: this.stderr, stoppedBy: this.stoppedBy });
    };
    const keepStderr = (d: string) => {
      this.stderr = (this.stderr + d).slice(-STDERR_KEEP);
    };
    const other = engineHostFor(argv);
    const remote = other?.host.spawn?.bind(other.host);
    if (other && remote) {
      const host = other.host;
      this.transport = remote(host.keepsArgv ? argv : guestArgv(argv), {
        line: (l) => this.onLine(l),
        stderr: keepStderr,
        exit: (code, signal, why) => {
          if (why) this.protocolError ??= new EngineError(label, `${host.name}: ${why}`);
          finish(code, signal);
        },
      });
      live.add(this);
    } else {
      const { bin, argv: args } = other?.host.local?.(argv) ?? { bin: enginePath(), argv: [...argv] };
      if (!existsSync(bin))
        throw new UserError(
          `the engine binary ${bin} is missing`,
          'run `bash scripts/setup.sh` (or `npm run build`) first',
        );
      // detached: its own process group, so a stop reaches everything it may have started, and a
      // Ctrl-C on the terminal reaches cnperf first (which then stops the engine in order).
      const child: ChildProcess = spawn(bin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      this.pidValue = child.pid;
      this.transport = { signal: (sig) => child.pid && process.kill(-child.pid, sig) };
      live.add(this);
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', keepStderr);
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => this.onLine(line));
      const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
      child.once('error', (err) => {
        this.protocolError ??= new EngineError(label, `could not start ${bin}: ${err.message}`);
      });
      child.once('close', (code, signal) => void closed.then(() => finish(code, signal)));
    }
    this.deadlineTimer = setTimeout(() => this.stop('deadline'), deadlineMs);
    this.deadlineTimer.unref();
  }

  private onLine(line: string): void {
    if (this.protocolError) return;
    let ev: EngineEvent;
    try {
      ev = parseEngineLine(line);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (this.events.length === 0) {
      if (ev.event !== 'hello')
        return this.fail(new EngineError(this.label, `first event was '${ev.event}', expected 'hello'`));
      if (ev.version !== VERSION || ev.proto !== ENGINE_PROTO) {
        return this.fail(
          new EngineError(
            this.label,
            `engine version ` +
              `${ev.version} (protocol ` +
              `${ev.proto}) does not match cnperf ` +
              `${VERSION} (protocol ${ENGINE_PROTO}); rebuild with \`npm run build\``,
          ),
        );
      }
    }
    this.events.push(ev);
    for (const l of this.listeners) l(ev);
  }

  private fail(err: Error): void {
    this.protocolError = err;
    this.signalGroup('SIGKILL');
  }

  /** its pid on this host (none for an engine in a guest) */
  get pid(): number | undefined {
    return this.pidValue;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Calls fn with every event from now on, as it arrives (the live lines of a stream). */
  onEvent(fn: (e: EngineEvent) => void): void {
    this.listeners.push(fn);
  }

  /** Resolves with the first event of that type; rejects on an error event or exit before it. */
  waitFor<K extends EngineEvent['event']>(event: K): Promise<Extract<EngineEvent, { event: K }>> {
    return new Promise((resolve, reject) => {
      const check = (e: EngineEvent): boolean => {
        if (e.event === event) {
          resolve(e as Extract<EngineEvent, { event: K }>);
          return true;
        }
        if (e.event === 'error') {
          reject(errorFromEvent(this.label, e));
          return true;
        }
        return false;
      };
      for (const e of this.events) if (check(e)) return;
      const listener = (e: EngineEvent) => {
        if (check(e)) this.listeners = this.listeners.filter((l) => l !== listener);
      };
      this.listeners.push(listener);
      void this.exited.then((x) => {
        this.listeners = this.listeners.filter((l) => l !== listener);
        reject(
          this.protocolError ??
            new EngineError(this.label, `exited (${describeExit(x)}) before '${event}'${tail(x.stderr)}`),
        );
      });
    });
  }

  /** The run's failure, if any: a protocol violation or an engine error event. */
  failure(): Error | null {
    if (this.protocolError) return this.protocolError;
    const err = this.events.find((e): e is ErrorEvent => e.event === 'error');
    return err ? errorFromEvent(this.label, err) : null;
  }

  /** SIGTERM (the engine reports what it has and exits), SIGKILL if it has not after a grace period. */
  stop(reason: 'deadline' | 'request' = 'request'): Promise<EngineExit> {
    if (!this.done) {
      this.stoppedBy ??= reason;
      this.signalGroup('SIGTERM');
      this.killTimer ??= setTimeout(() => this.signalGroup('SIGKILL'), GRACE_MS);
    }
    return this.exited;
  }

  private signalGroup(sig: NodeJS.Signals): void {
    if (this.done) return;
    try {
      this.transport.signal(sig);
    } catch {
      /* already gone */
    }
  }
}

function errorFromEvent(label: string, e: ErrorEvent): EngineError {
  return new EngineError(label, `${e.message} [${e.code}]`, e.code);
}

export function describeExit(x: { code: number | null; signal: NodeJS.Signals | null; stoppedBy?: string }): string {
  const how = x.signal ? `signal ${x.signal}` : `exit code ${x.code}`;
  return x.stoppedBy === 'deadline' ? `${how}, stopped at its deadline` : how;
}

function tail(stderr: string): string {
  const t = stderr.trim().split('\n').slice(-3).join(' | ');
  return t ? `; stderr: ${t}` : '';
}

/** Stops every live engine (signal handlers, teardown). */
export async function stopAllEngines(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('request')));
}

export function liveEngineCount(): number {
  return live.size;
}

/** Asks the engine binary for its version; fails clearly when it is missing or of another version. */
export async function probeEngineVersion(): Promise<string> {
  const p = new EngineProcess('cnperf-engine', ['version'], 5000);
  const hello = await p.waitFor('hello');
  await p.exited;
  return hello.version;
}
