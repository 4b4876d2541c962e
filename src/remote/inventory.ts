/**
 * The hosts of a run across real machines (--hosts FILE): who they are and how to reach them. With
 * an inventory, a datapath's "nodes" are these hosts — cross-node uses the first two, same-node the
 * first. Pure types; src/input/hosts-file.ts reads the file.
 */

export interface InventoryHost {
  /** the name results and messages use ("a") */
  name: string;
  /** what cnperf connects to, and the host's underlay address (VXLAN's local/remote, routes' next hop) */
  address: string;
  user: string;
  port: number;
  /** ssh -i (absolute: resolved against the inventory's directory) */
  identity?: string;
  /** ssh's UserKnownHostsFile for this host (absolute) */
  knownHosts?: string;
  /** the NIC the datapath uses; default: the one routing to the other host */
  interface?: string;
}

export interface Inventory {
  file: string;
  hosts: InventoryHost[];
}
