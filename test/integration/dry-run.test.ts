/**
 * --dry-run prints what a run executes: the same builders make both, and this test runs a workload
 * for real, catches the engine command lines it spawned, and compares them with the dry run's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EngineProcess } from '../../src/engine-client/supervisor.js';
import { stateDir } from '../../src/paths.js';
import { RTT_DEFAULTS, rttCommands, runRtt } from '../../src/workloads/rtt.js';
import { runStream, streamCommands } from '../../src/workloads/stream.js';
import { STREAM_DEFAULTS } from '../../src/workloads/stream-params.js';
import { topologyForSuite } from '../helpers/topology.js';

/** What may differ between a dry run and a run: the port the server reports, the sample files' tag. */
const normalize = (argv: readonly string[]) =>
  argv.map((a) => a.replace(/:\d+$/, ':PORT').replace(/-(\d+-\d+|PID-TIME)\.bin$/, '-TAG.bin'));

describe('dry run = run', () => {
  const topology = topologyForSuite('veth');

  it('stream: the receiver and sender argv, --rcvbuf included', async () => {
    const p = { ...STREAM_DEFAULTS, durationNs: 1e9, warmupNs: 0, ratePps: 1000, rcvbuf: 1 << 20 };
    const ran: string[][] = [];
    await runStream(topology().endpoints.client, topology().endpoints.server, p, {
      onEngine: (e: EngineProcess) => ran.push([...e.argv]),
    });
    const planned = streamCommands(topology(), p).map((c) => c.argv);
    assert.deepEqual(ran.map(normalize), planned.map(normalize));
    assert.ok(ran[0]!.includes('--rcvbuf'));
  });

  it('rtt: the server and client argv, sample files included', async () => {
    const p = { ...RTT_DEFAULTS, count: 50, intervalNs: 0, raw: true };
    const ran: string[][] = [];
    await runRtt(topology().endpoints.client, topology().endpoints.server, p, {
      workDir: stateDir(),
      onEngine: (e) => ran.push([...e.argv]),
    });
    const planned = rttCommands(topology(), p, stateDir()).map((c) => c.argv);
    assert.deepEqual(ran.map(normalize), planned.map(normalize));
    assert.ok(ran[1]!.includes('--raw-out'));
  });
});
