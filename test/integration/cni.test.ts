/**
 * Real CNI plugins (Debian's containernetworking-plugins) as a datapath: every shipped configuration
 * measured, nothing left behind (namespaces, links, IPAM allocations, rules); a failing second plugin
 * undone in reverse; a SIGKILLed run's attachments deleted by `clean` from the journal.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cnperf, collect, hostSnapshot, ownedNetns, sleep, spawnCnperf, waitForStderr } from '../helpers/host.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-cni-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));
const CONFIGS = path.join(ROOT, 'experiments', 'cni');
const ipamLeft = () => (existsSync('/var/lib/cni/networks') ? readdirSync('/var/lib/cni/networks') : []);

interface Result {
  datapath: string;
  status: string;
  problem: string | null;
  samples: number;
  lost: number;
  ip: 4 | 6;
  rtt_ns: { p50: number } | null;
}

describe('CNI plugins as a datapath', () => {
  for (const f of readdirSync(CONFIGS)
    .filter((x) => x.endsWith('.conflist'))
    .sort()) {
    // an IPv6 range measured over IPv6, a dual-stack one over both families (one result each)
    const ip = f.includes('-ipv6') ? ['--ip', '6'] : f.includes('-dual') ? ['--ip', 'dual'] : [];
    it(`${f}: measured${ip.length ? ` with --ip ${ip[1]}` : ''}, and nothing of it left on the host`, async (t) => {
      const before = hostSnapshot();
      const ipamBefore = ipamLeft();
      const r = await cnperf([
        'quick',
        'cni',
        '--cni-config',
        path.join(CONFIGS, f),
        ...ip,
        '--count',
        '300',
        '--interval',
        '0',
        '--json',
        '--db',
        db,
      ]);
      const all = (JSON.parse(r.stdout) as { results: Result[] }).results;
      const [res] = all;
      assert.deepEqual(hostSnapshot(), before);
      assert.deepEqual(ipamLeft(), ipamBefore, 'an IPAM allocation was left in /var/lib/cni/networks');
      if (res!.status === 'failed' && /this kernel has no ipvlan/.test(res!.problem ?? ''))
        return t.skip(res!.problem!);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        all.map((x) => x.ip),
        ip[1] === 'dual' ? [4, 6] : [ip[1] === '6' ? 6 : 4],
      );
      for (const x of all) assert.deepEqual([x.samples, x.lost], [300, 0], `IPv${x.ip}`);
    });
  }

  it(
    'the second plugin of a chain fails ADD: its error reaches the user, DEL runs over the chain in ' +
      'reverse, the host is as it was',
    async () => {
      const log = path.join(tmp, 'calls.log');
      const conf = path.join(tmp, 'failing.conflist');
      writeFileSync(
        conf,
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'cnperf-failing',
          plugins: [
            { type: 'bridge', bridge: 'cni9', ipam: { type: 'host-local', subnet: '10.250.0.0/24' } },
            { type: 'cnperf-test-plugin', behave: 'fail-add', log },
          ],
        }),
      );
      const before = hostSnapshot();
      const r = await cnperf(['quick', 'cni', '--cni-config', conf, '--count', '10', '--db', db], {
        CNI_PATH: `${path.join(FIXTURES, 'cni-plugins')}:/usr/lib/cni`,
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /CNI ADD of plugin 'cnperf-test-plugin' failed \(code 7\): refusing on purpose — second plugin of the chain/,
      );
      const calls = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(0, 2).join(' '));
      // VERSION first, then ADD, then DEL (the runtime's, after the failure); the journal's DEL finds it done.
      assert.deepEqual(calls.filter((c) => !c.endsWith('VERSION')).slice(0, 2), [
        'cnperf-test-plugin ADD',
        'cnperf-test-plugin DEL',
      ]);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('SIGKILL mid-run: `clean` deletes the CNI attachments from the journal, then the namespaces', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf([
      'quick',
      'cni',
      '--cni-config',
      path.join(CONFIGS, 'bridge.conflist'),
      '--count',
      '100000',
      '--db',
      db,
    ]);
    const done = collect(child);
    await waitForStderr(child, /measuring/);
    await sleep(200);
    assert.ok(ownedNetns().length >= 3);
    child.kill('SIGKILL');
    await done;
    const c = await cnperf(['clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /removed CNI attachment cnperf-[a-z0-9]{6}-c \(network cnperf-bridge\)/);
    assert.deepEqual(hostSnapshot(), before);
  });

  it("one table: cnperf's own bridge next to the CNI bridge plugin's", async () => {
    const r = await cnperf([
      'quick',
      'bridge',
      'cni',
      '--cni-config',
      path.join(CONFIGS, 'bridge.conflist'),
      '--count',
      '2000',
      '--interval',
      '200us',
      '--cpus',
      '0,1',
      '--json',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [own, plugin] = (JSON.parse(r.stdout) as { results: Result[] }).results;
    assert.equal(own!.datapath, 'bridge');
    assert.equal(plugin!.datapath, 'cni');
    assert.ok(own!.rtt_ns!.p50 > 0 && plugin!.rtt_ns!.p50 > 0);
    process.stdout.write(
      `# RTT p50: cnperf bridge ` +
        `${(own!.rtt_ns!.p50 / 1000).toFixed(1)} µs, CNI bridge plugin ${(plugin!.rtt_ns!.p50 / 1000).toFixed(1)} µs\n`,
    );
  });
});
