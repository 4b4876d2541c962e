/**
 * Supervision of engine processes, tested with small fake engines (shell scripts) so every failure
 * mode can be produced on demand: wrong version, garbage output, a hang, a stopped process.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EngineProcess, liveEngineCount } from '../../src/engine-client/supervisor.js';
import { ENGINE_PROTO, VERSION } from '../../src/version.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-fake-engine-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HELLO = `{"event":"hello","version":"${VERSION}","proto":${ENGINE_PROTO},"role":"rtt-server","pid":1}`;

function fakeEngine(name: string, body: string): void {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  process.env.CNPERF_ENGINE = file;
}

describe('engine supervision', () => {
  it('refuses an engine of another version and stops it', async () => {
    fakeEngine(
      'old',
      `echo '{"event":"hello","version":"0.0.1","proto":1,"role":"rtt-server","pid":1}'; exec sleep 60`,
    );
    const p = new EngineProcess('rtt-server', [], 10_000);
    await assert.rejects(p.waitFor('ready'), /engine version 0\.0\.1 .* does not match cnperf/);
    const x = await p.exited;
    assert.equal(x.signal, 'SIGKILL');
  });

  it('refuses output that is not the protocol', async () => {
    fakeEngine('garbage', `echo '${HELLO}'; echo 'Segmentation fault'; exec sleep 60`);
    const p = new EngineProcess('rtt-server', [], 10_000);
    await assert.rejects(p.waitFor('ready'), /not JSON.*Segmentation fault/);
  });

  it('turns an error event into an error naming the engine and the code', async () => {
    fakeEngine(
      'err',
      `echo '${HELLO}'; echo '{"event":"error","code":"bind","message":"bind 198.18.0.2:0: Address not ` +
        `available"}'; exit 1`,
    );
    const p = new EngineProcess('rtt-server', [], 10_000);
    await assert.rejects(p.waitFor('ready'), /rtt-server: bind 198\.18\.0\.2:0: Address not available \[bind\]/);
  });

  it('reports an engine that exits before the awaited event, with its stderr', async () => {
    fakeEngine('dies', `echo '${HELLO}'; echo 'cnperf-engine: out of sockets' >&2; exit 3`);
    const p = new EngineProcess('rtt-server', [], 10_000);
    await assert.rejects(
      p.waitFor('ready'),
      /exited \(exit code 3\) before 'ready'; stderr: cnperf-engine: out of sockets/,
    );
  });

  it('stops a hung engine at its deadline (SIGTERM)', async () => {
    fakeEngine('hang', `echo '${HELLO}'; exec sleep 60`);
    const p = new EngineProcess('rtt-client', [], 300);
    const x = await p.exited;
    assert.equal(x.stoppedBy, 'deadline');
    assert.equal(x.signal, 'SIGTERM');
  });

  it('kills a stopped (SIGSTOP) engine at its deadline: SIGTERM cannot reach it, SIGKILL does', async () => {
    fakeEngine('stopped', `echo '${HELLO}'; kill -STOP $$; sleep 60`);
    const p = new EngineProcess('rtt-client', [], 300);
    const x = await p.exited;
    assert.equal(x.stoppedBy, 'deadline');
    assert.equal(x.signal, 'SIGKILL');
  });

  it('stops the whole process group, children included', async () => {
    const marker = path.join(dir, 'child-alive');
    fakeEngine('forks', `echo '${HELLO}'; (sleep 2; touch ${marker}) & exec sleep 60`);
    const p = new EngineProcess('rtt-client', [], 10_000);
    await p.waitFor('hello');
    await p.stop();
    await new Promise((r) => setTimeout(r, 2500));
    assert.throws(() => rmSync(marker), /ENOENT/, 'the forked child outlived the stop');
    assert.equal(liveEngineCount(), 0);
  });
});
