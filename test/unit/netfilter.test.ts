import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getDatapath } from '../../src/datapaths/registry.js';
import { addNetfilter, iptablesRuleset, nftRuleset } from '../../src/datapaths/netfilter.js';
import { stepsFor } from '../../src/local/steps.js';
import { parseQuickArgs } from '../../src/cli/quick.js';

describe('netfilter on the forwarding path', () => {
  it("nft: N non-matching rules in a table of the run's own, then the counting rule", () => {
    const text = nftRuleset('ab12cd', 'inet', 300, true);
    const lines = text.trim().split('\n');
    assert.equal(lines[0], 'table inet cnpab12cd {');
    assert.equal(lines.filter((l) => / drop$/.test(l) && l.includes('198.51.100.')).length, 300);
    assert.ok(lines.includes('    ct state invalid drop'));
    assert.match(lines.at(-3)!, /ip saddr 198\.18\.0\.0\/15 counter/);
    assert.equal(new Set(lines.filter((l) => l.includes('198.51.100.'))).size, 300, 'every rule distinct');
    assert.doesNotMatch(nftRuleset('ab12cd', 'bridge', 0, false), /ct state/);
  });

  it("iptables: a chain of the run's own, jumped to from FORWARD with our comment", () => {
    const text = iptablesRuleset('ab12cd', 2, false);
    assert.match(
      text,
      /^\*filter\n:CNPAB12CD - \[0:0\]\n-A FORWARD -m comment --comment "cnperf run ab12cd" -j CNPAB12CD\n/,
    );
    assert.equal((text.match(/-j DROP/g) ?? []).length, 2);
    assert.match(text, /-A CNPAB12CD -s 198\.18\.0\.0\/15 -m comment .*\nCOMMIT\n$/);
  });

  it('bridge: rules and the br_netfilter switch go into the node namespace, loaded in one command', () => {
    const t = getDatapath('bridge').plan({
      runId: 'ab12cd',
      netfilter: { netfilter: 'nftables', rules: 10, brNetfilter: 'off' },
    });
    assert.equal(t.rulesets!.length, 1);
    assert.equal(t.rulesets![0]!.netns, 'cnpab12cd-n');
    assert.match(
      t.rulesets![0]!.text,
      /^table bridge cnpab12cd/,
      'without br_netfilter, bridged frames are filtered in the bridge family',
    );
    assert.deepEqual(t.sysctls, [{ netns: 'cnpab12cd-n', key: 'net.bridge.bridge-nf-call-iptables', value: '0' }]);
    const load = stepsFor(t).filter((s) => s.stdin !== undefined);
    assert.deepEqual(
      load.map((s) => s.argv),
      [['ip', 'netns', 'exec', 'cnpab12cd-n', 'nft', '-f', '-']],
    );
    const routed = getDatapath('routed').plan({
      runId: 'ab12cd',
      placement: 'cross-node',
      netfilter: { netfilter: 'iptables', rules: 1 },
    });
    assert.equal(routed.rulesets!.length, 2, 'one per forwarding node');
  });

  it('refuses combinations that cannot work, saying why', () => {
    const t = () => getDatapath('bridge').plan({ runId: 'ab12cd' });
    assert.throws(
      () => addNetfilter(t(), { netfilter: 'none', rules: 5 }, true),
      /need --netfilter iptables or nftables/,
    );
    assert.throws(
      () => addNetfilter(t(), { netfilter: 'iptables', brNetfilter: 'off' }, true),
      /iptables sees bridged frames only through br_netfilter/,
    );
    assert.throws(
      () => addNetfilter(t(), { netfilter: 'nftables', brNetfilter: 'off', conntrack: 'on' }, true),
      /--conntrack on needs --br-netfilter on/,
    );
    assert.throws(
      () =>
        addNetfilter(
          getDatapath('routed').plan({ runId: 'ab12cd' }),
          { netfilter: 'nftables', brNetfilter: 'on' },
          false,
        ),
      /applies to bridged datapaths/,
    );
    assert.throws(() => parseQuickArgs(['veth', '--netfilter', 'nftables']), /--netfilter does not apply to veth/);
    assert.throws(() => parseQuickArgs(['bridge', '--netfilter', 'pf']), /expected none, iptables, nftables/);
    assert.throws(
      () => parseQuickArgs(['bridge', '--netfilter', 'nftables', '--conntrack', 'maybe']),
      /expected on or off/,
    );
  });
});
