import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Tests are compiled to dist/test/...; the project root is three levels up from dist/test/helpers. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const CNPERF = path.join(ROOT, 'bin', 'cnperf');
export const ENGINE = path.join(ROOT, 'engine', 'cnperf-engine');
