/**
 * Reading a namespace's addresses and routes with `ip -j` (read only): where an existing namespace's
 * server listens and which device its traffic leaves through.
 */
import { runCommand, type CommandRunner } from '../../local/command.js';

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; scope?: string }>;
}

export type Family = 4 | 6;

/** The device of the namespace's default route of the family, or null without one. */
export async function defaultRouteDevice(
  netns: string,
  family: Family = 4,
  run: CommandRunner = runCommand,
): Promise<string | null> {
  const { stdout } = await run(['ip', '-n', netns, `-${family}`, '-j', 'route', 'show', 'default']);
  const routes = JSON.parse(stdout || '[]') as Array<{ dev?: string }>;
  return routes.find((r) => r.dev)?.dev ?? null;
}

/** Every global-scope address of the family in the namespace, in `ip addr` order: [device, address]. */
export async function globalAddresses(
  netns: string,
  family: Family = 4,
  run: CommandRunner = runCommand,
): Promise<Array<{ dev: string; ip: string }>> {
  const { stdout } = await run(['ip', '-n', netns, `-${family}`, '-j', 'addr', 'show', 'scope', 'global']);
  return parseGlobalAddresses(stdout, family);
}

/** Pure: `ip -4|-6 -j addr show scope global` → [device, address] in order (that family's only). */
export function parseGlobalAddresses(json: string, family: Family = 4): Array<{ dev: string; ip: string }> {
  const links = JSON.parse(json || '[]') as IpAddrJson[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === (family === 6 ? 'inet6' : 'inet') && (a.scope ?? 'global') === 'global')
      .map((a) => ({ dev: l.ifname, ip: a.local })),
  );
}

/** The kernel's route from the namespace to `ip`: the device and the source address it would use. */
export async function routeTo(
  netns: string,
  ip: string,
  run: CommandRunner = runCommand,
): Promise<{ dev: string; src: string | null } | null> {
  try {
    const { stdout } = await run(['ip', '-n', netns, ip.includes(':') ? '-6' : '-4', '-j', 'route', 'get', ip]);
    const r = (JSON.parse(stdout || '[]') as Array<{ dev?: string; prefsrc?: string }>)[0];
    return r?.dev ? { dev: r.dev, src: r.prefsrc ?? null } : null;
  } catch {
    return null; // "Network is unreachable"
  }
}
