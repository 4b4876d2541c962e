/**
 * What keeps a real host reachable and a run's inputs bounded (the safety audit's items that need no
 * root): the NIC a host is reached by is never taken over, ssh never accepts an unknown host key
 * whatever the user's ssh config says, and no option or product of options is unbounded.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { TRUSTED_STATE_DIR } from '../../src/remote/remote-host.js';
import { undoAll } from '../../src/local/undo.js';
import { ON_A_HOST } from '../../src/remote/remote-undo.js';
import os from 'node:os';
import path from 'node:path';
import { runCommand, type CommandRunner } from '../../src/local/command.js';
import { adoptNamespace } from '../../src/local/adopt.js';
import type { Step } from '../../src/local/steps.js';
import { runBatch } from '../../src/remote/batch.js';
import type { RemoteHost } from '../../src/remote/remote-host.js';
import type { RemoteJournal } from '../../src/remote/remote-journal.js';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import { SshHost } from '../../src/remote/ssh.js';
import type { PlanHost } from '../../src/datapaths/nodes.js';
import { UserError } from '../../src/util/errors.js';
import { OPTIONS, type OptionDef } from '../../src/options/options.js';
import { parseQuickArgs } from '../../src/cli/quick.js';

const host = (name: string, address: string, nicCarriesAddress: boolean | undefined, nic = 'eth1'): PlanHost => ({
  name,
  address,
  nic,
  mtu: 1500,
  ...(nicCarriesAddress === undefined ? {} : { nicCarriesAddress }),
});

function refused(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message));
}

describe("a host's management NIC", () => {
  it(
    'macvlan passthru is refused where the NIC carries the address, or may (nothing named, or not yet ' + 'checked)',
    () => {
      const cross = (a: PlanHost, b: PlanHost) => () =>
        planDatapath('macvlan', 'abcdef', 1, { placement: 'cross-node', mode: 'passthru', hosts: [a, b] });
      refused(
        cross(host('a', '198.19.10.1', true, 'NIC'), host('b', '198.19.10.2', true, 'NIC')),
        /host a's NIC \(none named in the inventory\), which would be the one routing/,
      );
      refused(
        cross(host('a', '198.19.10.1', false), host('b', '198.19.10.2', true)),
        /takes over host b's NIC \(eth1\), which carries 198\.19\.10\.2/,
      );
      // named in the inventory, not yet connected: allowed to plan; connecting decides
      assert.doesNotThrow(cross(host('a', '198.19.10.1', undefined), host('b', '198.19.10.2', undefined)));
      // a second NIC, without the address: the run may take it
      assert.doesNotThrow(cross(host('a', '198.19.10.1', false, 'eth2'), host('b', '198.19.10.2', false, 'eth2')));
      // the other modes leave the NIC its own traffic
      assert.doesNotThrow(() =>
        planDatapath('macvlan', 'abcdef', 1, {
          placement: 'cross-node',
          mode: 'bridge',
          hosts: [host('a', '198.19.10.1', true), host('b', '198.19.10.2', true)],
        }),
      );
    },
  );

  it('a CNI configuration whose plugins would take the NIC over is refused on a real host', () => {
    const network = (plugin: Record<string, unknown>) => ({
      cniVersion: '1.0.0',
      name: 'n',
      disableCheck: false,
      file: 'f',
      plugins: [{ type: 'x', ...plugin }],
    });
    const onHost = (plugin: Record<string, unknown>) => () =>
      planDatapath('cni', 'abcdef', 1, { own: { cni: network(plugin) }, hosts: [host('a', '198.19.10.1', true)] });
    refused(
      onHost({ type: 'host-device', device: 'eth1' }),
      /host-device plugin \(device eth1\) takes over host a's NIC/,
    );
    refused(onHost({ type: 'host-device', device: 'eth7' }), /would move host a's device eth7 into a container/);
    refused(onHost({ type: 'macvlan', mode: 'passthru' }), /macvlan plugin in passthru mode takes over host a's NIC/);
    assert.doesNotThrow(
      onHost({
        type: 'macvlan',
        mode: 'bridge',
        master: 'eth1',
        ipam: { type: 'host-local', subnet: '198.18.246.0/24' },
      }),
    );
  });
});

describe('ssh', () => {
  it("checks host keys strictly, whatever the user's ssh config says (accept-new, no)", () => {
    const ssh = new SshHost(
      { name: 'a', address: '198.19.10.1', user: 'root', port: 22 },
      '/run/cnperf/cnpabcdef/ssh-0',
    );
    const opts = ssh.options();
    const i = opts.indexOf('StrictHostKeyChecking=yes');
    assert.ok(i > 0 && opts[i - 1] === '-o', opts.join(' '));
    assert.ok(!opts.some((o) => /StrictHostKeyChecking=(no|accept-new|off)/.test(o)));
  });
});

describe('bounded inputs', () => {
  it('every numeric option refuses an absurd value: its range is in the option table (or its workload)', () => {
    const absurd = (value: string) =>
      /DURATION|1ms/.test(value)
        ? '100000s'
        : /BYTES/.test(value)
          ? '100G'
          : /PERCENT/.test(value)
            ? '1000%'
            : '1000000000000';
    const unbounded: string[] = [];
    for (const [name, d] of Object.entries(OPTIONS) as Array<[string, OptionDef<unknown>]>) {
      if (d.type !== 'string' || !d.value || !/\bN\b|BYTES|DURATION|PERCENT|PPS|K\b|\d\.\.\d/.test(d.value)) continue;
      const workload = Array.isArray(d.for) ? d.for[0]! : 'rtt';
      try {
        parseQuickArgs([...(name === 'hosts' ? [] : ['veth']), `--${name}`, absurd(d.value), '--workload', workload]);
        unbounded.push(`--${name} ${absurd(d.value)}`);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
      }
    }
    assert.deepEqual(unbounded, []);
  });

  it('Services × endpoints is bounded, not only each on its own', () => {
    refused(
      () =>
        parseQuickArgs([
          'bridge',
          '--service-proxy',
          'iptables',
          '--services',
          '2000',
          '--endpoints-per-service',
          '100',
          '--workload',
          'crr',
        ]),
      /= 200000 endpoints: at most 100000/,
    );
    assert.doesNotThrow(() =>
      parseQuickArgs([
        'bridge',
        '--service-proxy',
        'iptables',
        '--services',
        '1000',
        '--endpoints-per-service',
        '100',
        '--workload',
        'crr',
      ]),
    );
  });
});

describe("a host's batch of steps", () => {
  it(
    'goes on stdin, not argv: 3000 steps (~400 KB of script, over the 128 KiB an argument may hold) run, ' +
      'each journaled first',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-batch-'));
      try {
        const journalPath = path.join(dir, 'x.journal');
        writeFileSync(journalPath, '');
        const recorded: unknown[] = [];
        // this machine stands in for the host: its runner is the one ssh would carry the argv and stdin to
        const host = {
          name: 'a',
          check() {},
          ssh: { run: runCommand, tryRun: async () => ({ code: 1, stdout: '', stderr: '' }) },
        } as unknown as RemoteHost;
        const journal = {
          path: journalPath,
          record: (u: unknown[]) => recorded.push(...u),
          sync() {},
        } as unknown as RemoteJournal;
        const steps: Step[] = Array.from({ length: 3000 }, (_, i) => ({
          argv: ['test', '-n', `step-${i}-${'x'.repeat(100)}`],
          undo: { op: 'del-netns', netns: `cnpabcdef-${i}` },
        }));
        await runBatch(host, journal, steps);
        assert.equal(readFileSync(journalPath, 'utf8').trim().split('\n').length, 3000);
        assert.equal(recorded.length, 3000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('existing endpoints', () => {
  it('a process that exists is never called missing: pid 1 is entered, or said to be unreadable', async () => {
    const ran: string[][] = [];
    const run: CommandRunner = async (argv) => (ran.push([...argv]), { stdout: '', stderr: '' });
    const journal = { append() {} };
    await assert.rejects(
      adoptNamespace('cnpabcdef-s', 2 ** 22 + 1, 'process 4194305 (--server)', journal, run),
      /process 4194305 does not exist$/,
    );
    try {
      await adoptNamespace('cnpabcdef-c', 1, 'process 1 (--client)', journal, run);
      assert.deepEqual(ran, [['ip', 'netns', 'attach', 'cnpabcdef-c', '1']]);
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.doesNotMatch(e.message, /does not exist/);
      assert.match(e.message, /process 1 exists, but its network namespace cannot be opened/);
    }
  });
});

describe('a pidfile whose pid was reused', () => {
  for (const where of ['here', 'on a host']) {
    it(`${where}: a process that started after the pidfile was written is not stopped; ours is`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-pidfile-'));
      const other = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        const pidfile = path.join(dir, 'daemon.pid');
        writeFileSync(pidfile, `${other.pid}\n`);
        // the pidfile is older than the process: ours died, and this one got its pid
        const past = new Date(Date.now() - 3600_000);
        utimesSync(pidfile, past, past);
        const undo = { op: 'kill-pidfile', pidfile, comm: 'sleep' } as const;
        const place = where === 'here' ? undefined : ON_A_HOST.undo;
        assert.deepEqual(await undoAll([undo], runCommand, place), {
          removed: [],
          alreadyGone: [`sleep (${pidfile})`],
          failed: [],
        });
        assert.equal(other.exitCode, null, 'the other process lives');
        // written after the process started: ours, stopped
        utimesSync(pidfile, new Date(), new Date());
        const r = await undoAll([undo], runCommand, place);
        assert.equal(r.removed.length, 1, JSON.stringify(r));
        await new Promise((resolve) =>
          other.exitCode !== null || other.signalCode !== null ? resolve(null) : other.once('exit', resolve),
        );
      } finally {
        other.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("a host's state directory", () => {
  it('is made mode 700, and refused (on the host, by the same script) when others could write it', () => {
    const d = path.join(mkdtempSync(path.join(os.tmpdir(), 'cnperf-hoststate-')), 'cnperf');
    const check = () => spawnSync('sh', ['-c', TRUSTED_STATE_DIR, 'sh', d], { encoding: 'utf8' });
    assert.equal(check().status, 0);
    assert.equal(statSync(d).mode & 0o777, 0o700);
    chmodSync(d, 0o777);
    const r = check();
    assert.equal(r.status, 3);
    assert.match(r.stderr, /writable by others \(mode 777\)/);
  });
});
