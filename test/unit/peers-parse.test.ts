import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parseIperf3Tcp, parseIperf3Udp } from '../../bench/peers/iperf3.js';
import { parseQperfUdpLat } from '../../bench/peers/qperf.js';
import { parseSockperfThroughput } from '../../bench/peers/sockperf.js';
import { FIXTURES } from '../helpers/paths.js';

const read = (n: string) => readFileSync(path.join(FIXTURES, n), 'utf8');

it('parses real iperf3 3.12 UDP --json output (64 B over a cnperf veth)', () => {
  const r = parseIperf3Udp(read('iperf3-udp-64.json'));
  assert.ok(Math.abs(r.txPps - 594540 / 3.000019) < 1e-6);
  assert.ok(Math.abs(r.rxPps - (594540 - 2367) / 3.000121) < 1e-6);
  assert.ok(Math.abs(r.lossRatio - 2367 / 594540) < 1e-12);
  assert.throws(() => parseIperf3Udp('{"error":"unable to connect to server"}'), /unable to connect/);
  assert.throws(() => parseIperf3Udp('{"end":{}}'), /no UDP sums/);
});

it('parses real sockperf 3.7 throughput output', () => {
  const r = parseSockperfThroughput(read('sockperf-throughput-64.txt'));
  assert.deepEqual(r, { txPps: 157147, messages: 471520, seconds: 3.001 });
  assert.throws(() => parseSockperfThroughput('sockperf: ERROR'), /did the run fail/);
});

it('parses real iperf3 TCP --json output and qperf udp_lat (one-way latency, doubled by the bench)', () => {
  const tcp = parseIperf3Tcp(readFileSync(path.join(FIXTURES, 'iperf3-tcp.json'), 'utf8'));
  assert.ok(tcp.rxGbps > 0.1 && tcp.rxGbps <= tcp.txGbps * 1.01, JSON.stringify(tcp));
  assert.throws(() => parseIperf3Tcp('{"error":"unable to connect"}'), /iperf3: unable to connect/);
  assert.equal(parseQperfUdpLat(readFileSync(path.join(FIXTURES, 'qperf-udp-lat.txt'), 'utf8')), 61_800);
  assert.equal(parseQperfUdpLat('udp_lat:\n    latency  =  57 us\n'), 57_000);
  assert.throws(() => parseQperfUdpLat('failed to connect'), /no "latency =" line/);
});
