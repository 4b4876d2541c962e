/**
 * A datapath is built when the kernel forwards through it, not when the last command returned: the
 * kernel applies carrier changes lazily (linkwatch, up to about a second), and a bridge port forwards
 * only once it has seen carrier. Measured: the wire's port of a cross-node bridge stayed "disabled"
 * ~700 ms after the build, and the first round trips were lost. So a build waits until every veth,
 * macvlan and ipvlan has carrier and every bridge port is forwarding.
 */
import type { Topology } from '../topology/model.js';
import { runCommand, type CommandRunner } from './command.js';

export const READY_TIMEOUT_MS = 5000;
const POLL_MS = 20;

interface LinkState {
  ifname: string;
  flags?: string[];
}
interface PortState {
  ifname: string;
  state?: string;
}

/** What is not ready yet, as "device: why" strings; empty when the datapath forwards. */
export async function notReady(t: Topology, run: CommandRunner = runCommand): Promise<string[]> {
  const waiting: string[] = [];
  const byNs = new Map<string, Set<string>>();
  const want = (ns: string, dev: string) => (byNs.get(ns) ?? byNs.set(ns, new Set()).get(ns)!).add(dev);
  for (const l of t.links) {
    if (l.kind === 'veth') {
      want(l.netns, l.name);
      want(l.peerNetns, l.peer);
    } else if (l.kind === 'macvlan' || l.kind === 'ipvlan') {
      want(l.netns, l.name);
    }
  }
  for (const [ns, devs] of byNs) {
    const links = JSON.parse((await run(['ip', '-n', ns, '-j', 'link', 'show'])).stdout) as LinkState[];
    for (const dev of devs) {
      const l = links.find((x) => x.ifname === dev);
      if (!l?.flags?.includes('LOWER_UP')) waiting.push(`${dev} in ${ns}: no carrier yet`);
    }
  }
  // CNI plugins made the containers' interfaces and the node's bridge ports: wait for all of them.
  for (const c of t.cni?.containers ?? []) {
    const links = JSON.parse((await run(['ip', '-n', c.netns, '-j', 'link', 'show', 'dev', c.ifname])).stdout) as LinkState[];
    if (!links[0]?.flags?.includes('LOWER_UP')) waiting.push(`${c.ifname} in ${c.netns}: no carrier yet`);
  }
  if (t.cni) {
    const ports = JSON.parse((await run(['bridge', '-n', t.cni.node, '-j', 'link', 'show'])).stdout) as PortState[];
    for (const p of ports) if (p.state !== 'forwarding') waiting.push(`bridge port ${p.ifname} in ${t.cni.node}: ${p.state ?? 'absent'}`);
  }
  for (const ns of new Set(t.ports.map((p) => p.netns))) {
    const ports = JSON.parse((await run(['bridge', '-n', ns, '-j', 'link', 'show'])).stdout) as PortState[];
    for (const p of t.ports.filter((x) => x.netns === ns)) {
      const state = ports.find((x) => x.ifname === p.dev)?.state;
      if (state !== 'forwarding') waiting.push(`bridge port ${p.dev} in ${ns}: ${state ?? 'absent'}`);
    }
  }
  return waiting;
}

/** Waits until the datapath forwards; throws, naming what is still not ready, after the timeout. */
export async function waitReady(t: Topology, timeoutMs = READY_TIMEOUT_MS, run: CommandRunner = runCommand): Promise<number> {
  const start = Date.now();
  for (;;) {
    const waiting = await notReady(t, run);
    if (waiting.length === 0) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`the datapath was not ready ${timeoutMs} ms after it was built: ${waiting.join('; ')}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
