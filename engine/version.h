/* The engine and the TypeScript side refuse to talk across versions: keep this equal to
 * package.json's "version" (a unit test checks it). PROTO changes when an event's shape does. */
#ifndef CNPERF_VERSION_H
#define CNPERF_VERSION_H
#define CNPERF_ENGINE_VERSION "0.1.0"
#define CNPERF_ENGINE_PROTO 2
#endif
