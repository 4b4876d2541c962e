/**
 * --dry-run prints what a run executes: the same builders make both, and this test runs a workload
 * for real, catches the engine command lines it spawned, and compares them with the dry run's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import type { EngineProcess } from '../../src/engine/supervisor.js';
import type { HostExecutor } from '../../src/host/executor.js';
import { stateDir } from '../../src/paths.js';
import { buildTopology } from '../../src/runner/build.js';
import type { Topology } from '../../src/topology/model.js';
import { RTT_DEFAULTS, rttCommands, runRtt } from '../../src/workloads/rtt.js';
import { STREAM_DEFAULTS, runStream, streamCommands } from '../../src/workloads/stream.js';
import { hostSnapshot, type HostSnapshot } from '../helpers/host.js';

/** What may differ between a dry run and a run: the port the server reports, the sample files' tag. */
const normalize = (argv: readonly string[]) => argv.map((a) => a.replace(/:\d+$/, ':PORT').replace(/-(\d+-\d+|PID-TIME)\.bin$/, '-TAG.bin'));

describe('dry run = run', () => {
  let topo: Topology;
  let host: HostExecutor;
  let snapshot: HostSnapshot;
  before(async () => {
    snapshot = hostSnapshot();
    topo = planDatapath('veth');
    host = await buildTopology(topo, 'run');
  });
  after(async () => {
    await host.teardown();
    assert.deepEqual(hostSnapshot(), snapshot);
  });

  it('stream: the receiver and sender argv, --rcvbuf included', async () => {
    const p = { ...STREAM_DEFAULTS, durationNs: 1e9, warmupNs: 0, ratePps: 1000, rcvbuf: 1 << 20 };
    const ran: string[][] = [];
    await runStream(topo.endpoints.client, topo.endpoints.server, p, { onEngine: (e: EngineProcess) => ran.push([...e.argv]) });
    const planned = streamCommands(topo, p).map((c) => c.argv);
    assert.deepEqual(ran.map(normalize), planned.map(normalize));
    assert.ok(ran[0]!.includes('--rcvbuf'));
  });

  it('rtt: the server and client argv, sample files included', async () => {
    const p = { ...RTT_DEFAULTS, count: 50, intervalNs: 0, raw: true };
    const ran: string[][] = [];
    await runRtt(topo.endpoints.client, topo.endpoints.server, p, { workDir: stateDir(), onEngine: (e) => ran.push([...e.argv]) });
    const planned = rttCommands(topo, p, stateDir()).map((c) => c.argv);
    assert.deepEqual(ran.map(normalize), planned.map(normalize));
    assert.ok(ran[1]!.includes('--raw-out'));
  });
});
