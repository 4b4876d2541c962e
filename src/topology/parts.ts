/**
 * What one datapath, endpoint kind or placement adds to a topology beyond what every datapath has
 * (a CNI network, podman's containers, a DPDK switch, VM guests, real hosts): its owner's own typed
 * value, kept in `Topology.parts` under the owner's name and reached only through the owner's key.
 * So this floor never learns the types of the floors above it, and a new datapath adds a part of its
 * own without changing the model (as CNI's plugins each read their own keys of one NetConf).
 */
import type { Topology } from './model.js';

export interface PartKey<T> {
  /** the member of `Topology.parts` (and of a stored topology's JSON) the value lives in */
  readonly name: string;
  /** the part, if the plan has one */
  of(t: Pick<Topology, 'parts'> | null | undefined): T | undefined;
  set(t: Pick<Topology, 'parts'>, value: T): void;
}

const taken = new Set<string>();

/** The key of one owner's part; each name is taken once, by the module that owns it. */
export function partKey<T>(name: string): PartKey<T> {
  if (taken.has(name)) throw new Error(`internal: topology part '${name}' is declared twice`);
  taken.add(name);
  return {
    name,
    // The one place a part's type is asserted: only its owner's key writes under this name.
    of: (t) => t?.parts?.[name] as T | undefined,
    set: (t, value) => {
      t.parts = { ...t.parts, [name]: value };
    },
  };
}
