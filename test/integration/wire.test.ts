/**
 * cnperf-wire against the real kernel: every netlink request has exactly the effect of the `ip`
 * command the plan shows for it (the same datapath built both ways, every object's every attribute
 * compared); readiness follows the kernel's link events; refusals leave nothing; 500 pairs build and
 * go, leaving the host as it was.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { planDatapath } from '../../src/datapaths/plan.js';
import type { DatapathOptions } from '../../src/datapaths/types.js';
import { HostExecutor } from '../../src/local/executor.js';
import { Journal } from '../../src/local/journal.js';
import { waitReady } from '../../src/local/ready.js';
import { stepsFor } from '../../src/local/steps.js';
import { runWire } from '../../src/local/wire.js';
import { runCommand } from '../../src/local/command.js';
import { stateDir } from '../../src/paths.js';
import type { Topology } from '../../src/topology/model.js';
import { RTT_DEFAULTS, runRtt } from '../../src/workloads/rtt.js';
import { cnperf, hostSnapshot, sleep } from '../helpers/host.js';

/** Attributes that differ between any two builds (indexes, random MACs, timers, STP ids). */
const VOLATILE = new RegExp(
  '"(address|broadcast|perm_address|ifindex|link_index|link_netnsid|id|no|root_id|bridge_id|designated_root|' +
    'designated_bridge|designated_port|port_id|hello_timer|tcn_timer|topology_change_timer|gc_timer|' +
    'forward_delay_timer|message_age_timer|hold_timer)":("[^"]*"|[\\d.]+)',
  'g',
);

/** Every link, address and route of every namespace of t, with run ids and volatile values masked. */
function kernelState(t: Topology): string {
  const out: Record<string, unknown> = {};
  for (const ns of t.namespaces) {
    const ip = (...args: string[]) =>
      JSON.parse(
        execFileSync('ip', ['-n', ns.name, '-d', '-j', ...args], { encoding: 'utf8' })
          .replaceAll(t.runId, 'ID')
          .replace(VOLATILE, '"$1":"X"'),
      ) as unknown;
    out[ns.name.replace(t.runId, 'ID')] = {
      links: ip('link', 'show'),
      addresses: ip('addr', 'show'),
      routes: ip('route', 'show'),
    };
  }
  return JSON.stringify(out, null, 1);
}

async function build(t: Topology, asIpCommands: boolean): Promise<HostExecutor> {
  const host = new HostExecutor(Journal.create(stateDir(), { runId: t.runId, kind: 'run', datapath: t.datapath }));
  try {
    // without `net`, a step runs as the ip command it shows
    await host.apply(asIpCommands ? stepsFor(t).map(({ net: _net, ...s }) => s) : stepsFor(t));
    await waitReady(t);
  } catch (e) {
    await host.teardown();
    throw e;
  }
  return host;
}

describe('cnperf-wire', () => {
  const cases: Array<[string, DatapathOptions]> = [
    ['bridge', { placement: 'cross-node', mtu: 1400 }],
    ['bridge', { placement: 'cross-node', fabric: 'switch' }],
    ['vxlan', { placement: 'cross-node' }],
    ['routed', { placement: 'cross-node', pairs: 2 }],
    ['macvlan', { pairs: 2 }],
    // its kernel steps only (planned MACs on veths); its BPF programs are tested in ebpf.test.ts
    ['tcx', { placement: 'cross-node' }],
  ];
  for (const [datapath, options] of cases) {
    it(
      `${datapath} ${JSON.stringify(options)}: built over netlink = built with ip, attribute for ` + `attribute`,
      async () => {
        const before = hostSnapshot();
        const viaIp = planDatapath(datapath, undefined, 1, options);
        const viaWire = planDatapath(datapath, undefined, 1, options);
        for (const t of [viaIp, viaWire]) delete t.bpf;
        const a = await build(viaIp, true);
        try {
          const b = await build(viaWire, false);
          try {
            await sleep(1000); // operstates settle in linkwatch: compare the settled states
            const [sa, sb] = [kernelState(viaIp), kernelState(viaWire)];
            assert.ok(sa.length > 1000);
            assert.equal(sb, sa);
          } finally {
            assert.equal((await b.teardown()).failed.length, 0);
          }
        } finally {
          assert.equal((await a.teardown()).failed.length, 0);
        }
        assert.deepEqual(hostSnapshot(), before);
      },
    );
  }

  it('readiness follows link events: a port whose container end comes up late is waited for, then ready', async () => {
    const t = planDatapath('bridge');
    const host = new HostExecutor(Journal.create(stateDir(), { runId: t.runId, kind: 'run', datapath: 'bridge' }));
    try {
      await host.apply(stepsFor(t));
      const { client } = t.endpoints;
      execFileSync('ip', ['-n', client.netns, 'link', 'set', 'dev', client.dev, 'down']);
      await assert.rejects(
        waitReady(t, 300),
        new RegExp(
          `not ready 300 ms after it was built: ` +
            `${client.dev} in ${client.netns}: no carrier yet.*bridge port \\S+ in \\S+: disabled`,
        ),
      );
      setTimeout(() => execFileSync('ip', ['-n', client.netns, 'link', 'set', 'dev', client.dev, 'up']), 400);
      const waited = await waitReady(t, 5000);
      assert.ok(waited >= 350 && waited < 5000, `waited ${waited} ms for an event 400 ms away`);
    } finally {
      await host.teardown();
    }
  });

  it(
    "a request the kernel refuses stops the batch with the kernel's words; teardown removes what came " + 'before',
    async () => {
      const before = hostSnapshot();
      const t = planDatapath('veth');
      const steps = stepsFor(t);
      const dup = steps.find((s) => s.net?.op === 'veth-add')!;
      const host = new HostExecutor(Journal.create(stateDir(), { runId: t.runId, kind: 'run', datapath: 'veth' }));
      await assert.rejects(
        host.apply([...steps, dup]),
        (e: Error) =>
          e.message === `netlink request failed (as \`${dup.argv.join(' ')}\`): RTNETLINK answers: File exists`,
      );
      assert.equal((await host.teardown()).failed.length, 0);
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it(
    'namespaces created by several threads at once: a refusal is answered in order and teardown finds ' + 'every one',
    async () => {
      const before = hostSnapshot();
      const names = Array.from({ length: 64 }, (_, i) => `cnpwire01-t${i}`);
      names[40] = names[3]!; // made twice: one of the two threads is refused
      const lines = names.map((n) => `netns-add\t${n}`);
      const { answers } = await runWire('apply', lines, runCommand);
      const refused = answers.findIndex((a) => !a.ok);
      assert.ok(refused === 3 || refused === 40, `refused at ${refused}`);
      assert.match(
        (answers[refused] as { error: string }).error,
        /cannot create namespace file "\/run\/netns\/cnpwire01-t3": File exists/,
      );
      assert.equal(answers.length, refused + 1, 'nothing answered after the refusal');
      const undo = await runWire(
        'undo',
        [...new Set(names)].reverse().map((n) => `netns-del\t${n}`),
        runCommand,
      );
      assert.ok(undo.answers.every((a) => a.ok));
      assert.equal(undo.answers.filter((a) => a.ok && !a.gone).length, 63, 'all 63 distinct namespaces existed');
      assert.deepEqual(hostSnapshot(), before);
    },
  );

  it('without cnperf-wire: a build fails saying how to get it, and a teardown still works (with ip)', async () => {
    const before = hostSnapshot();
    const missing = { CNPERF_WIRE: '/nonexistent/cnperf-wire' };
    const r = await cnperf(
      ['quick', 'veth', '--count', '5', '--db', path.join(stateDir(), 'wire-test.sqlite')],
      missing,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/nonexistent\/cnperf-wire is missing: build it with 'npm run build'/);
    rmSync(path.join(stateDir(), 'wire-test.sqlite'), { force: true });
    assert.deepEqual(hostSnapshot(), before);
    const up = await cnperf(['topo', 'up', 'bridge', '--json']);
    const { id } = JSON.parse(up.stdout) as { id: string };
    const down = await cnperf(['topo', 'down', id], missing);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(hostSnapshot(), before);
  });

  it('refuses a namespace name that is a path, touching nothing', async () => {
    const { answers } = await runWire('undo', ['netns-del\t..', 'netns-add\tx/y'], runCommand);
    assert.deepEqual(answers, [
      { ok: false, error: 'invalid namespace name ".."' },
      { ok: false, error: 'invalid namespace name "x/y"' },
    ]);
  });

  it('topo up bridge --pairs 500: 1000 containers up and down, the host as it was', async () => {
    const before = hostSnapshot();
    const up = await cnperf(['topo', 'up', 'bridge', '--pairs', '500', '--json']);
    assert.equal(up.code, 0, up.stderr);
    const { id, topology } = JSON.parse(up.stdout) as { id: string; topology: Topology };
    assert.equal(topology.pairs.length, 500);
    const ns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.equal(ns.split('\n').filter((l) => l.startsWith(`cnp${id}-`)).length, 1001);
    // the last pair forwards: its client reaches its server through the bridge
    const last = topology.pairs[499]!;
    const rtt = await runRtt(
      last.client,
      last.server,
      { ...RTT_DEFAULTS, count: 20, intervalNs: 0 },
      { workDir: stateDir() },
    );
    assert.equal(Number(rtt.client.received), 20);
    const down = await cnperf(['topo', 'down', id]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(hostSnapshot(), before);
  });
});
