/**
 * What happens to the host when a run is interrupted, killed, fails half-way, or meets another run.
 * Every case ends with the host exactly as it was before.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { stepsFor } from '../../src/local/steps.js';
import { planDatapath } from '../../src/datapaths/plan.js';
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

  // Every step of a bridge build and of a cross-node VXLAN build fails once: each run must say which
  // command failed, exit non-zero, and leave the host exactly as it was.
  for (const [datapath, extra] of [
    ['bridge', []],
    ['vxlan', ['--placement', 'cross-node']],
  ] as const) {
    it(`${datapath}: a failure injected at every build step is reported clearly and leaves nothing`, async () => {
      const steps = stepsFor(
        planDatapath(datapath, undefined, 1, datapath === 'vxlan' ? { placement: 'cross-node' } : {}),
      );
      assert.ok(steps.length > 20);
      const before = hostSnapshot();
      for (let k = 1; k <= steps.length; k++) {
        const r = await cnperf(['quick', datapath, ...extra, '--count', '5', '--interval', '0', '--db', db], {
          CNPERF_TEST_FAULT: `fail@${k}`,
        });
        assert.notEqual(r.code, 0, `step ${k}`);
        // the message names the step's whole command (run ids aside: every run has its own)
        const norm = (x: string) =>
          x.replace(/cnp[a-z0-9]{6}/g, 'cnpID').replace(/cnperf run [a-z0-9]{6}/g, 'cnperf run ID');
        const cmd = norm(steps[k - 1]!.argv.join(' '));
        assert.ok(
          r.stderr.includes('injected failure') && norm(r.stderr).includes(cmd),
          `step ${k} (${cmd}): ${r.stderr}`,
        );
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace reached the user');
        assert.deepEqual(hostSnapshot(), before, `step ${k} left something behind`);
      }
      process.stderr.write(`# ${datapath}: ${steps.length} fault points injected, no leak\n`);
    });
  }

  it('a read-only or full state directory is refused before the first network change', async () => {
    const { execFileSync } = await import('node:child_process');
    const before = hostSnapshot();
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'cnperf-statefs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', mnt]);
      let r = await cnperf(['quick', 'veth', '--count', '5', '--db', db], {
        CNPERF_STATE_DIR: path.join(mnt, 'state'),
      });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /read-only file system/);
      execFileSync('umount', [mnt]);
      // root's alone, as a state directory must be
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k,mode=700', 'tmpfs', mnt]);
      execFileSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'fill')}`, 'bs=4k', 'count=2'], { stdio: 'ignore' });
      r = await cnperf(['topo', 'up', 'bridge'], { CNPERF_STATE_DIR: mnt });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /its file system is full/);
    } finally {
      try {
        execFileSync('umount', [mnt]);
      } catch {
        /* not mounted */
      }
      rmSync(mnt, { recursive: true, force: true });
    }
    assert.deepEqual(hostSnapshot(), before);
  });

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
    // doctor and topo up build datapaths too: they wait their turn the same way, and build nothing.
    for (const args of [['doctor'], ['topo', 'up', 'veth']]) {
      const other = await cnperf(args);
      assert.equal(other.code, 3, `${args.join(' ')}: ${other.stderr}`);
      assert.match(other.stderr, new RegExp(`another cnperf run is measuring \\(pid ${child.pid}`));
      assert.deepEqual(ownedNetns(), live, `${args.join(' ')} built something while a run measured`);
    }
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
