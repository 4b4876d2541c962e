import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import type { CommandRunner } from '../../src/host/command.js';
import { notReady, waitReady } from '../../src/host/ready.js';
import { FIXTURES } from '../helpers/paths.js';

const ipLink = readFileSync(path.join(FIXTURES, 'ip-link-node1.json'), 'utf8');
const bridgeLink = readFileSync(path.join(FIXTURES, 'bridge-link-node1.json'), 'utf8');
const topo = getDatapath('bridge').plan({ runId: 'runid0', placement: 'cross-node' });
const node1 = 'cnprunid0-n1';
const real = (s: string) => s.replace(/RUNID0/g, 'runid0');

/** Answers every namespace with node 1's real output (ports and links of other namespaces: absent). */
function runner(edit: (s: string) => string = (s) => s): CommandRunner {
  return async (argv) => ({ stdout: argv[0] === 'bridge' ? edit(bridgeLink) : edit(ipLink), stderr: '' });
}

it('reads real ip/bridge JSON: a disabled bridge port, or a device without carrier, is not ready', async () => {
  // The runner answers node 1's real output; check node 1's two ports and its two veth ends.
  const t = {
    ...topo,
    links: [{ kind: 'veth' as const, name: 'cnprunid0-n1e', netns: node1, peer: 'cnprunid0-sb', peerNetns: node1 }],
    ports: topo.ports.filter((p) => p.netns === node1),
  };
  assert.equal(t.ports.length, 2);
  assert.deepEqual(await notReady(t, runner(real)), []);
  const disabled = await notReady(t, runner((s) => real(s).replace('"forwarding"', '"disabled"')));
  assert.deepEqual(disabled, [`bridge port cnprunid0-n1e in ${node1}: disabled`]);
  const noCarrier = await notReady(t, runner((s) => real(s).replace(/"LOWER_UP"/g, '"DORMANT"')));
  assert.ok(noCarrier.includes(`cnprunid0-n1e in ${node1}: no carrier yet`));
});

it('gives up after its timeout, naming what was not ready', async () => {
  const t = { ...topo, links: [], ports: [{ netns: 'x', dev: 'cnpabc123-sb', master: 'br' }] };
  await assert.rejects(waitReady(t, 50, async () => ({ stdout: '[{"ifname":"cnpabc123-sb","state":"disabled"}]', stderr: '' })), /not ready 50 ms after it was built: bridge port cnpabc123-sb in x: disabled/);
});
