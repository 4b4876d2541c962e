/** The live feed a run writes for cnperf serve: what readers see, and what is left after it (nothing). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LiveFeed, liveDir, readLiveRuns, removeStaleFeeds } from '../../src/runner/live.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-live-'));
const saved = process.env.CNPERF_STATE_DIR;
process.env.CNPERF_STATE_DIR = dir;
after(() => {
  if (saved === undefined) delete process.env.CNPERF_STATE_DIR;
  else process.env.CNPERF_STATE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('live feed', () => {
  it('readers see a running run with every whole sample; closing removes the file and the folder', () => {
    const feed = LiveFeed.open({ run_id: 'abc123', datapath: 'veth', workload: 'rtt', what: 'measuring' });
    feed.add({ event: 'cpu', t_s: 0.1, usr: 0.1, sys: 0.2, softirq: 0 });
    feed.add({ event: 'rate', t_s: 1, flow: 0, side: 'rx', pps: 1000, gbps: 0.5 });
    appendFileSync(path.join(liveDir(), 'abc123.ndjson'), '{"event":"cpu","t_s":0.2,'); // being written now
    const [run, ...more] = readLiveRuns();
    assert.equal(more.length, 0);
    assert.equal(run!.start.run_id, 'abc123');
    assert.equal(run!.start.pid, process.pid);
    assert.deepEqual(
      run!.samples.map((s) => s.event),
      ['cpu', 'rate'],
    );
    feed.close();
    assert.deepEqual(readLiveRuns(), []);
    assert.ok(!existsSync(liveDir()), 'the live folder outlived its last feed');
  });

  it("a killed run's feed is not shown, and clean removes it", () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
    const feed = LiveFeed.open({ run_id: 'zzz999', datapath: 'veth', workload: 'rtt', what: 'x' });
    writeFileSync(
      path.join(liveDir(), 'old111.ndjson'),
      JSON.stringify({ event: 'start', run_id: 'old111', pid: dead, datapath: 'veth', workload: 'rtt' }) + '\n',
    );
    assert.deepEqual(
      readLiveRuns().map((r) => r.start.run_id),
      ['zzz999'],
    );
    assert.equal(removeStaleFeeds(), 1);
    assert.deepEqual(readdirSync(liveDir()), ['zzz999.ndjson']); // the live one is left alone
    feed.close();
    assert.equal(removeStaleFeeds(), 0);
  });
});
