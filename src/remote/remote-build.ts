/**
 * Building a plan across real hosts: each host's part through the same journaled executor as here,
 * its commands over ssh and its journal on the host; the run's directory there (the engines'
 * pidfiles); every namespace of the part registered to run its engines on that host; then each
 * host's readiness. A failure anywhere tears down every host's part before it is rethrown.
 */
import { registerEngineHost, unregisterEngineHost } from '../engine-client/guest.js';
import { HostExecutor, type TeardownReport } from '../local/executor.js';
import { readyConditions, READY_TIMEOUT_MS } from '../local/ready.js';
import { stepsFor } from '../local/steps.js';
import type { ReadyCondition } from '../local/wire.js';
import type { Topology } from '../topology/model.js';
import { RemoteEngineHost } from './remote-engines.js';
import { REMOTE_STATE_DIR, type RemoteHost } from './remote-host.js';
import { RemoteJournal } from './remote-journal.js';
import { ON_A_HOST } from './remote-undo.js';
import { runBatch } from './batch.js';
import { getDatapath } from '../datapaths/registry.js';
import { splitByHost } from './split.js';
import { sections, sh } from '../util/shell.js';

export interface HostPart {
  host: RemoteHost;
  part: Topology;
  exec: HostExecutor<RemoteJournal>;
}

export class AcrossHosts {
  constructor(readonly parts: HostPart[]) {}

  /** Every host's teardown (each journal replayed backwards there); failures name their host. */
  async teardown(): Promise<TeardownReport> {
    const all: TeardownReport = { removed: [], alreadyGone: [], failed: [] };
    for (const { host, part, exec } of this.parts) {
      for (const ns of part.namespaces) unregisterEngineHost(ns.name);
      let r: TeardownReport;
      try {
        // a host whose connection broke cannot be reached now: its journal there keeps what to undo
        if (host.lost && host.lost !== 'closed')
          throw new Error(
            `${host.lost}; what the run left there is in its journal on the host, and \`cnperf clean ` +
              `--hosts FILE\` removes it once the host is reachable`,
          );
        r = await exec.teardown();
      } catch (e) {
        r = {
          removed: [],
          alreadyGone: [],
          failed: [{ what: 'the run', error: e instanceof Error ? e.message : String(e) }],
        };
      }
      all.removed.push(...r.removed.map((x) => `${host.name}: ${x}`));
      all.alreadyGone.push(...r.alreadyGone.map((x) => `${host.name}: ${x}`));
      all.failed.push(...r.failed.map((f) => ({ what: `host ${host.name}: ${f.what}`, error: f.error })));
    }
    return all;
  }
}

export async function buildOnHosts(
  topo: Topology,
  hosts: readonly RemoteHost[],
  kind: 'run' | 'topo',
): Promise<AcrossHosts> {
  const split = splitByHost(topo);
  const built = new AcrossHosts([]);
  try {
    for (const [name, part] of split) {
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`internal: the plan uses host ${name}, which is not connected`);
      host.check();
      const journal = await RemoteJournal.create(host, { runId: topo.runId, kind, datapath: topo.datapath });
      const exec = new HostExecutor(journal, host.ssh.run, {
        ...ON_A_HOST,
        batch: (steps) => runBatch(host, journal, steps),
      });
      built.parts.push({ host, part, exec });
      const runDir = `${REMOTE_STATE_DIR}/cnp${topo.runId}`;
      await exec.apply([
        { argv: ['mkdir', '-m', '700', runDir], undo: { op: 'rm-dir', path: runDir } },
        ...stepsFor(part),
      ]);
      // the datapath's own lifecycle on the host (the CNI plugins ADDing its containers)
      await getDatapath(topo.datapath).attach?.(part, {
        journal,
        runDir,
        host: { name: host.name, run: host.ssh.run },
      });
      const engines = new RemoteEngineHost(host, journal.path, runDir);
      for (const ns of part.namespaces) registerEngineHost(ns.name, engines);
    }
    for (const { host, part } of built.parts) {
      const extra = getDatapath(topo.datapath).readiness?.(part);
      await waitReadyOn(host, readyConditions(part, extra?.conditions), extra?.bridges && new Set(extra.bridges));
    }
  } catch (e) {
    await built.teardown();
    throw e;
  }
  return built;
}

interface LinkState {
  ifname: string;
  master?: string;
  flags?: string[];
  linkinfo?: { info_slave_kind?: string; info_slave_data?: { state?: string } };
}

/** Which conditions hold, from each namespace's `ip -d -j link show`. Pure. */
export function unmet(
  conditions: readonly ReadyCondition[],
  links: ReadonlyMap<string, LinkState[]>,
  masters?: ReadonlySet<string>,
): ReadyCondition[] {
  return conditions.filter((c) => {
    const devs = links.get(c.netns) ?? [];
    const forwarding = (l: LinkState) =>
      l.linkinfo?.info_slave_kind !== 'bridge' || l.linkinfo.info_slave_data?.state === 'forwarding';
    // (masters: only the ports of these bridges count — a host's own namespace has bridges of its own)
    if (c.op === 'wait-ports')
      return !devs.filter((l) => !masters || (l.master !== undefined && masters.has(l.master))).every(forwarding);
    const l = devs.find((d) => d.ifname === c.dev);
    if (!l) return true;
    return c.op === 'wait-carrier' ? !(l.flags ?? []).includes('LOWER_UP') : !forwarding(l);
  });
}

/** Polls the host until every device has carrier and every bridge port forwards (no cnperf-wire there). */
async function waitReadyOn(
  host: RemoteHost,
  conditions: ReadyCondition[],
  masters?: ReadonlySet<string>,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const namespaces = [...new Set(conditions.map((c) => c.netns))];
  if (!namespaces.length) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = (
      await host.ssh.run(sh('for n; do printf "\\n@@%s\\n" "$n"; ip -n "$n" -d -j link show; done', ...namespaces))
    ).stdout;
    const links = new Map([...sections(out)].map(([ns, json]) => [ns, JSON.parse(json || '[]') as LinkState[]]));
    const left = unmet(conditions, links, masters);
    if (!left.length) return;
    if (Date.now() > deadline)
      throw new Error(
        `host ${host.name}: the datapath was not ready ` +
          `${timeoutMs} ms after it was built: ` +
          `${left
            .map(
              (c) =>
                `${c.netns}` +
                `${'dev' in c ? `/${c.dev}` : ''}: ${c.op === 'wait-carrier' ? 'no carrier' : 'not forwarding'}`,
            )
            .join('; ')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
