/**
 * Attaching the `existing` datapath: each named endpoint's namespace is found (a container's main
 * process, a process, a named namespace) and, where it has no name, given one of the run's; then the
 * server's address (--server-address, else the first global address of the family measured — IPv4,
 * or IPv6 with --ip 6 — on its default-route device) and the client's route to it. Everything here
 * only reads the namespaces.
 */
import { adoptNamespace } from '../../local/adopt.js';
import type { JournalLike } from '../../local/journal.js';
import type { Topology } from '../../topology/model.js';
import { UserError } from '../../util/errors.js';
import { defaultRouteDevice, globalAddresses, routeTo } from './addresses.js';
import { describeSpec, endpointPid, parseEndpointSpec } from './endpoint.js';
import { EXISTING_PART } from './existing-plan.js';

const list = (addrs: Array<{ dev: string; ip: string }>) => addrs.map((a) => `${a.ip} (${a.dev})`).join(', ');

export async function attachExisting(t: Topology, journal: JournalLike): Promise<void> {
  const x = EXISTING_PART.of(t)!;
  const { client, server } = t.endpoints;
  for (const [text, ep, role] of [
    [x.client, client, 'client'],
    [x.server, server, 'server'],
  ] as const) {
    const spec = parseEndpointSpec(text, `--${role}`);
    const pid = await endpointPid(spec, `--${role}`);
    // the same namespace for both ends is named once
    if (pid !== null && !(role === 'server' && x.server === x.client))
      await adoptNamespace(ep.netns, pid, `${describeSpec(spec)} (--${role})`, journal);
  }
  const serverWhat = `--server ${x.server}`;
  // the family measured: the plan's placeholder says it (--ip 6 plans '::')
  const family = server.ip.includes(':') ? 6 : 4;
  const v = `IPv${family}`;
  const addrs = await globalAddresses(server.netns, family);
  if (x.serverAddress) {
    const own = addrs.find((a) => a.ip === x.serverAddress);
    if (!own)
      throw new UserError(
        `${serverWhat}: --server-address ` +
          `${x.serverAddress} is not an address of that namespace (its global ${v} addresses: ` +
          `${list(addrs) || 'none'})`,
      );
    Object.assign(server, { ip: own.ip, dev: own.dev });
  } else {
    if (addrs.length === 0)
      throw new UserError(`${serverWhat}: the namespace has no global ${v} address to measure to`);
    const dev = await defaultRouteDevice(server.netns, family);
    const onDefault = dev ? addrs.find((a) => a.dev === dev) : undefined;
    if (!onDefault) {
      // in the message, not a hint: it reaches the user inside the run's "failed: …" line
      throw new UserError(
        `${serverWhat}: cannot tell which address the server listens on: ` +
          `${
            dev
              ? `its default-route device ${dev} has no global ${v} address`
              : `the namespace has no ${v} default route`
          }; give --server-address, one of: ${list(addrs)}`,
      );
    }
    Object.assign(server, { ip: onDefault.ip, dev: onDefault.dev });
  }
  const route = await routeTo(client.netns, server.ip);
  if (!route) throw new UserError(`--client ${x.client}: the namespace has no route to the server's ${server.ip}`);
  // client and server in one namespace: the kernel routes over lo
  Object.assign(client, {
    dev: route.dev,
    ip:
      route.src ??
      (await globalAddresses(client.netns, family)).find((a) => a.dev === route.dev)?.ip ??
      (family === 6 ? '::' : '0.0.0.0'),
  });
}
