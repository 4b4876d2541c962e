/**
 * The runtime side of the CNI specification: VERSION negotiation, ADD through the plugin chain with
 * each result passed on as prevResult, CHECK, DEL in reverse order with the cached result (also
 * after a failed ADD, and idempotent), GC where the version has it; code 11 ("try again later")
 * retried. Results are validated and cached in the run's directory for DEL.
 */
import { z } from 'zod';
import { UserError } from '../../util/errors.js';
import { compareVersions, type NetworkList } from './config.js';
import { CniError, execPlugin, HERE, type PluginHost } from './plugin.js';

export const CniResult = z
  .object({
    cniVersion: z.string(),
    interfaces: z
      .array(z.object({ name: z.string(), mac: z.string().optional(), sandbox: z.string().optional() }).passthrough())
      .optional(),
    ips: z
      .array(
        z
          .object({
            address: z.string().regex(/^[0-9a-fA-F.:]+\/\d+$/),
            gateway: z.string().optional(),
            interface: z.number().int().optional(),
          })
          .passthrough(),
      )
      .optional(),
    routes: z.array(z.object({ dst: z.string() }).passthrough()).optional(),
    dns: z.unknown().optional(),
  })
  .passthrough();
export type CniResult = z.infer<typeof CniResult>;

export interface Attachment {
  network: NetworkList;
  containerId: string;
  /** the container's namespace name (/run/netns/NAME) */
  netns: string;
  ifname: string;
  /** the node's namespace, where plugins run */
  runIn: string;
  /** where the ADD result is cached for DEL */
  cacheFile: string;
  timeoutMs?: number;
  /** where the plugins run (default here; a real host's over ssh) */
  host?: PluginHost;
}

const RETRIES = 3;

async function invoke(
  a: Attachment,
  type: string,
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC',
  config: Record<string, unknown>,
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await execPlugin(
        type,
        {
          command,
          containerId: a.containerId,
          netnsPath: `/run/netns/${a.netns}`,
          ifname: a.ifname,
          runIn: a.runIn,
          config,
          timeoutMs: a.timeoutMs,
        },
        a.host,
      );
    } catch (e) {
      // Code 11: the plugin asks to be called again later (e.g. its lock is busy).
      if (e instanceof CniError && e.code === 11 && attempt < RETRIES) {
        await new Promise((r) => setTimeout(r, 200 * attempt));
        continue;
      }
      throw e;
    }
  }
}

function pluginConfig(n: NetworkList, i: number, prevResult: unknown): Record<string, unknown> {
  return {
    ...n.plugins[i],
    cniVersion: n.cniVersion,
    name: n.name,
    ...(prevResult !== undefined ? { prevResult } : {}),
  };
}

/** VERSION of every plugin type of the list: each must speak the configuration's cniVersion. */
export async function negotiate(n: NetworkList, runIn: string, timeoutMs?: number, host?: PluginHost): Promise<void> {
  for (const type of new Set(n.plugins.map((p) => p.type))) {
    const out = (await execPlugin(
      type,
      {
        command: 'VERSION',
        containerId: '',
        netnsPath: '',
        ifname: '',
        runIn,
        config: { cniVersion: n.cniVersion },
        timeoutMs,
      },
      host,
    )) as { supportedVersions?: string[] } | undefined;
    const supported = out?.supportedVersions ?? [];
    if (!supported.includes(n.cniVersion))
      throw new UserError(
        `${n.file}: plugin '${type}' does not speak cniVersion ${n.cniVersion}`,
        `it supports: ${supported.join(', ') || 'nothing it would say'}`,
      );
  }
}

/** ADD through the chain; on a failure, DEL over the whole chain (reverse) before throwing. */
export async function cniAdd(a: Attachment): Promise<CniResult> {
  let prev: unknown = undefined;
  const n = a.network;
  for (let i = 0; i < n.plugins.length; i++) {
    try {
      prev = await invoke(a, n.plugins[i]!.type, 'ADD', pluginConfig(n, i, prev));
    } catch (e) {
      try {
        await cniDel(a, prev);
      } catch {
        /* the ADD's error is the one to report; the journal's teardown retries DEL */
      }
      throw e;
    }
  }
  const parsed = CniResult.safeParse(prev);
  if (!parsed.success) {
    await cniDel(a, prev).catch(() => {});
    throw new CniError(
      n.plugins[n.plugins.length - 1]!.type,
      'ADD',
      null,
      `returned a result that is not a CNI result: ` +
        `${parsed.error.issues[0]?.message ?? ''} in ${JSON.stringify(prev).slice(0, 200)}`,
    );
  }
  await (a.host ?? HERE).writeFile(a.cacheFile, JSON.stringify({ network: n, result: parsed.data }));
  return parsed.data;
}

/** CHECK through the chain (0.4.0 and later, unless the list disables it). */
export async function cniCheck(a: Attachment, result: CniResult): Promise<void> {
  const n = a.network;
  if (n.disableCheck || compareVersions(n.cniVersion, '0.4.0') < 0) return;
  for (let i = 0; i < n.plugins.length; i++) await invoke(a, n.plugins[i]!.type, 'CHECK', pluginConfig(n, i, result));
}

/**
 * DEL through the chain in reverse, with the cached result as prevResult (0.4.0 and later). Every
 * plugin is asked even when one fails; the failures are reported together. Safe to repeat.
 */
export async function cniDel(a: Attachment, result?: unknown): Promise<void> {
  const n = a.network;
  const text = result === undefined ? await (a.host ?? HERE).readFile(a.cacheFile) : null;
  const cached = result ?? (text ? (JSON.parse(text) as { result: unknown }).result : undefined);
  const prev = compareVersions(n.cniVersion, '0.4.0') >= 0 ? cached : undefined;
  const errors: string[] = [];
  for (let i = n.plugins.length - 1; i >= 0; i--) {
    try {
      await invoke(a, n.plugins[i]!.type, 'DEL', pluginConfig(n, i, prev));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
  // GC (CNI 1.1): nothing of this network is valid any more on this node.
  if (compareVersions(n.cniVersion, '1.1.0') >= 0) {
    for (let i = 0; i < n.plugins.length; i++)
      await invoke(a, n.plugins[i]!.type, 'GC', {
        ...pluginConfig(n, i, undefined),
        'cni.dev/valid-attachments': [],
      }).catch(() => {});
  }
}

/** The first IPv4 address of a result, without its prefix length. */
export function resultIp(r: CniResult, ifname: string, family: 4 | 6 = 4): string | null {
  const ifIndex = r.interfaces?.findIndex((i) => i.name === ifname && i.sandbox);
  const ofFamily = (a: string) => (family === 6 ? a.includes(':') : a.includes('.'));
  const ip =
    r.ips?.find(
      (x) =>
        ofFamily(x.address) &&
        (x.interface === undefined || ifIndex === undefined || ifIndex < 0 || x.interface === ifIndex),
    ) ?? r.ips?.find((x) => ofFamily(x.address));
  return ip ? ip.address.split('/')[0]! : null;
}
