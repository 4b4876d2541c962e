import { partKey } from '../../topology/parts.js';

/** What a CNI network does for a run: each container namespace is ADDed, its address fills its endpoint. */
export interface CniPlan {
  /** the parsed network configuration list (config.ts: NetworkList) */
  network: {
    cniVersion: string;
    name: string;
    disableCheck: boolean;
    plugins: Array<{ type: string } & Record<string, unknown>>;
    file: string;
  };
  /** the namespace plugins run in: the node, whose side they wire (cni0, routes, IPAM) */
  node: string;
  containers: Array<{ netns: string; ifname: string; containerId: string }>;
}

/** The CNI datapath's part of a topology. */
export const CNI_PART = partKey<CniPlan>('cni');
