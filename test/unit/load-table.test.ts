/**
 * The load table over load levels: each level's own warnings (a probe phase-locked to that level's
 * load), none for the idle level, whose row says idle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTable } from '../../src/report/run-tables.js';
import type { RunRecord } from '../../src/store/db.js';

const run = (id: string, level: string, ratePps: number): RunRecord =>
  ({
    id,
    datapath: 'veth',
    workload: 'load',
    samples: 100,
    lost: 0,
    status: 'ok',
    problem: null,
    topology: null,
    params: { level, probe: { interval_ns: 1_000_000 }, load: { api: 'send', rate_pps: ratePps, burst: 1 } },
    summary: {
      level,
      stream: null,
      worst: [],
      timing: 'open-loop',
      placement: { shared: 'the load sender shares CPU 1 with the probe server' },
    },
  }) as unknown as RunRecord;

describe('load table over levels', () => {
  it("warns of a phase-locked probe on that level's row only; the idle row says idle and shares nothing", () => {
    const text = loadTable([run('idle01', 'idle', 0), run('onek01', '1k', 1000), run('drift1', '997', 997)]);
    assert.match(text, /^veth +idle +– .*idle01$/m);
    assert.match(text, /onek01: warning: the probe's period \(1 ms\) is a whole multiple of the load's/);
    assert.doesNotMatch(text, /idle01: (warning|the load sender)/);
    assert.doesNotMatch(text, /drift1: warning/);
  });
});
