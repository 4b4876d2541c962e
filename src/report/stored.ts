/**
 * A stored run's topology as the report reads it. Runs stored before topologies had `parts` kept
 * each datapath's own state as a top-level member (`dpdk`, `podman`, `vm`, ...): those are lifted into
 * `parts`, where the owners' keys look, so older databases report as they did.
 */
import type { RunRecord } from '../store/db.js';
import type { Topology } from '../topology/model.js';

/** The members every topology has; any other top-level member of a stored one is an owner's part. */
const COMMON = new Set([
  'runId',
  'datapath',
  'summary',
  'namespaces',
  'links',
  'ports',
  'addresses',
  'routes',
  'sysctls',
  'rawUnsupported',
  'xdpUnsupported',
  'fabric',
  'daemons',
  'configure',
  'rulesets',
  'offload',
  'rps',
  'xps',
  'bpf',
  'service',
  'parts',
  'endpoints',
  'pairs',
] satisfies Array<keyof Topology>);

const lifted = new WeakMap<object, Topology>();

export function storedTopology(r: Pick<RunRecord, 'topology'>): Topology | null {
  const t = r.topology as (Topology & Record<string, unknown>) | null;
  if (!t || typeof t !== 'object') return null;
  const done = lifted.get(t);
  if (done) return done;
  // (the old members stay where they were too: nothing reads them there)
  const old = Object.keys(t).filter((k) => !COMMON.has(k as keyof Topology));
  const out: Topology = old.length
    ? { ...t, parts: { ...Object.fromEntries(old.map((k) => [k, t[k]])), ...t.parts } }
    : t;
  lifted.set(t, out);
  return out;
}
