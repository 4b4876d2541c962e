/**
 * What happens to the host when a run is interrupted, killed, fails half-way, or meets another run.
 * Every case ends with the host exactly as it was before.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { collect, cnperf, hostSnapshot, ownedNetns, sleep, spawnCnperf, waitForStderr } from '../helpers/host.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-lifecycle-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

const LONG_RUN = ['quick', 'veth', '--count', '1000000', '--interval', '1ms', '--db', db];

describe('run lifecycle', () => {
  it('SIGINT mid-run: engines stopped, datapath removed, exit 130, nothing left', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf(LONG_RUN);
    const done = collect(child);
    await waitForStderr(child, /measuring/);
    await sleep(300);
    assert.ok(ownedNetns().length > 0, 'the datapath should exist while measuring');
    child.kill('SIGINT');
    child.kill('SIGINT'); // a second signal must not cut the teardown short
    const r = await done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT: stopping/);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('SIGKILL mid-run: engines die with cnperf; `cnperf clean` removes the rest and says what', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf(LONG_RUN);
    const done = collect(child);
    await waitForStderr(child, /measuring \d+ round trips \(run ([a-z0-9]{6})\)/);
    const left = ownedNetns();
    child.kill('SIGKILL');
    await done;
    await sleep(200);
    assert.equal(hostSnapshot().engines, '', 'an engine outlived cnperf (PR_SET_PDEATHSIG)');
    assert.deepEqual(ownedNetns(), left, 'SIGKILL leaves the namespaces; clean must remove them');
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    for (const ns of left) assert.match(c.stdout, new RegExp(`removed namespace ${ns} \\(run [a-z0-9]{6}\\)`));
    assert.deepEqual(hostSnapshot(), before);
    const again = await cnperf(['clean']);
    assert.match(again.stdout, /nothing to clean/);
  });

  it('SIGKILL during an ovs run: its daemons outlive cnperf; `cnperf clean` stops them from the journal', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf(['quick', 'ovs', '--count', '1000000', '--interval', '1ms', '--db', db]);
    const done = collect(child);
    await waitForStderr(child, /measuring/);
    child.kill('SIGKILL');
    await done;
    assert.notEqual(hostSnapshot().daemons, '', 'the OVS daemons detach: they should still run here');
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /removed ovs-vswitchd \(/);
    assert.match(c.stdout, /removed ovsdb-server \(/);
    await sleep(200);
    assert.deepEqual(hostSnapshot(), before);
  });

  for (const step of [1, 4, 9, 14]) {
    it(`a failure injected at build step ${step} is reported clearly and leaves nothing`, async () => {
      const before = hostSnapshot();
      const r = await cnperf(['quick', 'bridge', '--count', '10', '--db', db], { CNPERF_TEST_FAULT: `fail@${step}` });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /injected failure/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace reached the user');
      assert.deepEqual(hostSnapshot(), before);
    });
  }

  it('killed right after build step 10: clean recovers from the journal alone', async () => {
    const before = hostSnapshot();
    const r = await cnperf(['quick', 'bridge', '--count', '10', '--db', db], { CNPERF_TEST_FAULT: 'kill@10' });
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(ownedNetns().length > 0);
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('a second run is refused while one measures (naming its pid); clean leaves the live run alone', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf(LONG_RUN);
    const done = collect(child);
    await waitForStderr(child, /measuring/);
    const live = ownedNetns();
    const second = await cnperf(['quick', 'loopback', '--count', '10', '--db', db]);
    assert.equal(second.code, 3);
    assert.match(second.stderr, new RegExp(`another cnperf run is measuring \\(pid ${child.pid}, run [a-z0-9]{6}\\)`));
    const c = await cnperf(['clean']);
    assert.match(c.stdout, /left alone: run [a-z0-9]{6} \(veth\) is live/);
    assert.deepEqual(ownedNetns(), live, 'clean touched a live run');
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 143);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('clean removes a marked namespace whose journal is lost, and never an unmarked one named like ours', async () => {
    const { execFileSync } = await import('node:child_process');
    const before = hostSnapshot();
    execFileSync('ip', ['netns', 'add', 'cnpzzzzzz-orphan']);
    execFileSync('ip', ['-n', 'cnpzzzzzz-orphan', 'link', 'set', 'lo', 'alias', 'cnperf run zzzzzz']);
    execFileSync('ip', ['netns', 'add', 'cnpyyyyyy-notours']);
    try {
      const c = await cnperf(['clean']);
      assert.match(c.stdout, /removed namespace cnpzzzzzz-orphan \(run zzzzzz, no journal\)/);
      assert.deepEqual(ownedNetns(), ['cnpyyyyyy-notours']);
    } finally {
      execFileSync('ip', ['netns', 'del', 'cnpyyyyyy-notours']);
    }
    assert.deepEqual(hostSnapshot(), before);
  });
});
