/**
 * Losses: a server that dies mid-run must be counted as lost packets, and the run must end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineProcess } from '../../src/engine-client/supervisor.js';
import { rttClientArgv, rttServerArgv, type RttClientResult } from '../../src/engine-client/protocol.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import { buildTopology } from '../../src/runner/build.js';
import { stateDir } from '../../src/paths.js';
import { RTT_DEFAULTS, runRtt } from '../../src/workloads/rtt.js';
import { hostSnapshot, sleep } from '../helpers/host.js';

describe('losses', () => {
  it('engine: a killed server shows up as lost packets and the client gives up, counting them', async () => {
    const before = hostSnapshot();
    const topo = planDatapath('veth');
    const host = await buildTopology(topo, 'run');
    try {
      const { client, server } = topo.endpoints;
      const srv = new EngineProcess(
        'rtt-server',
        rttServerArgv({ bind: server.ip, netns: server.netns, wait: 'block' }),
        30_000,
      );
      const ready = await srv.waitFor('ready');
      const cli = new EngineProcess(
        'rtt-client',
        rttClientArgv({
          server: server.ip,
          port: ready.port,
          netns: client.netns,
          wait: 'block',
          count: 100_000,
          warmup: 1,
          intervalNs: 1_000_000,
          timeoutNs: 50_000_000,
          size: 64,
          pace: 'sleep',
          maxConsecutiveLost: 20,
        }),
        60_000,
      );
      await cli.waitFor('ready');
      await sleep(300);
      process.kill(srv.pid!, 'SIGKILL');
      const exit = await cli.exited;
      const r = exit.events.find((e): e is RttClientResult => e.event === 'result' && e.role === 'rtt-client')!;
      assert.equal(r.aborted, 'peer-unresponsive');
      assert.ok(r.lost >= 19, `lost ${r.lost}`); // 20 in a row, the first may be the warm-up's neighbour
      assert.equal(r.received + r.lost, r.attempted);
      assert.ok(r.received > 50, `only ${r.received} round trips before the kill`);
      assert.ok(r.attempted < 100_000);
      assert.ok(r.refused > 0, 'ICMP port unreachable should surface as ECONNREFUSED');
    } finally {
      await host.teardown();
    }
    assert.deepEqual(hostSnapshot(), before);
  });

  it('workload: when the server dies, the run ends at once, says why, and keeps what it measured', async () => {
    const before = hostSnapshot();
    const topo = planDatapath('bridge');
    const host = await buildTopology(topo, 'run');
    const started = Date.now();
    try {
      const engines: EngineProcess[] = [];
      const pending = runRtt(
        topo.endpoints.client,
        topo.endpoints.server,
        { ...RTT_DEFAULTS, count: 100_000, intervalNs: 1_000_000 },
        { workDir: stateDir(), onEngine: (p) => engines.push(p) },
      );
      await sleep(1000);
      process.kill(engines[0]!.pid!, 'SIGKILL'); // the server
      const out = await pending;
      assert.match(out.problem ?? '', /rtt-server exited during the run \(signal SIGKILL\)/);
      assert.ok(out.client.received > 100);
      assert.equal(out.client.received + out.client.lost, out.client.attempted);
      assert.ok(Date.now() - started < 10_000, 'the run did not end promptly');
    } finally {
      await host.teardown();
    }
    assert.deepEqual(hostSnapshot(), before);
  });
});
