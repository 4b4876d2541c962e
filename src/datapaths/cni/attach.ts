/**
 * Wires a planned cni topology: every container namespace is ADDed through the network's plugin
 * chain (from inside the node), each DEL journaled before its ADD, each result checked (CHECK) and
 * its address made the container's endpoint. host-local IPAM keeps its state in the run's
 * directory unless the configuration names a dataDir, so nothing of a run is left on the host.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { netnsExists, registerHostUndoHandler, registerUndoHandler } from '../../local/undo.js';
import { registerUndoKind } from '../../local/undo-kinds.js';
import { sh } from '../../util/shell.js';
import { remotePlugins } from './cni-remote.js';
import type { JournalLike } from '../../local/journal.js';
import type { Topology } from '../../topology/model.js';
import { CNI_PART } from './cni-plan.js';
import { CniError, HERE, type PluginHost } from './plugin.js';
import { cniAdd, cniCheck, cniDel, negotiate, resultIp, type Attachment } from './runtime.js';
import type { NetworkList } from './config.js';

/** The list with host-local's dataDir pointed into the run's directory where the user gave none. */
export function withRunIpam(n: NetworkList, runDir: string): NetworkList {
  return {
    ...n,
    plugins: n.plugins.map((p) => {
      const ipam = p.ipam as Record<string, unknown> | undefined;
      return ipam?.type === 'host-local' && ipam.dataDir === undefined
        ? { ...p, ipam: { ...ipam, dataDir: path.join(runDir, 'ipam') } }
        : p;
    }),
  };
}

export async function attachCni(
  t: Topology,
  runDir: string,
  journal: JournalLike,
  host: PluginHost = HERE,
): Promise<void> {
  const plan = CNI_PART.of(t)!;
  if (host === HERE && !existsSync(runDir)) {
    await journal.append({ op: 'rm-dir', path: runDir });
    mkdirSync(runDir, { mode: 0o700 });
  }
  const network = withRunIpam(plan.network as NetworkList, runDir);
  await negotiate(network, plan.node, undefined, host);
  // In a real host's own namespace the plugins' host side outlives their DEL (the bridge plugin leaves
  // its bridge and turns on forwarding): what was not there before is journaled to go, and forwarding
  // is set back.
  if (t.namespaces.find((n) => n.name === plan.node)?.root && host.hostSide)
    await journal.appendAll(await host.hostSide(network, plan.node));
  const ips = new Map<string, string>();
  // the family measured: the plan's placeholder says it (--ip 6 plans '::'); a dual-stack network gives both
  const family = t.endpoints.client.ip.includes(':') ? 6 : 4;
  for (const c of plan.containers) {
    const a: Attachment = {
      network,
      containerId: c.containerId,
      netns: c.netns,
      ifname: c.ifname,
      runIn: plan.node,
      cacheFile: path.join(runDir, `cni-${c.containerId}.json`),
      host,
    };
    await journal.append({
      op: 'cni-del',
      network,
      netns: a.netns,
      ifname: a.ifname,
      containerId: a.containerId,
      runIn: a.runIn,
      cacheFile: a.cacheFile,
    });
    const result = await cniAdd(a);
    await cniCheck(a, result);
    const ip = resultIp(result, c.ifname, family);
    if (!ip)
      throw new CniError(
        network.plugins[network.plugins.length - 1]!.type,
        'ADD',
        null,
        `the result gives ${c.netns} no IPv${family} address: ${JSON.stringify(result.ips ?? [])}` +
          (family === 6 ? ' (an IPv6 run needs an IPv6 range: experiments/cni/bridge-ipv6.conflist)' : ''),
      );
    ips.set(c.netns, ip);
  }
  for (const pair of t.pairs) {
    for (const ep of [pair.client, pair.server]) ep.ip = ips.get(ep.netns) ?? ep.ip;
  }
}

declare module '../../local/steps.js' {
  interface UndoKinds {
    /** CNI DEL of a container's attachment (the network list, and where its ADD result is cached) */
    'cni-del': {
      network: NetworkList;
      netns: string;
      ifname: string;
      containerId: string;
      runIn: string;
      cacheFile: string;
    };
  }
}

registerUndoKind('cni-del', (o) => {
  const n = o.network as { plugins?: unknown } | undefined;
  return (
    typeof n === 'object' &&
    n !== null &&
    Array.isArray(n.plugins) &&
    ['netns', 'ifname', 'containerId', 'runIn', 'cacheFile'].every((k) => typeof o[k] === 'string')
  );
});

// DEL through the plugins on a host, where both namespaces are still there (else nothing is left to undo)
registerHostUndoHandler('cni-del', {
  describe: (u) => u.op,
  async undo(u, run) {
    const there = await run(sh('[ -e "/run/netns/$1" ] && [ -e "/run/netns/$2" ]', u.runIn, u.netns)).then(
      () => true,
      () => false,
    );
    if (!there) return 'gone';
    await cniDel({ ...u, host: remotePlugins(run, 'the host') });
    return 'removed';
  },
});

// The journal's cni-del entries (written above, before each ADD) are undone here: teardown and `cnperf
// clean` run DEL through the same chain. Without the node the plugins have nothing to undo there; the
// run directory (IPAM state) goes with its own journal entry.
registerUndoHandler('cni-del', {
  describe: (u) => `CNI attachment ${u.containerId} (network ${u.network.name}) in ${u.netns}`,
  async undo(u) {
    if (!netnsExists(u.runIn) || !netnsExists(u.netns)) return 'gone';
    await cniDel({
      network: u.network,
      containerId: u.containerId,
      netns: u.netns,
      ifname: u.ifname,
      runIn: u.runIn,
      cacheFile: u.cacheFile,
    });
    return 'removed';
  },
});
