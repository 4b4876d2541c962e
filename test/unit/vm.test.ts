/**
 * VM endpoints, the pure parts: the initramfs archive, module order from real .modinfo sections, the
 * guest's init and kernel command line, qemu's argv, placing guests on bridge and routed plans, the
 * refusals, the agent's line protocol, and the report's vm member.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { guestArgv } from '../../src/engine-client/guest.js';
import { placeGuests, vmRefusal } from '../../src/datapaths/guests.js';
import { planDatapath } from '../../src/datapaths/plan.js';
import { getDatapath } from '../../src/datapaths/registry.js';
import { stepsFor } from '../../src/local/steps.js';
import { readyConditions } from '../../src/local/ready.js';
import { endpointTag, vmJson, vmNotes } from '../../src/report/vm.js';
import { datapathOptions } from '../../src/input/datapath-options.js';
import type { RunRecord } from '../../src/store/db.js';
import { validateTopology } from '../../src/topology/well-formed.js';
import { UserError } from '../../src/util/errors.js';
import { GuestAgent, parseAgentLine, startCommand } from '../../src/vm/agent.js';
import { ENGINE_PROTO, VERSION } from '../../src/version.js';
import { cpioArchive } from '../../src/vm/cpio.js';
import { initScript } from '../../src/vm/image.js';
import { loadOrder, moduleDepends, moduleIndex } from '../../src/vm/modules.js';
import { guestFiles, kernelCmdline, qemuArgv, qemuHardening } from '../../src/vm/qemu.js';
import { ROOT } from '../helpers/paths.js';
import { joined } from '../helpers/regex.js';
import { VM_PART } from '../../src/topology/guests.js';

const fixture = (f: string) => readFileSync(path.join(ROOT, 'test', 'fixtures', f));
const vmBoth = { endpoints: { client: 'vm', server: 'vm' } } as const;

describe('initramfs', () => {
  it('writes newc records: header fields in hex, name and data padded to 4 bytes, then the trailer', () => {
    const a = cpioArchive([
      { name: 'bin', kind: 'dir', mode: 0o755 },
      { name: '/init', kind: 'file', mode: 0o755, data: 'hi\n' },
      { name: 'bin/sh', kind: 'symlink', mode: 0o777, data: 'busybox' },
    ]);
    const text = a.toString('latin1');
    assert.equal(text.slice(0, 6), '070701');
    // the directory: ino 1, mode 040755, nlink 2, namesize 4 ("bin\0")
    assert.equal(text.slice(6, 14), '00000001');
    assert.equal(text.slice(14, 22), (0o40755).toString(16).padStart(8, '0'));
    assert.equal(text.slice(38, 46), '00000002');
    assert.equal(text.slice(94, 102), '00000004');
    // header 110 + "bin\0" = 114, padded to 116: the next record starts there
    assert.equal(text.slice(116, 122), '070701');
    assert.ok(text.includes('init\0'), 'leading slashes are dropped');
    assert.ok(text.includes('hi\n'));
    assert.ok(text.includes((0o120777).toString(16).padStart(8, '0')));
    assert.ok(text.includes('TRAILER!!!\0'));
    assert.equal(a.length % 4, 0);
  });
});

describe('guest kernel modules', () => {
  it('reads depends= from a real .modinfo section (Debian 6.1 cloud kernel), also when empty', () => {
    assert.deepEqual(moduleDepends(fixture('virtio_net.modinfo')), ['virtio_ring', 'virtio', 'net_failover']);
    assert.deepEqual(moduleDepends(fixture('virtio_ring.modinfo')), []);
  });

  it('orders modules after their dependencies; built-in ones (absent) are skipped; circles are named', () => {
    const deps: Record<string, string[]> = {
      'n.ko': ['ring', 'virtio', 'net-failover'],
      'ring.ko': [],
      'virtio.ko': ['ring'],
      'net_failover.ko': ['failover'],
      'failover.ko': [],
      'pci.ko': ['virtio', 'builtin'],
    };
    const index = moduleIndex([
      '/m/n.ko',
      '/m/ring.ko',
      '/m/virtio.ko',
      '/m/net_failover.ko',
      '/m/failover.ko',
      '/m/pci.ko',
      '/m/README',
    ]);
    const order = loadOrder(['pci', 'n'], index, (f) => deps[path.basename(f)]!);
    assert.deepEqual(
      order.map((f) => path.basename(f)),
      ['ring.ko', 'virtio.ko', 'pci.ko', 'failover.ko', 'net_failover.ko', 'n.ko'],
    );
    assert.throws(
      () => loadOrder(['a'], moduleIndex(['/a.ko', '/b.ko']), (f) => (f === '/a.ko' ? ['b'] : ['a'])),
      /circle: a → b → a/,
    );
  });

  it('the init loads them in order, skips the network for the probe, and ends in the agent', () => {
    const s = initScript(['virtio_ring.ko', 'virtio_net.ko']);
    assert.ok(s.startsWith('#!/bin/busybox sh\n'));
    assert.ok(s.indexOf('insmod /lib/modules/virtio_ring.ko') < s.indexOf('insmod /lib/modules/virtio_net.ko'));
    assert.match(s, /if ! grep -q cnperf\.probe=1/);
    assert.match(s, /exec \/bin\/cnperf-engine agent --port "\$port"\n$/);
  });
});

describe('placing guests', () => {
  it("bridge: each endpoint's veth becomes a tap on the bridge; addresses move into the guest", () => {
    const t = planDatapath('bridge', 'abc123', 1, { vm: vmBoth });
    assert.deepEqual(validateTopology(t), []);
    const taps = t.links.filter((l) => l.kind === 'tap');
    assert.deepEqual(taps.map((l) => l.name).sort(), ['cnpabc123-cb', 'cnpabc123-sb']);
    assert.equal(t.links.filter((l) => l.kind === 'veth').length, 0);
    assert.ok(t.ports.some((p) => p.dev === 'cnpabc123-cb' && p.master === 'cnpabc123-br'));
    const c = t.namespaces.find((n) => n.name === t.endpoints.client.netns)!;
    assert.deepEqual(c.guest!.addresses, ['198.18.0.1/16']);
    assert.equal(c.guest!.hostNetns, 'cnpabc123-n');
    assert.match(c.guest!.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
    assert.equal(t.endpoints.client.dev, 'eth0');
    assert.equal(t.endpoints.client.ip, '198.18.0.1');
    assert.ok(!t.addresses.some((a) => a.netns === c.name));
    // nothing is built for the guests' namespaces; the taps are made with ip tuntap and waited for
    const steps = stepsFor(t).map((s) => s.argv.join(' '));
    assert.ok(!steps.some((s) => s.includes(`netns add ${c.name}`)), steps.join('\n'));
    assert.ok(steps.includes('ip -n cnpabc123-n tuntap add dev cnpabc123-cb mode tap vnet_hdr'));
    assert.ok(readyConditions(t).some((r) => r.op === 'wait-carrier' && 'dev' in r && r.dev === 'cnpabc123-cb'));
    assert.deepEqual(VM_PART.of(t)!.endpoints, { client: 'vm', server: 'vm' });
  });

  it('routed: the guest keeps its /32 and its onlink default route; the container side stays a namespace', () => {
    const t = planDatapath('routed', 'abc123', 1, {
      vm: { endpoints: { client: 'container', server: 'vm' }, cpus: [0, 1] },
    });
    assert.deepEqual(validateTopology(t), []);
    const s = t.namespaces.find((n) => n.name === t.endpoints.server.netns)!.guest!;
    assert.deepEqual(s.addresses, ['198.18.0.2/32']);
    assert.deepEqual(s.routes, [{ dst: 'default', via: '169.254.1.1', onlink: true }]);
    assert.equal(s.cpu, 1);
    assert.equal(
      kernelCmdline(s),
      'console=ttyS0 panic=-1 loglevel=4 cnperf.boot=1 cnperf.addr=198.18.0.2/32 ' +
        'cnperf.route=default,via,169.254.1.1,dev,eth0,onlink',
    );
    assert.ok(!t.namespaces.find((n) => n.name === t.endpoints.client.netns)!.guest);
    assert.ok(t.links.some((l) => l.kind === 'veth' && l.netns === t.endpoints.client.netns));
    assert.ok(
      !t.links.some(
        (l) => l.kind === 'veth' && (l.netns === t.endpoints.server.netns || l.peerNetns === t.endpoints.server.netns),
      ),
    );
  });

  it('--mtu reaches the tap and the guest; several pairs get a guest each', () => {
    const t = planDatapath('bridge', 'abc123', 2, { mtu: 9000, vm: vmBoth });
    const guests = t.namespaces.filter((n) => n.guest);
    assert.equal(guests.length, 4);
    assert.ok(guests.every((g) => g.guest!.mtu === 9000));
    assert.equal(new Set(guests.map((g) => g.guest!.mac)).size, 4);
  });

  it('datapaths without a place for a tap refuse, saying why; an endpoint with more than a veth is refused', () => {
    for (const d of ['loopback', 'veth', 'macvlan', 'xdp', 'tcx', 'podman']) assert.ok(vmRefusal(getDatapath(d)), d);
    assert.equal(vmRefusal(getDatapath('bridge')), null);
    assert.match(vmRefusal(getDatapath('vxlan'))!, /--variant host the endpoints are the nodes themselves/);
    assert.equal(vmRefusal(getDatapath('vxlan'), { variant: 'bridge' }), null);
    // the Docker overlay: the server's veth on the far node's bridge becomes a tap there
    const vx = planDatapath('vxlan', 'abc123', 1, {
      variant: 'bridge',
      vm: { endpoints: { client: 'container', server: 'vm' } },
    });
    assert.deepEqual(validateTopology(vx), []);
    assert.equal(vx.namespaces.find((n) => n.guest)!.guest!.hostNetns, 'cnpabc123-n1');
    assert.throws(
      () => planDatapath('veth', 'abc123', 1, { vm: vmBoth }),
      (e: unknown) =>
        e instanceof UserError && /veth cannot take a VM endpoint/.test(e.message) && /bridge, routed/.test(e.hint!),
    );
    const t = planDatapath('bridge', 'abc123', 1, {});
    t.sysctls!.push({ netns: t.endpoints.server.netns, key: 'net.core.somaxconn', value: '1' });
    assert.throws(
      () => placeGuests(t, { endpoints: { client: 'container', server: 'vm' } }),
      /puts sysctl net\.core\.somaxconn into the server's namespace/,
    );
  });

  it('options: --endpoint sets both, the per-role flags override it, VM flags without a VM are refused', () => {
    assert.deepEqual(datapathOptions({ endpoint: 'vm', 'client-endpoint': 'container' }, ['bridge']).vm, {
      endpoints: { client: 'container', server: 'vm' },
    });
    assert.equal(datapathOptions({ endpoint: 'container' }, ['bridge']).vm, undefined);
    assert.throws(() => datapathOptions({ 'vm-accel': 'tcg' }, ['bridge']), /--vm-accel applies to VM endpoints/);
    assert.deepEqual(datapathOptions({ 'server-endpoint': 'vm', 'vm-accel': 'tcg', 'vm-vhost': 'on' }, ['routed']).vm, {
      endpoints: { client: 'container', server: 'vm' },
      accel: 'tcg',
      vhost: true,
    });
  });
});

describe('qemu and the agent', () => {
  it('qemu: its own files in the run directory, the tap by name, vhost as asked, daemonized with a pidfile', () => {
    const t = planDatapath('bridge', 'abc123', 1, { vm: vmBoth });
    const g = t.namespaces.find((n) => n.guest)!;
    const files = guestFiles('/run/cnperf/cnpabc123', g.name);
    const a = qemuArgv({
      guest: g.guest!,
      vm: { vcpus: 1, memory_mb: 256, vhost: false },
      accel: 'tcg',
      kernel: '/k',
      initramfs: '/i',
      files,
      name: 'x',
    });
    const s = a.join(' ');
    assert.match(s, /-accel tcg -nodefaults/);
    assert.match(s, /-netdev tap,id=n0,ifname=cnpabc123-cb,script=no,downscript=no,vhost=off/);
    assert.match(
      s,
      /-chardev socket,id=agent,path=\/run\/cnperf\/cnpabc123\/vm-cnpabc123-c\/agent\.sock,server=on,wait=off/,
    );
    assert.match(s, /-serial file:\/run\/cnperf\/cnpabc123\/vm-cnpabc123-c\/console\.log/);
    assert.match(s, /-pidfile \S+qemu\.pid -daemonize$/);
    assert.match(
      qemuArgv({
        guest: null,
        vm: { vcpus: 1, memory_mb: 128, vhost: false },
        accel: 'kvm',
        kernel: '/k',
        initramfs: '/i',
        files,
        name: 'p',
      }).join(' '),
      /-accel kvm -cpu host .*cnperf\.probe=1/,
    );
  });

  it('the agent protocol: tab-joined starts, prefixed messages; arguments that would break a line are refused', () => {
    assert.equal(
      startCommand(3, ['rtt-server', '--bind', '198.18.0.2:0']),
      'start 3 rtt-server\t--bind\t198.18.0.2:0\n',
    );
    assert.throws(() => startCommand(1, ['a\tb']), /cannot cross/);
    assert.deepEqual(parseAgentLine('12 out {"event":"hello"}'), { id: 12, kind: 'out', rest: '{"event":"hello"}' });
    assert.deepEqual(parseAgentLine('4 exit 0 15'), { id: 4, kind: 'exit', rest: '0 15' });
    assert.equal(parseAgentLine('garbage'), null);
    assert.deepEqual(guestArgv(['rtt-client', '--netns', 'cnpx-c', '--cpu', '0', '--wait', 'block']), [
      'rtt-client',
      '--wait',
      'block',
    ]);
  });
});

describe('reports', () => {
  const record = (vm: unknown) =>
    ({ id: 'abc123', datapath: 'bridge', workload: 'rtt', status: 'ok', topology: { vm } }) as unknown as RunRecord;
  const booted = {
    accel: 'tcg',
    accel_why: 'this host has no /dev/kvm',
    kernel: 'k',
    image_build_ms: 0,
    boot_ms: [2500, 2600],
  };

  it('the vm member says what ran (not what was asked); TCG gets its warning; containers get no tag', () => {
    const r = record({
      accel: 'auto',
      vcpus: 1,
      memory_mb: 256,
      net_backend: 'tap',
      vhost: false,
      endpoints: { client: 'container', server: 'vm' },
      booted,
    });
    assert.deepEqual(vmJson(r), {
      accel: 'tcg',
      accel_why: 'this host has no /dev/kvm',
      vcpus: 1,
      memory_mb: 256,
      net_backend: 'tap',
      endpoints: { client: 'container', server: 'vm' },
      kernel: 'k',
      boot_ms: [2500, 2600],
      image_build_ms: 0,
    });
    assert.equal(endpointTag(r), ' ctr→vm');
    assert.match(
      vmNotes([r]),
      joined(
        /abc123: emulated \(TCG\): latencies dominated by emulation \(this host has no \/dev\/kvm\)/,
        /.*booted in 2\.5 s, 2\.6 s; image from the cache/,
      ),
    );
    assert.equal(vmJson(record(undefined)), null);
    assert.equal(endpointTag(record(undefined)), '');
    assert.equal(vmNotes([record(undefined)]), '');
  });
});

describe("the host's side of the guest agent: lines of any length, but not without end", () => {
  it(
    'a 1 MB result line arrives whole; a line past the bound closes the connection and ends the engine ' +
      'with the reason',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-agent-'));
      const sock = path.join(dir, 'agent.sock');
      let guest!: net.Socket;
      const server = net.createServer((s) => {
        guest = s;
        s.on('error', () => undefined); // the agent closing on us is what the test wants
        s.write(
          `0 out ${JSON.stringify({ event: 'hello', version: VERSION, proto: ENGINE_PROTO, role: 'agent', pid: 1 })}\n`,
        );
      });
      await new Promise<void>((r) => server.listen(sock, r));
      const agent = new GuestAgent('vm0');
      try {
        await agent.connect(sock, Date.now() + 5000, () => true);
        const lines: string[] = [];
        let exited: string | undefined;
        agent.spawn(['rtt-client'], {
          line: (l) => lines.push(l),
          stderr: () => undefined,
          exit: (_c, _s, why) => (exited = why ?? 'exit'),
        });
        const big = `{"event":"result","x":"${'x'.repeat(1 << 20)}"}`;
        guest.write(`1 out ${big}\n`);
        for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(
          lines.map((l) => l.length),
          [big.length],
        );
        // a "line" that never ends: refused at the bound, not buffered until memory runs out
        const chunk = 'y'.repeat(1 << 20);
        for (let i = 0; i < 18 && guest.writable; i++) guest.write(chunk);
        for (let i = 0; i < 300 && exited === undefined; i++) await new Promise((r) => setTimeout(r, 10));
        assert.match(exited ?? '', /sent a line of over \d+ bytes/);
      } finally {
        agent.close();
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("qemu's confinement", () => {
  it('sandbox and -runas nobody where the build has them, before -daemonize', () => {
    const help = '-sandbox on[,obsolete=allow|deny]\n-runas user     change to user id user\n';
    assert.deepEqual(qemuHardening(help, true), [
      '-sandbox',
      'on,obsolete=deny,resourcecontrol=deny',
      '-runas',
      'nobody',
    ]);
    assert.deepEqual(qemuHardening(help, false), ['-sandbox', 'on,obsolete=deny,resourcecontrol=deny']);
    assert.deepEqual(qemuHardening('-name string\n', true), []);
    const files = guestFiles('/run/cnperf/cnpabcdef', 'cnpabcdef-c');
    const a = qemuArgv({
      guest: null,
      vm: { vcpus: 1, memory_mb: 128, vhost: false },
      accel: 'tcg',
      kernel: '/k',
      initramfs: '/i',
      files,
      name: 'p',
      hardening: qemuHardening(help, true),
    }).join(' ');
    assert.match(a, / -sandbox on,obsolete=deny,resourcecontrol=deny -runas nobody -pidfile \S+ -daemonize$/);
  });
});
