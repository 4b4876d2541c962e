import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseSoftnetDrops } from '../../src/local/counters.js';

it('sums the dropped column of /proc/net/softnet_stat (hex) over CPUs', () => {
  // captured on the development machine, with the second CPU's drop count edited to 0x1f
  const text =
    `0039a6a5 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 ` +
    `00000000 00000000 00000000 00000000 00000000
006dcb37 0000001f 00000002 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 ` +
    `00000001 00000000 00000000
`;
  assert.equal(parseSoftnetDrops(text), 31);
  assert.equal(parseSoftnetDrops(''), 0);
});
