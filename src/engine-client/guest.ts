/**
 * Engines that do not run as the plain engine in a namespace: inside a VM endpoint's guest, where the
 * guest's agent (engine/agent.c, src/vm/agent.ts) starts them, or as the DPDK build of the engine on a
 * switch's vhost-user port (src/datapaths/dpdk/dpdk-engines.ts). The supervisor looks an engine's --netns up here; a
 * namespace registered here runs its engines that way, with the same protocol and stop semantics.
 */
export interface EngineCallbacks {
  line(line: string): void;
  stderr(text: string): void;
  /** the engine ended (after any files it wrote came back); code null and signal null: the channel broke */
  exit(code: number | null, signal: NodeJS.Signals | null, why?: string): void;
}

export interface EngineHost {
  /** for messages: "the VM of cnp123456-c" */
  readonly name: string;
  /** spawn gets the argv as is (a real host has the namespace and the CPUs); otherwise as a guest runs it */
  readonly keepsArgv?: boolean;
  /** runs the engine elsewhere (a guest's agent) ... */
  spawn?(argv: readonly string[], on: EngineCallbacks): { signal(sig: NodeJS.Signals): void };
  /** ... or here, as another binary with its own arguments (cnperf-engine-dpdk); the supervisor spawns it */
  local?(argv: readonly string[]): { bin: string; argv: string[] };
}

const hosts = new Map<string, EngineHost>();

export function registerEngineHost(netns: string, host: EngineHost): void {
  hosts.set(netns, host);
}

export function unregisterEngineHost(netns: string): void {
  hosts.delete(netns);
}

export function engineHostFor(argv: readonly string[]): { netns: string; host: EngineHost } | null {
  const i = argv.indexOf('--netns');
  const netns = i >= 0 ? argv[i + 1] : undefined;
  const host = netns ? hosts.get(netns) : undefined;
  return netns && host ? { netns, host } : null;
}

/**
 * An engine's argv as a guest runs it: without --netns (the guest is that namespace) and --cpu (its
 * CPU numbers are the guest's; the host pins the guest's vCPU instead). Pure.
 */
export function guestArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--netns' || argv[i] === '--cpu') i++;
    else out.push(argv[i]!);
  }
  return out;
}
