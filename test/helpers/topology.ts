/** A datapath built before a suite's tests and removed after them, the host checked to be as it was. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import type { HostExecutor } from '../../src/local/executor.js';
import { buildTopology } from '../../src/runner/build.js';
import type { Topology } from '../../src/topology/model.js';
import { hostSnapshot, type HostSnapshot } from './host.js';

/** Call inside describe(); the returned function gives the topology once the suite's before has run. */
export function topologyForSuite(datapath: string): () => Topology {
  let topo: Topology | null = null;
  let host: HostExecutor | null = null;
  let snapshot: HostSnapshot;
  before(async () => {
    snapshot = hostSnapshot();
    topo = planDatapath(datapath);
    host = await buildTopology(topo, 'run');
  });
  after(async () => {
    await host?.teardown();
    assert.deepEqual(hostSnapshot(), snapshot);
  });
  return () => {
    if (!topo) throw new Error("topologyForSuite: the topology is built in the suite's before()");
    return topo;
  };
}
