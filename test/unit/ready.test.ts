import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import type { CommandRunner } from '../../src/local/command.js';
import { readyConditions, waitReady } from '../../src/local/ready.js';
import { FIXTURES } from '../helpers/paths.js';
import { joined } from '../helpers/regex.js';

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

  it('a CNI datapath waits for every container interface and every port the plugin made', () => {
    const topo = getDatapath('bridge').plan({ runId: 'runid0' });
    const t = {
      ...topo,
      links: [],
      ports: [],
      cni: { node: 'cnprunid0-n', containers: [{ netns: 'cnprunid0-c', ifname: 'eth0' }] },
    } as unknown as typeof topo;
    assert.deepEqual(readyConditions(t), [
      { op: 'wait-carrier', netns: 'cnprunid0-c', dev: 'eth0' },
      { op: 'wait-ports', netns: 'cnprunid0-n' },
    ]);
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
