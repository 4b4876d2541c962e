/**
 * Reading a namespace's addresses and routes with `ip -j` (read only): where an existing namespace's
 * server listens and which device its traffic leaves through.
 */
import { runCommand, type CommandRunner } from '../../local/command.js';

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; scope?: string }>;
}

/** The device of the namespace's IPv4 default route, or null without one. */
export async function defaultRouteDevice(netns: string, run: CommandRunner = runCommand): Promise<string | null> {
  const { stdout } = await run(['ip', '-n', netns, '-4', '-j', 'route', 'show', 'default']);
  const routes = JSON.parse(stdout || '[]') as Array<{ dev?: string }>;
  return routes.find((r) => r.dev)?.dev ?? null;
}

/** Every global-scope IPv4 address of the namespace, in `ip addr` order: [device, address]. */
export async function globalIpv4(
  netns: string,
  run: CommandRunner = runCommand,
): Promise<Array<{ dev: string; ip: string }>> {
  const { stdout } = await run(['ip', '-n', netns, '-4', '-j', 'addr', 'show', 'scope', 'global']);
  return parseGlobalIpv4(stdout);
}

/** Pure: `ip -4 -j addr show scope global` → [device, address] in order. */
export function parseGlobalIpv4(json: string): Array<{ dev: string; ip: string }> {
  const links = JSON.parse(json || '[]') as IpAddrJson[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' && (a.scope ?? 'global') === 'global')
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
    const { stdout } = await run(['ip', '-n', netns, '-4', '-j', 'route', 'get', ip]);
    const r = (JSON.parse(stdout || '[]') as Array<{ dev?: string; prefsrc?: string }>)[0];
    return r?.dev ? { dev: r.dev, src: r.prefsrc ?? null } : null;
  } catch {
    return null; // "Network is unreachable"
  }
}
