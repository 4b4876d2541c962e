/**
 * A datapath is built when the kernel forwards through it, not when the last command returned: the
 * kernel applies carrier changes lazily (linkwatch, up to about a second), and a bridge port forwards
 * only once it has seen carrier. Measured: the wire's port of a cross-node bridge stayed "disabled"
 * ~700 ms after the build, and the first round trips were lost. So a build waits until every veth,
 * macvlan and ipvlan has carrier and every bridge port is forwarding.
 *
 * cnperf-wire waits on the kernel's link events in every namespace involved (subscribed before it
 * reads the current state, so no change is missed): no polling, one process for the whole datapath.
 */
import type { Topology } from '../topology/model.js';
import { runCommand, type CommandRunner } from './command.js';
import { runWire, wireLine, type ReadyCondition } from './wire.js';

export const READY_TIMEOUT_MS = 5000;

/**
 * What must hold before the datapath forwards, `extra` being what its attach made (the datapath's
 * `readiness`: a CNI plugin's interfaces, podman's). Pure.
 */
export function readyConditions(t: Topology, extra: readonly ReadyCondition[] = []): ReadyCondition[] {
  const out: ReadyCondition[] = [];
  for (const l of t.links) {
    if (l.kind === 'veth')
      out.push(
        { op: 'wait-carrier', netns: l.netns, dev: l.name },
        { op: 'wait-carrier', netns: l.peerNetns, dev: l.peer },
      );
    else if (l.kind === 'macvlan' || l.kind === 'ipvlan') out.push({ op: 'wait-carrier', netns: l.netns, dev: l.name });
    // a VM endpoint's tap has carrier once qemu holds it open
    else if (l.kind === 'tap') out.push({ op: 'wait-carrier', netns: l.netns, dev: l.name });
  }
  out.push(...extra);
  for (const p of t.ports) out.push({ op: 'wait-port', netns: p.netns, dev: p.dev });
  return out;
}

/** Waits until the datapath forwards: the milliseconds it took; throws, naming what is still not ready, after the
 * timeout. */
export async function waitReady(
  t: Topology,
  timeoutMs = READY_TIMEOUT_MS,
  run: CommandRunner = runCommand,
  extra: readonly ReadyCondition[] = [],
): Promise<number> {
  const conditions = readyConditions(t, extra);
  if (conditions.length === 0) return 0;
  const { answers, notReady } = await runWire('apply', [...conditions.map(wireLine), `wait\t${timeoutMs}`], run);
  const last = answers[answers.length - 1]!;
  if (answers.length === conditions.length + 1 && last.ok) return Number(last.detail);
  if (!last.ok && last.error === 'timeout') {
    throw new Error(
      `the datapath was not ready ` +
        `${timeoutMs} ms after it was built: ${notReady.map((n) => `${n.what}: ${n.why}`).join('; ')}`,
    );
  }
  throw new Error(`cannot wait for the datapath to be ready: ${last.ok ? 'cnperf-wire stopped early' : last.error}`);
}
