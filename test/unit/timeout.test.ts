import assert from 'node:assert/strict';
import { it } from 'node:test';
import { within } from '../../src/util/timeout.js';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

it('returns the value when the promise wins, and leaves no timer behind', async () => {
  const before = timers();
  assert.equal(await within(Promise.resolve(42), 60_000, 'late'), 42);
  assert.equal(timers(), before, 'a pending timer would keep cnperf alive after its work');
});

it('returns the timeout value when the promise is slower', async () => {
  assert.equal(await within(new Promise(() => {}), 10, 'late'), 'late');
});
