import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import type { CommandRunner } from '../../src/local/command.js';
import { readyConditions, waitReady } from '../../src/local/ready.js';
import { FIXTURES } from '../helpers/paths.js';
import { joined } from '../helpers/regex.js';

const CNI_NETWORK = {
  cniVersion: '1.0.0',
  name: 'test',
  disableCheck: false,
  plugins: [{ type: 'bridge', bridge: 'cni0' }],
  file: 'test.conflist',
};

const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Answers cnperf-wire's readiness requests with a captured output, recording what it was asked. */
function wire(stdout: string, asked: string[] = []): CommandRunner {
  return async (argv, input) => {
    assert.match(argv[0]!, /cnperf-wire$/);
    assert.equal(argv[1], 'apply');
    asked.push(
      ...String(input ?? '')
        .trim()
        .split('\n'),
    );
    return { stdout, stderr: '' };
  };
}

describe('readiness', () => {
  it('waits for carrier on both ends of every veth and for every bridge port to forward', () => {
    const t = getDatapath('bridge').plan({ runId: 'runid0', placement: 'cross-node', pairs: 2 });
    const c = readyConditions(t);
    const veths = t.links.filter((l) => l.kind === 'veth');
    assert.equal(c.filter((x) => x.op === 'wait-carrier').length, 2 * veths.length);
    assert.deepEqual(
      c.filter((x) => x.op === 'wait-port').map((x) => x.op === 'wait-port' && `${x.netns}/${x.dev}`),
      t.ports.map((p) => `${p.netns}/${p.dev}`),
    );
    // the wire between the nodes is a bridge port on each side
    assert.ok(c.some((x) => x.op === 'wait-port' && x.dev === 'cnprunid0-n1e'));
  });

  it('a CNI datapath waits for every container interface and every port the plugin made (its readiness)', () => {
    const cni = getDatapath('cni');
    const t = cni.plan({ runId: 'runid0', pairs: 2, own: { cni: CNI_NETWORK } });
    const extra = cni.readiness!(t);
    assert.equal(extra.bridges, undefined, "in a node of the run's every port counts");
    assert.deepEqual(
      readyConditions(t, extra.conditions).filter((c) => c.netns !== 'cnprunid0-n' && c.netns !== 'cnprunid0-w'),
      [
        { op: 'wait-carrier', netns: 'cnprunid0-c', dev: 'eth0' },
        { op: 'wait-carrier', netns: 'cnprunid0-s', dev: 'eth0' },
        { op: 'wait-carrier', netns: 'cnprunid0-c1', dev: 'eth0' },
        { op: 'wait-carrier', netns: 'cnprunid0-s1', dev: 'eth0' },
      ],
    );
    assert.ok(readyConditions(t, extra.conditions).some((c) => c.op === 'wait-ports' && c.netns === 'cnprunid0-n'));
    assert.deepEqual(readyConditions(t), readyConditions(t, []), "without the hook, only the plan's own links");
  });

  it('returns the milliseconds cnperf-wire waited, having asked it for every condition and the timeout', async () => {
    const t = getDatapath('bridge').plan({ runId: 'runid0' });
    const asked: string[] = [];
    assert.equal(await waitReady(t, 1234, wire('ok\n'.repeat(readyConditions(t).length) + 'ok 17\n', asked)), 17);
    assert.equal(asked.length, readyConditions(t).length + 1);
    assert.equal(asked.at(-1), 'wait\t1234');
  });

  it('gives up after its timeout, naming what was not ready and why (real cnperf-wire output)', async () => {
    const t = getDatapath('bridge').plan({ runId: 'runid0' });
    await assert.rejects(
      waitReady(t, 200, wire(fixture('wire-ready-timeout.txt'))),
      joined(
        /not ready 200 ms after it was built: cnpfix001-c0 in cnpfix001-c: no carrier yet; /,
        /.*bridge port cnpfix001-cb in cnpfix001-n: disabled/,
      ),
    );
  });

  it('a refusal before the wait (an unknown namespace) is reported as such, not as a timeout', async () => {
    const t = getDatapath('bridge').plan({ runId: 'runid0' });
    await assert.rejects(
      waitReady(t, 200, wire('err cannot open network namespace "x": No such file or directory\n')),
      /cannot wait for the datapath to be ready: cannot open network namespace "x"/,
    );
  });
});
