/**
 * The CNI runtime against its specification, with a test plugin (test/fixtures/cni-plugins): chains,
 * prevResult, DEL in reverse after a failed ADD and again, errors of every kind, code 11 retried;
 * and configuration checks. No namespaces: the plugins run here, told of a namespace they never use.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withRunIpam } from '../../src/datapaths/cni/attach.js';
import {
  compareVersions,
  parseNetworkConfig,
  readNetworkConfig,
  type NetworkList,
} from '../../src/datapaths/cni/config.js';
import { CniError, findPlugin } from '../../src/datapaths/cni/plugin.js';
import { cniAdd, cniDel, resultIp, type Attachment } from '../../src/datapaths/cni/runtime.js';
import { UserError } from '../../src/util/errors.js';
import { FIXTURES, ROOT } from '../helpers/paths.js';
import { joined } from '../helpers/regex.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-cni-'));
const log = path.join(tmp, 'calls.log');
let savedPath: string | undefined;
before(() => {
  savedPath = process.env.CNI_PATH;
  process.env.CNI_PATH = path.join(FIXTURES, 'cni-plugins');
});
after(() => {
  if (savedPath === undefined) delete process.env.CNI_PATH;
  else process.env.CNI_PATH = savedPath;
  rmSync(tmp, { recursive: true, force: true });
});

function network(plugins: Array<Record<string, unknown>>, cniVersion = '1.0.0'): NetworkList {
  return parseNetworkConfig(
    JSON.stringify({
      cniVersion,
      name: 'unit',
      plugins: plugins.map((p) => ({ type: 'cnperf-test-plugin', log, ...p })),
    }),
    'unit.conflist',
  );
}

function attachment(n: NetworkList, id = 'c1', timeoutMs?: number): Attachment {
  return {
    network: n,
    containerId: id,
    netns: 'cnpunit00-c',
    ifname: 'eth0',
    runIn: undefined as unknown as string,
    cacheFile: path.join(tmp, `cache-${id}.json`),
    timeoutMs,
  };
}

const calls = () => readFileSync(log, 'utf8').trim().split('\n');
const reset = () => rmSync(log, { force: true });

describe('CNI runtime', () => {
  it('ADD runs the chain in order, each plugin given the previous result; the result is cached', async () => {
    reset();
    const r = await cniAdd(attachment(network([{}, { type: 'cnperf-test-plugin2' }]), 'a1'));
    assert.deepEqual(calls(), ['cnperf-test-plugin ADD a1', 'cnperf-test-plugin2 ADD a1']);
    assert.equal(resultIp(r, 'eth0'), '10.9.0.2');
    assert.match(readFileSync(path.join(tmp, 'cache-a1.json'), 'utf8'), /10\.9\.0\.2\/24/);
  });

  it(
    'a failing second plugin: its error surfaced (code, msg, details), DEL over the chain in reverse; a ' +
      'second DEL succeeds',
    async () => {
      reset();
      const n = network([{}, { type: 'cnperf-test-plugin2', behave: 'fail-add' }]);
      await assert.rejects(
        cniAdd(attachment(n, 'f1')),
        (e: unknown) =>
          e instanceof CniError &&
          e.code === 7 &&
          joined(
            /CNI ADD of plugin 'cnperf-test-plugin2' failed \(code 7\): /,
            /refusing on purpose — second plugin of the chain/,
          ).test(e.message),
      );
      assert.deepEqual(calls(), [
        'cnperf-test-plugin ADD f1',
        'cnperf-test-plugin2 ADD f1',
        'cnperf-test-plugin2 DEL f1',
        'cnperf-test-plugin DEL f1',
      ]);
      await cniDel(attachment(n, 'f1'));
      assert.deepEqual(calls().slice(4), ['cnperf-test-plugin2 DEL f1', 'cnperf-test-plugin DEL f1']);
    },
  );

  it('a plugin that prints garbage, exits non-zero without an error object, or hangs: each said plainly', async () => {
    await assert.rejects(
      cniAdd(attachment(network([{ behave: 'garbage' }]), 'g1')),
      /printed something that is not JSON: "this is not json"/,
    );
    await assert.rejects(
      cniAdd(attachment(network([{ behave: 'exit-no-json' }]), 'x1')),
      /exited with 3 without an error object; stderr: oops/,
    );
    const t0 = Date.now();
    await assert.rejects(cniAdd(attachment(network([{ behave: 'hang' }]), 'h1', 500)), /no answer within 1 s: killed/);
    assert.ok(Date.now() - t0 < 5000, 'killed at its deadline');
  });

  it('code 11 ("try again later") is retried', async () => {
    reset();
    await cniAdd(attachment(network([{ behave: 'busy-once' }]), 'b1'));
    assert.deepEqual(calls(), ['cnperf-test-plugin ADD b1', 'cnperf-test-plugin ADD b1']);
  });
});

describe('CNI configuration', () => {
  it('a .conflist and a single-plugin .conf', () => {
    const l = parseNetworkConfig(
      '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap"}]}',
      'x',
    );
    assert.deepEqual(
      l.plugins.map((p) => p.type),
      ['bridge', 'portmap'],
    );
    const c = parseNetworkConfig('{"cniVersion":"0.4.0","name":"n","type":"ptp","ipam":{"type":"host-local"}}', 'x');
    assert.deepEqual(c.plugins, [{ type: 'ptp', ipam: { type: 'host-local' } }]);
  });
  it('refuses a plugin type with a path, bad names, unknown versions, non-JSON', () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => parseNetworkConfig(text, 'f.conflist'),
        (e: unknown) => e instanceof UserError && re.test(e.message),
      );
    bad(
      '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}',
      /plugins\[0\]\.type '\.\.\/\.\.\/bin\/sh' is not a plugin name \(no '\/'/,
    );
    bad('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"/usr/bin/id"}]}', /is not a plugin name/);
    bad(
      '{"cniVersion":"1.0.0","name":"a;reboot","plugins":[{"type":"bridge"}]}',
      /network name 'a;reboot' is not valid/,
    );
    bad('{"cniVersion":"0.2.0","name":"n","plugins":[{"type":"bridge"}]}', /cniVersion '0\.2\.0' is not supported/);
    bad('{"cniVersion":"1.0.0","name":"n","plugins":[]}', /not a CNI configuration/);
    bad('{nope', /f\.conflist: not valid JSON/);
    assert.throws(
      () => findPlugin('no-such-plugin', ['/nonexistent']),
      /CNI plugin 'no-such-plugin' not found on CNI_PATH \(\/nonexistent\)/,
    );
  });
  it('host-local keeps its state in the run directory unless the configuration says where', () => {
    const n = parseNetworkConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        plugins: [
          { type: 'bridge', ipam: { type: 'host-local', subnet: '198.18.1.0/24' } },
          { type: 'ptp', ipam: { type: 'host-local', dataDir: '/mine' } },
        ],
      }),
      'x',
    );
    const w = withRunIpam(n, '/run/cnperf/cnpabc123');
    assert.equal((w.plugins[0]!.ipam as { dataDir: string }).dataDir, '/run/cnperf/cnpabc123/ipam');
    assert.equal((w.plugins[1]!.ipam as { dataDir: string }).dataDir, '/mine');
    assert.equal(compareVersions('0.4.0', '1.0.0') < 0, true);
    assert.equal(compareVersions('1.1.0', '1.0.0') > 0, true);
  });
  it('every shipped example configuration parses', () => {
    const dir = path.join(ROOT, 'experiments', 'cni');
    const files = readdirSync(dir).filter((f) => f.endsWith('.conflist'));
    assert.deepEqual(files.sort(), [
      'bridge-bandwidth.conflist',
      'bridge-dual.conflist',
      'bridge-firewall-portmap.conflist',
      'bridge-ipv6.conflist',
      'bridge.conflist',
      'ipvlan.conflist',
      'macvlan.conflist',
      'ptp.conflist',
      'weave-like.conflist',
    ]);
    for (const f of files) assert.ok(readNetworkConfig(path.join(dir, f)).plugins.length >= 1);
    // the IPv6 examples' ranges are in the benchmarking range 2001:2::/48 only
    for (const f of files.filter((x) => /-(ipv6|dual)\./.test(x))) {
      const subnets = [...readFileSync(path.join(dir, f), 'utf8').matchAll(/"subnet": "([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(
        subnets.some((s) => s.includes(':')),
        f,
      );
      for (const s of subnets) assert.match(s, /^(2001:2::\/6[4-9]|198\.1[89]\.\d+\.\d+\/\d+)$/, `${f}: ${s}`);
    }
  });
  it("the result's address of the family measured: IPv6 when asked, never an address of the other family", () => {
    const r = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
      ips: [
        { address: '198.18.0.5/16', interface: 0 },
        { address: '2001:2::5/64', interface: 0 },
      ],
    };
    assert.equal(resultIp(r, 'eth0'), '198.18.0.5');
    assert.equal(resultIp(r, 'eth0', 6), '2001:2::5');
    assert.equal(resultIp({ ...r, ips: [r.ips[0]!] }, 'eth0', 6), null);
  });
});
