/**
 * Host integrity under the reliability issue's remaining cases: SIGINT in every phase (build,
 * warm-up, measure, teardown — twice there), a host that has its own routes, firewall, ip_forward=0
 * and objects named like cnperf's, `clean` during a live run that then completes, and settings
 * (offloads, RPS, tracefs, sysctls) put back after a normal exit and after a failure.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cleanStale } from '../../src/local/cleanup.js';
import { runCommand, type CommandRunner } from '../../src/local/command.js';
import { Journal } from '../../src/local/journal.js';
import { ownerMark } from '../../src/local/steps.js';
import {
  cnperf,
  collect,
  hostSnapshot,
  liveEngines,
  ownedNetns,
  sleep,
  spawnCnperf,
  waitForStderr,
} from '../helpers/host.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-integrity-'));
const db = path.join(tmp, 'results.sqlite');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts cnperf, waits for a line on stderr, signals it (twice if asked), and returns its end. */
async function signalAt(
  args: string[],
  env: Record<string, string>,
  at: RegExp,
  opts: { delayMs?: number; twice?: boolean } = {},
) {
  const child = spawnCnperf([...args, '--db', db], env);
  const done = collect(child);
  await waitForStderr(child, at);
  if (opts.delayMs) await sleep(opts.delayMs);
  child.kill('SIGINT');
  if (opts.twice) {
    await sleep(100);
    child.kill('SIGINT');
  }
  return done;
}

describe('SIGINT in every phase', () => {
  it('during the build (after step 8 of a bridge): the build stops, nothing is measured, nothing left', async () => {
    const before = hostSnapshot();
    const r = await signalAt(
      ['quick', 'bridge', '--count', '1000'],
      { CNPERF_TEST_FAULT: 'pause@8' },
      /paused after step 8/,
    );
    assert.equal(r.code, 130, r.stderr);
    assert.doesNotMatch(r.stderr, /measuring \d+ round trips/);
    assert.match(r.stderr, /interrupted before measuring/);
    assert.deepEqual(hostSnapshot(), before);
  });

  it("during a stream's warm-up: stopped, nothing left", async () => {
    const before = hostSnapshot();
    const r = await signalAt(
      ['quick', 'veth', '--workload', 'stream', '--rate', '10k', '--duration', '8s', '--warmup', '5s'],
      {},
      /streaming/,
      { delayMs: 1000 },
    );
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('during the teardown, twice: the teardown is not cut short', async () => {
    const before = hostSnapshot();
    const r = await signalAt(
      ['quick', 'bridge', '--count', '200', '--interval', '0'],
      { CNPERF_TEST_FAULT: 'pause@teardown' },
      /paused at teardown/,
      { twice: true },
    );
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGINT again: still removing/);
    assert.deepEqual(hostSnapshot(), before);
  });
});

describe('a frozen engine', () => {
  it(
    'the rtt client SIGSTOPped mid-run: the run ends at its deadline, says which engine, keeps what it ' +
      'had, leaves nothing',
    async () => {
      const before = hostSnapshot();
      // A short deadline: 2000 round trips, back to back, 1 ms reply timeout, give up after one loss.
      const child = spawnCnperf([
        'quick',
        'veth',
        '--count',
        '2000',
        '--interval',
        '0',
        '--timeout',
        '1ms',
        '--max-consecutive-lost',
        '1',
        '--json',
        '--db',
        db,
      ]);
      const done = collect(child);
      await waitForStderr(child, /measuring/);
      let pid: string | undefined;
      for (let i = 0; i < 100 && !pid; i++) {
        pid = liveEngines().find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('rtt-client'));
        if (!pid) await sleep(10);
      }
      assert.ok(pid, 'no rtt-client engine found');
      process.kill(Number(pid), 'SIGSTOP');
      const r = await done;
      assert.equal(r.code, 1, r.stderr);
      const [res] = (JSON.parse(r.stdout) as { results: Array<{ status: string; problem: string }> }).results;
      assert.equal(res!.status, 'failed');
      assert.match(res!.problem, /rtt-client/);
      assert.match(r.stderr, /rtt-client/);
      assert.deepEqual(hostSnapshot(), before);
    },
  );
});

describe('a host with its own networking', () => {
  it(
    'own routes, nft table, iptables chain, ip_forward=0, and a namespace and links named like ours but ' +
      'unmarked: untouched by runs and by clean',
    async () => {
      const forward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
      const sh = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
      sh(['ip', 'route', 'add', '198.51.100.0/24', 'dev', 'lo']);
      sh(['nft', 'add', 'table', 'inet', 'cnptest_host']);
      sh([
        'nft',
        'add',
        'chain',
        'inet',
        'cnptest_host',
        'input',
        '{ type filter hook input priority 0; policy accept; }',
      ]);
      sh(['nft', 'add', 'rule', 'inet', 'cnptest_host', 'input', 'ip', 'saddr', '198.51.100.7', 'counter', 'accept']);
      sh(['iptables', '-N', 'CNPTEST']);
      sh(['iptables', '-A', 'CNPTEST', '-s', '198.51.100.7', '-j', 'RETURN']);
      writeFileSync('/proc/sys/net/ipv4/ip_forward', '0');
      sh(['ip', 'netns', 'add', 'cnpqqqqqq-c']);
      sh(['ip', 'link', 'add', 'cnpqqqqqq-a', 'type', 'veth', 'peer', 'name', 'cnpqqqqqq-b']);
      try {
        const before = hostSnapshot();
        const r = await cnperf(['quick', 'bridge', 'routed', 'vxlan', '--count', '300', '--interval', '0', '--db', db]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(hostSnapshot(), before, 'a run changed the host');
        const c = await cnperf(['clean', '--all']);
        assert.equal(c.code, 0, c.stderr);
        assert.deepEqual(hostSnapshot(), before, 'clean changed the host');
        assert.ok(ownedNetns().includes('cnpqqqqqq-c'));
        assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '0');
      } finally {
        sh(['ip', 'link', 'del', 'cnpqqqqqq-a']);
        sh(['ip', 'netns', 'del', 'cnpqqqqqq-c']);
        sh(['iptables', '-F', 'CNPTEST']);
        sh(['iptables', '-X', 'CNPTEST']);
        sh(['nft', 'delete', 'table', 'inet', 'cnptest_host']);
        sh(['ip', 'route', 'del', '198.51.100.0/24', 'dev', 'lo']);
        writeFileSync('/proc/sys/net/ipv4/ip_forward', forward);
      }
    },
  );
});

describe('clean and settings', () => {
  it('`clean` while a run is live: its objects survive and its measurement completes, whole', async () => {
    const before = hostSnapshot();
    const child = spawnCnperf(['quick', 'veth', '--count', '3000', '--interval', '1ms', '--json', '--db', db]);
    const done = collect(child);
    await waitForStderr(child, /measuring/);
    const c = await cnperf(['clean']);
    assert.match(c.stdout, /left alone: run [a-z0-9]{6} \(veth\) is live/);
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const [res] = (JSON.parse(r.stdout) as { results: Array<{ status: string; samples: number; lost: number }> })
      .results;
    assert.deepEqual([res!.status, res!.samples, res!.lost], ['ok', 3000, 0]);
    assert.deepEqual(hostSnapshot(), before);
  });

  it(
    '`clean` racing a run that starts: the namespaces it makes after clean listed the journals are left ' + 'alone',
    async () => {
      // the run "starts" while clean looks at its namespace's mark: its journal appears just then, as a
      // run's journal does when clean read the state directory a moment before it was written
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-race-'));
      const id = 'zrace1';
      const ns = `cnp${id}-c`;
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'alias', ownerMark(id)]);
        let journal: Journal | null = null;
        const run: CommandRunner = async (argv, input, timeoutMs) => {
          const r = await runCommand(argv, input, timeoutMs);
          if (argv.includes(ns) && argv.includes('lo') && !journal)
            journal = Journal.create(dir, { runId: id, kind: 'run', datapath: 'veth' });
          return r;
        };
        const r = await cleanStale({ stateDir: dir, run });
        assert.ok(journal, 'the run started during clean');
        assert.ok(ownedNetns().includes(ns), `clean removed the starting run's namespace: ${r.removed.join('; ')}`);
        // once the run is gone (its journal with it), the namespace is a leftover like any other
        rmSync(path.join(dir, `${id}.journal`));
        const again = await cleanStale({ stateDir: dir });
        assert.ok(again.removed.some((w) => w.includes(ns)));
      } finally {
        execFileSync('sh', ['-c', `ip netns del ${ns} 2>/dev/null || true`]);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('offloads, RPS/XPS and tracing are put back after a normal exit and after a failure half-way', async () => {
    const before = hostSnapshot();
    const args = [
      'quick',
      'bridge',
      '--count',
      '200',
      '--interval',
      '0',
      '--offload',
      'gro=off,tso=off',
      '--rps',
      '3',
      '--xps',
      '1',
      '--trace',
      '--db',
      db,
    ];
    const ok = await cnperf(args);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(hostSnapshot(), before);
    const failed = await cnperf(args, { CNPERF_TEST_FAULT: 'fail@20' });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr + failed.stdout, /injected failure/);
    assert.deepEqual(hostSnapshot(), before);
  });
});
