import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { ENGINE_PROTO, VERSION } from '../../src/version.js';
import { ROOT } from '../helpers/paths.js';

it('package.json, src/version.ts and engine/version.h carry one version', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const header = readFileSync(path.join(ROOT, 'engine', 'version.h'), 'utf8');
  assert.equal(pkg.version, VERSION);
  assert.equal(/CNPERF_ENGINE_VERSION "([^"]+)"/.exec(header)?.[1], VERSION);
  assert.equal(Number(/CNPERF_ENGINE_PROTO (\d+)/.exec(header)?.[1]), ENGINE_PROTO);
});
