import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IntervalEvent } from '../../src/engine-client/protocol.js';
import { LiveLines } from '../../src/workloads/live-lines.js';

const second = (role: 'stream-tx' | 'stream-rx', t: number, packets: number, extra = {}): IntervalEvent => ({
  event: 'interval',
  role,
  t,
  start: t * 1e9,
  ns: 1e9,
  packets,
  bytes: packets * 64,
  errors: 0,
  drops: role === 'stream-rx' ? 1 : 0,
  ...extra,
});

describe('--live lines', () => {
  it('a line per second once every flow has reported it, summed over the flows', () => {
    const lines: string[] = [];
    const live = new LiveLines(2, 1, (l) => lines.push(l));
    live.add(0, second('stream-tx', 0, 1000));
    live.add(0, second('stream-rx', 0, 900));
    assert.deepEqual(lines, [], 'flow 1 has not reported second 0 yet');
    live.add(1, second('stream-rx', 0, 1000));
    assert.deepEqual(lines, [], "flow 1's sender has not reported it yet (the receiver's second may close first)");
    live.add(1, second('stream-tx', 0, 1000));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^ {2}0–1 {3}s {2}sent 2\.0 kpps {2}received 1\.9 kpps {2}0\.001 Gbit\/s {2}drops 2$/);
  });

  it("a finished sender's flow goes on with its receiver's seconds alone", () => {
    const lines: string[] = [];
    const live = new LiveLines(1, 1, (l) => lines.push(l));
    live.add(0, second('stream-rx', 0, 500));
    assert.deepEqual(lines, []);
    live.senderDone(0);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /sent 0\.0 kpps {2}received 0\.5 kpps/);
  });

  it('-i 2s: a line covers two seconds, their rates over both; TCP in Gbit/s, with retransmits and the cwnd', () => {
    const lines: string[] = [];
    const live = new LiveLines(1, 2, (l) => lines.push(l), true);
    for (const t of [0, 1, 2, 3]) {
      live.add(0, second('stream-tx', t, 100_000, { retransmits: t, cwnd: 10 + t, srtt_us: 50 }));
      live.add(0, second('stream-rx', t, 100_000));
    }
    assert.deepEqual(lines, [
      '  0–2   s  sent 0.051 Gbit/s  received 0.051 Gbit/s  drops 2  retransmits 1  cwnd 11',
      '  2–4   s  sent 0.051 Gbit/s  received 0.051 Gbit/s  drops 2  retransmits 5  cwnd 13',
    ]);
  });
});
