import { lstatSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from './util/errors.js';
import path from 'node:path';

/** The project root: this file is compiled to dist/src/paths.js. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The engine binary; CNPERF_ENGINE overrides it (tests point it at a fake to test supervision). */
export function enginePath(): string {
  return process.env.CNPERF_ENGINE ?? path.join(PROJECT_ROOT, 'engine', 'cnperf-engine');
}

/** The engine linked statically (engine/Makefile), for a container image of cnperf's own. */
export function staticEnginePath(): string {
  return path.join(PROJECT_ROOT, 'engine', 'cnperf-engine-static');
}

/**
 * The engine built with DPDK (--api dpdk: virtio-user ports), where DPDK is installed; CNPERF_ENGINE_DPDK
 * overrides it (the engine bench runs an older build beside this one).
 */
export function dpdkEnginePath(): string {
  return process.env.CNPERF_ENGINE_DPDK ?? path.join(PROJECT_ROOT, 'engine', 'cnperf-engine-dpdk');
}

/** The netlink applier (engine/wire/); CNPERF_WIRE overrides it. */
export function wirePath(): string {
  return process.env.CNPERF_WIRE ?? path.join(PROJECT_ROOT, 'engine', 'cnperf-wire');
}

/** The BPF loader of the eBPF datapaths (engine/bpf/loader.c); CNPERF_BPF overrides it. */
export function bpfToolPath(): string {
  return process.env.CNPERF_BPF ?? path.join(PROJECT_ROOT, 'engine', 'bpf', 'cnperf-bpf');
}

/** A compiled BPF object of engine/bpf/. */
export function bpfObjectPath(name: string): string {
  return path.join(PROJECT_ROOT, 'engine', 'bpf', `${name}.bpf.o`);
}

/** Where journals and locks live: tmpfs, so a reboot (which also removes namespaces) clears it. */
export function stateDir(): string {
  return process.env.CNPERF_STATE_DIR ?? '/run/cnperf';
}

/**
 * The store when --db is not given: $CNPERF_DB, or ./cnperf-results/results.sqlite. cnperf runs as
 * root, often in a shared directory: a symbolic link planted there as cnperf-results/ or its
 * results.sqlite would have SQLite write through it, so the default path is refused when either is a
 * link (naming it with --db or CNPERF_DB says the user means it).
 */
export function defaultDbPath(): string {
  if (process.env.CNPERF_DB) return process.env.CNPERF_DB;
  const dir = path.join(process.cwd(), 'cnperf-results');
  const file = path.join(dir, 'results.sqlite');
  for (const p of [dir, file]) {
    let link = false;
    try {
      link = lstatSync(p).isSymbolicLink();
    } catch {
      /* not there yet: created as a directory and a file of ours */
    }
    if (link)
      throw new UserError(
        `the default results store ` +
          `${p} is a symbolic link (to ` +
          `${readlinkSync(p)}): cnperf, as root, will not write through a link it did not choose`,
        `name the store you mean with --db FILE (or CNPERF_DB)`,
      );
  }
  return file;
}
