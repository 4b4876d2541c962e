import { onPath } from '../../local/command.js';
import { attachExisting } from './attach.js';
import { describeSpec, parseEndpointSpec } from './endpoint.js';
import { EXISTING_PART, existingOptions, type ExistingPlan } from './existing-plan.js';
import { ownedName } from '../../topology/well-formed.js';
import { complete, draftTopology } from '../nodes.js';
import type { Datapath, PlanContext } from '../types.js';

/**
 * Measures between two network namespaces that exist already — named ones, a process's, a running
 * podman or Docker container's — and builds nothing: no address, route, rule or sysctl of theirs
 * changes. Those without a name of their own get one of the run's for its duration (src/local/adopt.ts);
 * the engines enter them with setns. The addresses are the namespaces' own, found when the run starts.
 */
export const existing: Datapath = {
  name: 'existing',
  description:
    'between namespaces that exist already (--client/--server netns:NAME, pid:PID, podman:NAME, ' +
    'docker:NAME); builds nothing',
  noVm: 'its endpoints are namespaces that exist already',
  placements: ['same-node'],
  defaultPlacement: 'same-node',
  takes: ['existing'],
  // the namespaces' own addresses: over IPv6 their global IPv6 ones (nothing of theirs is planned or changed)
  ipv6: true,
  readOptions(option) {
    const [client, server, serverAddress] = ['client', 'server', 'server-address'].map(option);
    if (client === undefined && server === undefined && serverAddress === undefined) return undefined;
    return {
      ...(typeof client === 'string' ? { client } : {}),
      ...(typeof server === 'string' ? { server } : {}),
      ...(typeof serverAddress === 'string' ? { serverAddress } : {}),
    } satisfies Partial<ExistingPlan>;
  },
  notAcrossHosts: 'measuring between existing namespaces of real hosts is not built yet',
  refuse(ctx) {
    const given = existingOptions(ctx);
    if (!given?.client || !given.server)
      return (
        'it measures between namespaces you name: give --client and --server (netns:NAME, pid:PID, ' +
        'podman:NAME or docker:NAME)'
      );
    // parse here too, so an experiment file's value is refused before anything runs
    parseEndpointSpec(given.client, '--client');
    parseEndpointSpec(given.server, '--server');
    if ((ctx.pairs ?? 1) > 1)
      return 'it measures the one pair of namespaces named by --client and --server: --pairs does not apply';
    const changes = changingOptions(ctx);
    return changes.length
      ? `it changes nothing in the namespaces it measures between, and ${changes.join(', ')} would`
      : null;
  },
  plan(ctx) {
    const { runId } = ctx;
    const { client: c, server: s, serverAddress } = existingOptions(ctx) as ExistingPlan;
    const t = draftTopology(runId, 'existing');
    const nsFor = (text: string, role: 'client' | 'server') => {
      const spec = parseEndpointSpec(text, `--${role}`);
      // a named namespace is used by its own name; the others get one of the run's at attach
      const name = spec.kind === 'netns' ? spec.name : ownedName(runId, role === 'client' ? 'c' : 's');
      if (!t.namespaces.some((n) => n.name === name))
        t.namespaces.push({ name, role, adopted: { what: describeSpec(spec) } });
      return name;
    };
    // the address is the namespace's to give: found at attach, in the family measured
    const unknown = ctx.ip === 6 ? '::' : '0.0.0.0';
    const client = { netns: nsFor(c, 'client'), ip: unknown, dev: '' };
    const server = c === s ? { ...client } : { netns: nsFor(s, 'server'), ip: unknown, dev: '' };
    EXISTING_PART.set(t, { client: c, server: s, ...(serverAddress ? { serverAddress } : {}) });
    // cnperf knows nothing of what lies between: a raw frame's next hop is not something it can name
    t.rawUnsupported =
      "between existing namespaces cnperf does not know the next hop's MAC that raw frames need: use send, " +
      'sendmmsg or tcp';
    t.xdpUnsupported =
      'between existing namespaces cnperf does not know the path an AF_XDP frame would take: use send, sendmmsg or tcp';
    return complete(t, [{ client, server }], `${c} ═(existing: nothing built)═ ${s}`);
  },
  attach: (t, { journal }) => attachExisting(t, journal),
  // Nothing to build without the user's namespaces: which container runtimes it can ask.
  doctor: () =>
    `podman: and docker: endpoints need their runtime: ` +
    `${['podman', 'docker'].map((r) => `${r} ${onPath(r) ? 'installed' : 'not installed'}`).join(', ')}`,
};

/** The options that would change the namespaces (they set devices' MTU, offloads, queues). */
function changingOptions(ctx: PlanContext): string[] {
  const out: string[] = [];
  if (ctx.mtu !== undefined) out.push('--mtu');
  if (ctx.offload) out.push('--offload');
  if (ctx.rps !== undefined) out.push('--rps');
  if (ctx.xps !== undefined) out.push('--xps');
  return out;
}
