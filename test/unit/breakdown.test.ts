import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStamps, type StampRows } from '../../src/engine-client/protocol.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseRawSamples } from '../../src/engine-client/protocol.js';
import { breakdownRoundTrips, COMPONENTS, splitRoundTrip } from '../../src/stats/breakdown.js';
import { FIXTURES } from '../helpers/paths.js';

/** Wall-clock-sized stamps (~1.8e18 ns, beyond 2^53): the arithmetic must stay exact. */
const T0 = 1_795_000_000_123_456_789n;

function rows(list: bigint[][]): StampRows {
  return { rows: list.length, fields: 4, data: BigInt64Array.from(list.flat()) };
}

/** One round trip with the given parts (ns), starting at t. Returns [client row, server row]. */
function roundTrip(t: bigint, parts: number[]): [bigint[], bigint[]] {
  const at: bigint[] = [t];
  for (const p of parts) at.push(at[at.length - 1]! + BigInt(p));
  const [uSend, cTx, sRx, sRecv, sTx, cRx, uRecv] = at as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  return [
    [uSend, cTx, cRx, uRecv],
    [sRx, sRecv, sRecv + 100n, sTx],
  ];
}

describe('round-trip breakdown', () => {
  it('splits a round trip into six parts that add up to it, exactly at wall-clock magnitudes', () => {
    const [c, s] = roundTrip(T0, [3001, 507, 12003, 4001, 509, 7001]);
    assert.deepEqual(splitRoundTrip(rows([c]), rows([s]), 0), [3001, 507, 12003, 4001, 509, 7001]);
  });

  it('a missing stamp leaves the round trip out (counted), never a made-up part', () => {
    const [c, s] = roundTrip(T0, [1, 1, 1, 1, 1, 1]);
    c[1] = 0n; // no TX stamp
    assert.equal(splitRoundTrip(rows([c]), rows([s]), 0), null);
    const r = breakdownRoundTrips(rows([c]), rows([s]), BigInt64Array.from([6n]), 0);
    assert.equal(r, null);
  });

  it('percentiles per part, the warm-up offset, lost packets, and which part grew in the tail', () => {
    const client: bigint[][] = [];
    const server: bigint[][] = [];
    const rtts: bigint[] = [];
    const warmup = 1;
    // sequence 0: warm-up (not measured)
    const [wc, ws] = roundTrip(T0, [1, 1, 1, 1, 1, 1]);
    client.push(wc);
    server.push(ws);
    for (let i = 0; i < 300; i++) {
      const slow = i % 100 === 7; // 3 slow round trips: the server woke up late
      const parts = [3000, 500, slow ? 80_000 : 10_000 + (i % 10), 4000, 500, 7000];
      const [c, s] = roundTrip(T0 + BigInt(i) * 1_000_000n, parts);
      client.push(c);
      server.push(s);
      // -1: lost; ±200 ns clock bracket
      rtts.push(i === 50 ? -1n : BigInt(parts.reduce((a, b) => a + b, 0) + (i % 3) * 100));
    }
    const r = breakdownRoundTrips(rows(client), rows(server), BigInt64Array.from(rtts), warmup)!;
    assert.equal(r.samples, 299, 'the lost one is not split');
    assert.equal(r.missing, 0);
    assert.equal(r.components.client_send.p50, 3000);
    assert.equal(r.components.server_wakeup.max, 80_000);
    assert.ok(r.components.server_wakeup.p50 >= 10_000 && r.components.server_wakeup.p50 <= 10_009);
    assert.equal(r.max_sum_error_ns, 200);
    assert.equal(r.over_tolerance, 0);
    assert.equal(r.tail.samples, 2, 'the slowest 1 %');
    assert.equal(r.tail.dominant, 'server_wakeup');
    assert.deepEqual(Object.keys(r.components), [...COMPONENTS]);
  });

  it('counts round trips whose parts miss the RTT by more than 1 % or 1 µs', () => {
    const [c, s] = roundTrip(T0, [1000, 1000, 1000, 1000, 1000, 1000]);
    const r = breakdownRoundTrips(rows([c, c]), rows([s, s]), BigInt64Array.from([6000n + 1001n, 6000n + 999n]), 0)!;
    assert.equal(r.over_tolerance, 1);
  });

  it("reads the engine's stamp file and refuses anything else", () => {
    const buf = Buffer.alloc(24 + 2 * 4 * 8);
    buf.write('CNPSTMP1', 0, 'latin1');
    buf.writeBigUInt64LE(2n, 8);
    buf.writeBigUInt64LE(4n, 16);
    buf.writeBigInt64LE(T0, 24);
    const s = parseStamps(buf);
    assert.equal(s.rows, 2);
    assert.equal(s.data[0], T0);
    assert.throws(() => parseStamps(Buffer.from('CNPRAW01xxxxxxxxxxxxxxxx')), /not a cnperf timestamp file/);
    assert.throws(() => parseStamps(buf.subarray(0, 40)), /expected 64/);
  });

  it(
    'on a real capture (the engine over loopback, 300 round trips): every RTT splits into six non-negative ' +
      'parts that add up to the RTT the client measured on its own clock',
    () => {
      // test/fixtures/stamps: cnperf-engine rtt-server --stamps-out and rtt-client --stamps-out --raw-out
      // over 127.0.0.1, 300 round trips after 1 warm-up, 200 µs apart (captured 2026-11-29 on the dev VM).
      const read = (f: string) => readFileSync(path.join(FIXTURES, 'stamps', f));
      const client = parseStamps(read('client.bin'));
      const server = parseStamps(read('server.bin'));
      const raw = parseRawSamples(read('raw.bin'));
      assert.equal(raw.length, 300);
      for (let i = 0; i < raw.length; i++) {
        const parts = splitRoundTrip(client, server, i + 1);
        assert.ok(parts, `round trip ${i + 1} has every stamp`);
        for (const p of parts) assert.ok(p >= 0, `round trip ${i + 1}: a negative part ${p} ns`);
        // The parts come from CLOCK_REALTIME stamps; the RTT from CLOCK_MONOTONIC: independent clocks.
        const sum = parts.reduce((a, b) => a + b, 0);
        const rtt = Number(raw[i]);
        assert.ok(
          Math.abs(sum - rtt) <= Math.max(1000, rtt * 0.01),
          `round trip ${i + 1}: parts ${sum} ns vs RTT ${rtt} ns`,
        );
      }
      const r = breakdownRoundTrips(client, server, raw, 1)!;
      assert.equal(r.samples, 300);
      assert.equal(r.over_tolerance, 0);
    },
  );
});
