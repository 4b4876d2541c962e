/**
 * Kernel bypass, the pure parts: the plans of testpmd and ovs-dpdk, the DPDK engine's command line made
 * from a workload's, testpmd's and OVS-DPDK's settings, and SR-IOV detection on a made-up sysfs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import { MAX_DPDK_PAIRS } from '../../src/datapaths/dpdk/testpmd.js';
import { pollersOf as pollersOfPlan } from '../../src/datapaths/dpdk/bypass.js';
import { DPDK_PART } from '../../src/datapaths/dpdk/dpdk-plan.js';
import { datapathJson, datapathNotes } from '../../src/report/datapath-sections.js';
import type { RunRecord } from '../../src/store/db.js';
import { sriovNics } from '../../src/datapaths/dpdk/dpdk-doctor.js';
import { dpdkArgv } from '../../src/datapaths/dpdk/dpdk-engines.js';
import { ovsDpdkConfig } from '../../src/datapaths/dpdk/ovs-dpdk-switch.js';
import { testpmdArgv } from '../../src/datapaths/dpdk/testpmd-switch.js';
import { stepsFor } from '../../src/local/steps.js';
import { validateTopology } from '../../src/topology/well-formed.js';
import { UserError } from '../../src/util/errors.js';
import { joined } from '../helpers/regex.js';
import type { Topology } from '../../src/topology/model.js';

const plan = (name: string) => getDatapath(name).plan({ runId: 'abc123', runDir: '/run/cnperf/cnpabc123' });

describe('kernel-bypass plans', () => {
  it('testpmd: containers without kernel interfaces, a socket each in the run directory, fixed MACs, hugepages', () => {
    const t = plan('testpmd');
    assert.deepEqual(validateTopology(t), []);
    assert.equal(t.links.length, 0);
    const d = DPDK_PART.of(t)!;
    // a port for round trips and one for streams per container, in testpmd's pairing order
    assert.deepEqual(
      d.ports.map((p) => `${p.use} ${p.socket}`),
      [
        'rtt /run/cnperf/cnpabc123/vhost-cnpabc123-c.sock',
        'rtt /run/cnperf/cnpabc123/vhost-cnpabc123-s.sock',
        'stream /run/cnperf/cnpabc123/vhost-cnpabc123-c-st.sock',
        'stream /run/cnperf/cnpabc123/vhost-cnpabc123-s-st.sock',
      ],
    );
    assert.equal(d.ports[0]!.peerMac, d.ports[1]!.mac);
    assert.equal(d.hugeDir, '/run/cnperf/cnpabc123/hugepages');
    // 128 MB for testpmd, 64 MB for each of two engines and two more: 384 MB
    assert.equal(d.hugepages, 192);
    // four ports' rings twice over, and a margin
    assert.equal(d.switchMbufs, 4 * 2048 + 2048);
    assert.equal(d.switchCpus[0], os.cpus().length - 1);
    // only namespaces are built from the topology; the switch, the pages and the mount come at attach
    assert.ok(stepsFor(t).every((s) => !/testpmd|hugetlbfs/.test(s.argv.join(' '))));
  });

  it(
    'testpmd: two vhost ports per container (round trips, streams), io forwarding on the switch CPU, main ' +
      'lcore beside the engines',
    () => {
      const a = testpmdArgv(DPDK_PART.of(plan('testpmd'))!).join(' ');
      assert.match(
        a,
        /--lcores 0@0,1@\d+ --no-pci --file-prefix cnpabc123-sw --huge-dir \/run\/cnperf\/cnpabc123\/hugepages/,
      );
      assert.match(
        a,
        joined(
          /--single-file-segments --vdev net_vhost0,iface=\S+-c\.sock,queues=1 /,
          /--vdev net_vhost1,iface=\S+-s\.sock,queues=1 /,
          /--vdev net_vhost2,iface=\S+-c-st\.sock,queues=1 --vdev net_vhost3,iface=\S+-s-st\.sock,queues=1 /,
          /-- --forward-mode=io --nb-cores=1/,
        ),
      );
      assert.match(a, /--stats-period/);
    },
  );

  it(
    "ovs-dpdk: DPDK settings before ovs-vswitchd starts — the run's pages, capped memory, PMD on the " + 'switch CPU',
    () => {
      const t = plan('ovs-dpdk');
      assert.deepEqual(validateTopology(t), []);
      assert.equal(DPDK_PART.of(t)!.hugepages, 256);
      assert.equal(DPDK_PART.of(t)!.switchMemMb, 256);
      const c = ovsDpdkConfig(DPDK_PART.of(t)!);
      assert.ok(c.includes('other_config:dpdk-init=true'));
      assert.ok(c.includes('other_config:dpdk-hugepage-dir=/run/cnperf/cnpabc123/hugepages'));
      assert.ok(c.includes('other_config:dpdk-socket-limit=256'));
      assert.ok(c.includes(`other_config:pmd-cpu-mask=0x${(1 << (os.cpus().length - 1)).toString(16)}`));
      assert.ok(c.includes('other_config:dpdk-extra=--no-pci --file-prefix cnpabc123-sw --single-file-segments'));
    },
  );

  it("--switch-cpu moves the switch's poller; the engines default to another CPU", () => {
    const t = getDatapath('testpmd').plan({ runId: 'abc123', own: { testpmd: { switchCpu: 0 } } });
    assert.deepEqual(DPDK_PART.of(t)!.switchCpus, [0]);
    assert.equal(DPDK_PART.of(t)!.engineCpu, os.cpus().length > 1 ? 1 : 0);
    assert.match(testpmdArgv(DPDK_PART.of(t)!).join(' '), new RegExp(`--lcores 0@${DPDK_PART.of(t)!.engineCpu},1@0 `));
  });

  it(
    '--pairs N: a port per container, distinct MACs per pair, paired io forwarding, memory that grows with ' +
      'the rings',
    () => {
      const t = getDatapath('testpmd').plan({ runId: 'abc123', pairs: 3 });
      assert.deepEqual(validateTopology(t), []);
      assert.equal(t.pairs.length, 3);
      assert.equal(DPDK_PART.of(t)!.ports.length, 12);
      assert.equal(new Set(DPDK_PART.of(t)!.ports.map((p) => p.mac)).size, 12);
      assert.equal(DPDK_PART.of(t)!.ports[4]!.peerMac, DPDK_PART.of(t)!.ports[5]!.mac);
      assert.ok(DPDK_PART.of(t)!.switchMbufs >= 12 * 2048);
      assert.ok(DPDK_PART.of(t)!.hugepages * 2 >= DPDK_PART.of(t)!.switchMemMb + 8 * 64);
      const a = testpmdArgv(DPDK_PART.of(t)!).join(' ');
      assert.match(a, /net_vhost9,iface=\S+-s2\.sock,queues=1 --vdev net_vhost10,iface=\S+-c2-st\.sock/);
      assert.match(
        a,
        new RegExp(`-m ${DPDK_PART.of(t)!.switchMemMb} .*--total-num-mbufs=${DPDK_PART.of(t)!.switchMbufs}`),
      );
    },
  );

  it('more pairs than the limit are refused with the reason', () => {
    for (const d of ['testpmd', 'ovs-dpdk']) {
      const why = getDatapath(d).refuse!({ runId: 'abc123', pairs: MAX_DPDK_PAIRS + 1 });
      assert.ok(why && /at most 16 pairs/.test(why), `${d}: ${why}`);
    }
  });
});

describe('the DPDK engine command line', () => {
  const t = plan('testpmd');
  const [client, server] = DPDK_PART.of(t)!.ports;

  it(
    "a sender: --api dpdk whatever was asked, yield for block and sleep, its port, its peer's MAC, its own " +
      'address, the engine CPU',
    () => {
      const a = dpdkArgv(
        [
          'stream-tx',
          '--server',
          '198.18.0.2:9000',
          '--api',
          'sendmmsg',
          '--burst',
          '32',
          '--netns',
          client!.netns,
          '--wait',
          'block',
          '--pace',
          'sleep',
        ],
        DPDK_PART.of(t)!,
        client!,
        '198.18.0.1',
        3,
      );
      assert.deepEqual(a.slice(0, 11), [
        'stream-tx',
        '--server',
        '198.18.0.2:9000',
        '--burst',
        '32',
        '--netns',
        client!.netns,
        '--wait',
        'yield',
        '--pace',
        'yield',
      ]);
      const s = a.join(' ');
      assert.match(
        s,
        joined(
          /--api dpdk --vhost-socket \S+-c\.sock --mac 02:cd:00:00:00:01 /,
          /--file-prefix cnpabc123-3 --huge-dir \S+hugepages /,
          /--cpu 0 --dst-mac 02:cd:00:00:00:02 --src 198\.18\.0\.1:0$/,
        ),
      );
      assert.doesNotMatch(s, /sendmmsg|--vhost-server/);
    },
  );

  it("a receiver keeps --wait spin and a given --cpu; ovs-dpdk's ports are the vhost-user servers", () => {
    const a = dpdkArgv(
      ['rtt-server', '--bind', '198.18.0.2:0', '--cpu', '1', '--wait', 'spin'],
      { ...DPDK_PART.of(t)!, switch: 'ovs-dpdk' },
      server!,
      '198.18.0.2',
      0,
    );
    assert.ok(a.includes('spin') && a.includes('--vhost-server'));
    assert.equal(a.filter((x) => x === '--cpu').length, 1);
    assert.ok(!a.includes('--dst-mac'));
  });

  it('TCP workloads are refused, naming why', () => {
    assert.throws(
      () => dpdkArgv(['rr-server', '--bind', '198.18.0.2:0'], DPDK_PART.of(t)!, server!, '198.18.0.2', 0),
      (e: unknown) => e instanceof UserError && /TCP workloads need a kernel stack/.test(e.message),
    );
  });
});

describe('SR-IOV detection', () => {
  it('names NICs whose device has virtual functions, and nothing else', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'cnperf-sysfs-'));
    try {
      for (const [dev, vfs] of [
        ['eth0', '0'],
        ['ens1f0', '64'],
        ['lo', null],
      ] as const) {
        mkdirSync(path.join(root, dev, 'device'), { recursive: true });
        if (vfs !== null) writeFileSync(path.join(root, dev, 'device', 'sriov_totalvfs'), `${vfs}\n`);
      }
      assert.deepEqual(sriovNics(root), ['ens1f0']);
      assert.deepEqual(sriovNics(path.join(root, 'absent')), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('where the pollers ran', () => {
  const pollersOf = (r: RunRecord) => pollersOfPlan(r.topology as Topology, r.params);
  const record = (cpus?: [number, number]) =>
    ({
      id: 'abc123',
      datapath: 'testpmd',
      topology: plan('testpmd'),
      params: cpus ? { cpus } : {},
    }) as unknown as RunRecord;
  const last = os.cpus().length - 1;

  it('by default the engines share a CPU (yielding), the switch polls its own: the result says so', () => {
    const p = pollersOf(record())!;
    assert.deepEqual(p.engine_cpus, { client: 0, server: 0 });
    assert.deepEqual(p.switch_cpus, [last]);
    assert.equal(p.shared, 'CPU 0: client, server engines (yielding)');
    assert.match(
      datapathNotes([record()]),
      /abc123: testpmd polls CPU \d+; engines: client CPU 0, server CPU 0 — pollers shared a CPU/,
    );
  });

  it('a run stored before topologies had parts (its plan a top-level `dpdk`) reports its pollers as it did', () => {
    const { parts, ...rest } = plan('testpmd');
    const old = { ...record(), topology: { ...rest, dpdk: parts!.dpdk } } as unknown as RunRecord;
    assert.deepEqual(datapathJson(old), ['dpdk', pollersOf(record())]);
    assert.match(datapathNotes([old]), /testpmd polls CPU/);
  });

  it('an engine pinned beside the switch is named; nothing shared, nothing said; kernel runs have no member', () => {
    if (last === 0) return;
    assert.equal(pollersOf(record([0, last]))!.shared, `CPU ${last}: server engine and testpmd's poller (yielding)`);
    // a load: its probe's and its stream's engines
    const load = { ...record(), params: { probe: { cpus: [0, 1] }, load: { cpus: [1, 1] } } } as unknown as RunRecord;
    assert.equal(
      pollersOf(load)!.shared,
      `CPU 1: server, load sender, load receiver engines${last === 1 ? " and testpmd's poller" : ''} (yielding)`,
    );
    const three = {
      ...record(),
      topology: { ...plan('testpmd'), parts: { dpdk: { ...DPDK_PART.of(plan('testpmd'))!, switchCpus: [2] } } },
    } as unknown as RunRecord;
    assert.equal(pollersOf({ ...three, params: { cpus: [0, 1] } } as unknown as RunRecord)!.shared, null);
    assert.equal(pollersOf({ ...record(), topology: plan('bridge') } as unknown as RunRecord), null);
  });
});
