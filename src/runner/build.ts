/**
 * Building a planned topology on this host: the topology's steps through the journaled executor, the
 * datapath's own lifecycle hook (CNI ADD, ...), then readiness. A failure anywhere tears down what was
 * built before it is rethrown.
 */
import path from 'node:path';
import { getDatapath } from '../datapaths/registry.js';
import { HostExecutor } from '../local/executor.js';
import { Journal } from '../local/journal.js';
import { waitReady } from '../local/ready.js';
import { stepsFor } from '../local/steps.js';
import { stateDir } from '../paths.js';
import type { Topology } from '../topology/model.js';
import { bootGuests } from '../vm/boot.js';

export async function buildTopology(topo: Topology, kind: 'run' | 'topo'): Promise<HostExecutor> {
  const journal = Journal.create(stateDir(), { runId: topo.runId, kind, datapath: topo.datapath });
  const host = new HostExecutor(journal);
  try {
    await host.apply(stepsFor(topo));
    const runDir = path.join(stateDir(), `cnp${topo.runId}`);
    const datapath = getDatapath(topo.datapath);
    await datapath.attach?.(topo, { journal, runDir });
    // VM endpoints boot on the built datapath (their taps exist); the taps get carrier as qemu opens them.
    await bootGuests(topo, journal, runDir);
    await waitReady(topo, undefined, undefined, datapath.readiness?.(topo).conditions);
  } catch (e) {
    await host.teardown();
    throw e;
  }
  return host;
}
