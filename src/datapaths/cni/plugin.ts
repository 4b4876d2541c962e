/**
 * Running one CNI plugin the way a container runtime does: the binary found on CNI_PATH, the
 * spec's environment, the configuration on stdin, the result (or the spec's error object) on
 * stdout — inside the simulated node's namespace, so the "host" side of the plugin (cni0, IPAM
 * state, port maps) is the node's, never the real host's. A plugin that hangs is killed at its
 * deadline; one that prints garbage or exits non-zero without an error object is reported as such.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RefusedError, UserError } from '../../util/errors.js';
import type { UndoAction } from '../../local/steps.js';

export const DEFAULT_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];

export function cniPath(): string[] {
  return process.env.CNI_PATH ? process.env.CNI_PATH.split(':').filter(Boolean) : DEFAULT_CNI_PATH;
}

export function findPlugin(type: string, dirs = cniPath()): string {
  for (const d of dirs) {
    const p = path.join(d, type);
    if (existsSync(p)) return p;
  }
  throw new UserError(
    `CNI plugin '${type}' not found on CNI_PATH (${dirs.join(':')})`,
    'Debian: apt-get install containernetworking-plugins (scripts/setup.sh does); or set CNI_PATH',
  );
}

/** The spec's error object. */
export const CniErrorObject = z.object({
  cniVersion: z.string().optional(),
  code: z.number().int(),
  msg: z.string(),
  details: z.string().optional(),
});

export class CniError extends RefusedError {
  constructor(
    readonly plugin: string,
    readonly command: string,
    readonly code: number | null,
    message: string,
    readonly details?: string,
  ) {
    super(
      `CNI ${command} of plugin ` +
        `'${plugin}' failed${code !== null ? ` (code ${code})` : ''}: ${message}${details ? ` — ${details}` : ''}`,
    );
    this.name = 'CniError';
  }
}

export interface Invocation {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
  containerId: string;
  /** path of the container's network namespace (/run/netns/NAME) */
  netnsPath: string;
  ifname: string;
  /** the namespace the plugin runs in (the node's); absent: cnperf's own */
  runIn?: string;
  config: Record<string, unknown>;
  timeoutMs?: number;
}

/** Where plugins run: here (a child process), or on a real host over ssh (src/datapaths/cni/cni-remote.ts). */
export interface PluginHost {
  /** for messages: '' here, 'host a: ' there */
  readonly where: string;
  /** the plugin's binary on CNI_PATH there */
  find(type: string): Promise<string>;
  /** CNI_PATH there */
  cniPath(): string[];
  /** runs argv with exactly this environment and stdin; a run past the deadline is killed */
  exec(
    argv: string[],
    env: Record<string, string>,
    stdin: string,
    timeoutMs: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>;
  /** the ADD results cached for DEL */
  readFile(file: string): Promise<string | null>;
  writeFile(file: string, text: string): Promise<void>;
  /**
   * On a real host, where the node is the host's own namespace: the undos of what the network's
   * plugins would leave there after DEL (a bridge they create, forwarding they turn on)
   */
  hostSide?(
    network: { plugins: Array<{ type: string } & Record<string, unknown>> },
    node: string,
  ): Promise<UndoAction[]>;
}

/** Plugins on this machine. */
export const HERE: PluginHost = {
  where: '',
  find: async (type) => findPlugin(type),
  cniPath,
  exec: (argv, env, stdin, timeoutMs) =>
    new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, timeoutMs);
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, timedOut });
      });
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
    }),
  readFile: async (file) => (existsSync(file) ? readFileSync(file, 'utf8') : null),
  writeFile: async (file, text) => writeFileSync(file, text),
};

/** Runs the plugin once; returns its parsed stdout (JSON) or throws a CniError. */
export async function execPlugin(type: string, inv: Invocation, host: PluginHost = HERE): Promise<unknown> {
  const bin = await host.find(type);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netnsPath,
    CNI_IFNAME: inv.ifname,
    CNI_ARGS: '',
    CNI_PATH: host.cniPath().join(':'),
  };
  const argv = inv.runIn ? ['ip', 'netns', 'exec', inv.runIn, bin] : [bin];
  const timeoutMs = inv.timeoutMs ?? 30_000;
  let r: Awaited<ReturnType<PluginHost['exec']>>;
  try {
    r = await host.exec(argv, env, JSON.stringify(inv.config), timeoutMs);
  } catch (e) {
    throw new CniError(type, inv.command, null, `could not run ${host.where}${bin}: ${(e as Error).message}`);
  }
  const { code, stdout, stderr } = r;
  if (r.timedOut)
    throw new CniError(
      type,
      inv.command,
      null,
      `${host.where}no answer within ${Math.round(timeoutMs / 1000)} s: killed`,
    );
  let json: unknown = undefined;
  const text = stdout.trim();
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new CniError(
        type,
        inv.command,
        null,
        `${host.where}printed something that is not JSON: ` +
          `${JSON.stringify(text.slice(0, 200))}${stderr.trim() ? `; stderr: ${stderr.trim().slice(0, 300)}` : ''}`,
      );
    }
  }
  if (code !== 0) {
    const err = CniErrorObject.safeParse(json);
    if (err.success)
      throw new CniError(type, inv.command, err.data.code, `${host.where}${err.data.msg}`, err.data.details);
    throw new CniError(
      type,
      inv.command,
      null,
      `${host.where}exited with ` +
        `${code} without an error object${stderr.trim() ? `; stderr: ${stderr.trim().slice(0, 300)}` : ''}`,
    );
  }
  return json;
}
