/** cnperf's version. package.json and engine/version.h carry the same string (a unit test checks),
 * and the engine is refused when its `hello` reports another one. */
export const VERSION = '0.1.0';
/** Version of the engine's NDJSON event shapes (engine/version.h CNPERF_ENGINE_PROTO). */
export const ENGINE_PROTO = 2;
