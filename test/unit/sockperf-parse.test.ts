import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parseSockperfPingPong } from '../../bench/peers/sockperf.js';
import { FIXTURES } from '../helpers/paths.js';

const read = (n: string) => readFileSync(path.join(FIXTURES, n), 'utf8');

it('parses real sockperf 3.7 --full-rtt output as round trips', () => {
  const r = parseSockperfPingPong(read('sockperf-ping-pong-full-rtt.txt'));
  assert.equal(r.fullRtt, true);
  assert.equal(r.samples, 1549);
  assert.equal(r.dropped, 0);
  assert.equal(r.mean, 267_616);
  assert.equal(r.min, 14_547);
  assert.equal(r.max, 9_297_399);
  assert.equal(r.percentiles['50.000'], 173_813);
  assert.equal(r.percentiles['99.000'], 828_600);
});

it('doubles the default output, which is RTT/2', () => {
  const r = parseSockperfPingPong(read('sockperf-ping-pong-half.txt'));
  assert.equal(r.fullRtt, false);
  assert.equal(r.samples, 1550);
  assert.equal(r.mean, 233_754);
  assert.equal(r.percentiles['50.000'], 155_778);
  assert.equal(r.min, 33_382);
});

it('says so when the output holds no result', () => {
  assert.throws(() => parseSockperfPingPong('sockperf: ERROR: connect: Connection refused'), /did the run fail/);
});
