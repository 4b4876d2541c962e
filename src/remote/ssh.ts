/**
 * The transport to a real host: the system's OpenSSH client, one master connection per host and run
 * (ControlMaster, its socket in the run's directory) that every command and engine rides on. Always
 * BatchMode (never a prompt); host keys are checked as the user's ssh configuration says — cnperf
 * never turns StrictHostKeyChecking off, it only points UserKnownHostsFile at the inventory's file.
 * ControlPersist is short: if cnperf is killed, the master exits on its own once its last session
 * (the host's keeper, src/remote/remote-journal.ts) is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { HostCommandError, UserError } from '../util/errors.js';
import { runCommand, type CommandResult, type CommandRunner } from '../local/command.js';
import { assertListed } from '../tools/table.js';
import type { InventoryHost } from './inventory.js';
import { shellQuote } from '../util/shell.js';

/** How long the master lingers without sessions: a killed run's connection ends by itself this soon. */
export const CONTROL_PERSIST_S = 10;

const HOST_KEY_FAILURE =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (ED25519|RSA|ECDSA)? ?host key is known/i;

/** What ssh's own failure (exit 255) means, for a message that names the host and what to do. */
export function sshFailure(h: InventoryHost, stderr: string): UserError {
  const who = `host ${h.name} (${h.user}@${h.address}:${h.port})`;
  const s = stderr
    .trim()
    .split('\n')
    .filter((l) => !/^Warning: Permanently added/.test(l))
    .join('; ');
  if (HOST_KEY_FAILURE.test(s)) {
    return new UserError(
      `${who}: its host key is not known or does not match: ${s}`,
      `add the host's key to ` +
        `${
          h.knownHosts ?? 'your known_hosts'
        } (ssh-keyscan -p ${h.port} ${h.address}, then check it); cnperf never disables host key checking`,
    );
  }
  if (/Permission denied/i.test(s))
    return new UserError(
      `${who}: ssh could not log in: ${s}`,
      `cnperf runs ssh with BatchMode=yes: the key (${h.identity ?? "ssh's default"}) must log in without a prompt`,
    );
  if (/timed out|No route to host|Connection refused|Network is unreachable|Could not resolve/i.test(s))
    return new UserError(`${who}: cannot connect: ${s}`, 'is sshd running there and the address reachable from here?');
  return new UserError(`${who}: ssh failed: ${s || 'no message'}`);
}

export class SshHost {
  constructor(
    readonly host: InventoryHost,
    /** the master's socket (a path in the run's directory, short: sockets have 108 bytes) */
    readonly controlPath: string,
  ) {}

  /** The options of every ssh call to this host. */
  options(): string[] {
    const h = this.host;
    return [
      '-o',
      'BatchMode=yes',
      // a user's StrictHostKeyChecking=accept-new or =no must not apply: command-line options win over ssh_config
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `ControlPath=${this.controlPath}`,
      '-o',
      'ConnectTimeout=10',
      // a connection whose peer vanished is noticed within ~6 s, and everything riding on it ends
      '-o',
      'ServerAliveInterval=2',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'LogLevel=ERROR',
      '-p',
      String(h.port),
      '-l',
      h.user,
      ...(h.identity ? ['-i', h.identity, '-o', 'IdentitiesOnly=yes'] : []),
      ...(h.knownHosts ? ['-o', `UserKnownHostsFile=${h.knownHosts}`] : []),
    ];
  }

  /** Opens the master connection (ssh -f returns once it is authenticated). */
  async connect(run: CommandRunner = runCommand): Promise<void> {
    try {
      await run(
        [
          'ssh',
          ...this.options(),
          '-o',
          'ControlMaster=yes',
          '-o',
          `ControlPersist=${CONTROL_PERSIST_S}`,
          '-f',
          '-N',
          this.host.address,
        ],
        undefined,
        20_000,
      );
    } catch (e) {
      if (e instanceof HostCommandError) throw sshFailure(this.host, e.stderr);
      throw e;
    }
  }

  /** The ssh argv that runs argv on the host (quoted for its shell). */
  remoteArgv(argv: readonly string[]): string[] {
    assertListed(argv[0] ?? '');
    return [
      'ssh',
      ...this.options(),
      '-o',
      'ControlMaster=no',
      this.host.address,
      '--',
      argv.map(shellQuote).join(' '),
    ];
  }

  /**
   * Runs commands on the host, as runCommand does here: the same argv, input and deadline. A command
   * that fails names the host; ssh's own failure (exit 255) is the connection's, said as such.
   */
  readonly run: CommandRunner = async (argv, input, timeoutMs) => {
    try {
      return await runCommand(this.remoteArgv(argv), input, timeoutMs);
    } catch (e) {
      if (!(e instanceof HostCommandError)) throw e;
      if (e.code === 255)
        throw new HostCommandError(
          [`[${this.host.name}]`, ...argv],
          `the ssh connection failed: ${e.stderr.trim() || 'no message'}`,
          255,
        );
      throw new HostCommandError([`[${this.host.name}]`, ...argv], e.stderr, e.code);
    }
  };

  /** Like run, but the answer of a command that may fail (exit code, stdout, stderr). */
  async tryRun(
    argv: readonly string[],
    input?: string | Buffer,
    timeoutMs?: number,
  ): Promise<CommandResult & { code: number }> {
    try {
      const r = await this.run(argv, input, timeoutMs);
      return { ...r, code: 0 };
    } catch (e) {
      if (e instanceof HostCommandError && e.code !== 255 && e.code !== null)
        return { stdout: '', stderr: e.stderr, code: e.code };
      throw e;
    }
  }

  /** A long-running command on the host (an engine, the keeper), its stdio piped here. */
  /** A session running argv on the host; its stdin a pipe of ours, or a stream given (a child's output). */
  spawn(argv: readonly string[], stdin: 'pipe' | Readable = 'pipe'): ChildProcess {
    const [file, ...args] = this.remoteArgv(argv);
    return spawn(file!, args, { stdio: [stdin, 'pipe', 'pipe'] });
  }

  /** A file of the host's, byte for byte (an engine's raw samples). */
  readFile(file: string): Promise<Buffer> {
    return this.readOutput(['cat', file]);
  }

  /** What a command on the host writes to stdout, byte for byte (a trace's ring buffer). */
  readOutput(argv: readonly string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const p = this.spawn(argv);
      const chunks: Buffer[] = [];
      let stderr = '';
      p.stdout!.on('data', (d: Buffer) => chunks.push(d));
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      p.stdin!.end();
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`host ${this.host.name}: ${argv.join(' ')}: ${stderr.trim() || `exit ${code}`}`)),
      );
    });
  }

  /** Ends the master (and every session on it). */
  async close(run: CommandRunner = runCommand): Promise<void> {
    await run(['ssh', ...this.options(), '-O', 'exit', this.host.address], undefined, 5000).catch(() => {});
  }
}
