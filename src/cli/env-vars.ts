/**
 * The environment variables cnperf reads, each with what it changes. `cnperf --help` prints them and
 * docs/reliability.md lists them; a unit test finds every `process.env.CNPERF_*` in src/ and fails
 * when one is missing here.
 */
export const ENV_VARS: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: 'CNPERF_DB', meaning: 'the results store when --db is not given (default ./cnperf-results/results.sqlite)' },
  {
    name: 'CNPERF_STATE_DIR',
    meaning: 'where journals and the measurement lock live (default /run/cnperf: tmpfs, cleared by a reboot)',
  },
  { name: 'CNPERF_CACHE_DIR', meaning: "the VM endpoints' kernel and image cache (default /var/cache/cnperf)" },
  {
    name: 'CNPERF_VM_BOOT_TIMEOUT_MS',
    meaning: 'how long a VM endpoint may take to boot to its agent (default 60000)',
  },
  {
    name: 'CNPERF_ENGINE',
    meaning: 'the traffic engine binary (default engine/cnperf-engine; tests point it at fakes)',
  },
  {
    name: 'CNPERF_ENGINE_DPDK',
    meaning: 'the engine built with DPDK (default engine/cnperf-engine-dpdk; the engine bench runs an older one)',
  },
  { name: 'CNPERF_WIRE', meaning: 'the netlink applier binary (default engine/cnperf-wire)' },
  { name: 'CNPERF_BPF', meaning: 'the BPF loader binary (default engine/bpf/cnperf-bpf)' },
  {
    name: 'CNPERF_TEST_FAULT',
    meaning: "tests only: make a build step fail or the process die at a step (e.g. 'fail@3', 'kill@2')",
  },
];

export function envVarLines(): string {
  const w = Math.max(...ENV_VARS.map((v) => v.name.length)) + 2;
  return ENV_VARS.map((v) => `  ${v.name.padEnd(w)}${v.meaning}`).join('\n');
}
