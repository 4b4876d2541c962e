import assert from 'node:assert/strict';
import { it } from 'node:test';
import { median, ratioText } from '../../bench/ratio.js';

it('bench ratios: round by round, the median with the rounds\' range, "within noise" when it covers 1', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([1, 2, 3, 4]), 2.5);
  assert.equal(ratioText([100, 104, 98], [100, 100, 100]), '1.00 (0.98–1.04, within noise)');
  assert.equal(ratioText([300, 330, 310], [100, 110, 100]), '3.00 (3.00–3.10)');
  assert.equal(ratioText([50], [100]), '0.50 (one round)');
  assert.equal(ratioText([NaN, 2], [1, 1]), '2.00 (one round)');
  assert.equal(ratioText([], []), '–');
});
