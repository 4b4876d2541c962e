import { partKey } from '../../topology/parts.js';

/**
 * What the podman datapath asks podman for, and (filled by attach) what podman answered: the run's own
 * image (the static engine as a container's pause process), network and containers, each labelled
 * `cnperf.run=<run id>`.
 */
export interface PodmanPlan {
  image: string;
  /**
   * macvlan: its parent is a veth of the run's in the host (`dev`), whose peer lies in a namespace of
   * the run's (`stub`), so that no frame of the run reaches a real NIC
   */
  network: {
    name: string;
    driver: 'bridge' | 'macvlan';
    subnet: string;
    mtu?: number;
    parent?: { dev: string; peer: string; stub: string };
  };
  /** every container, and the run's name for its network namespace */
  containers: Array<{ name: string; netns: string; role: 'client' | 'server' }>;
  /** the run's name for the host's own namespace, where podman's bridge and the veths' host ends live */
  host: string;
  /** how podman was run (found by probing; attach fills it) */
  runtime?: PodmanRuntime;
  /** what netavark put into the host's firewall for the network (attach fills it) */
  firewall?: { backend: string; rules: number; chains: string[] };
}

export interface PodmanRuntime {
  runtime: string;
  cgroup_manager: string;
  /** explicit --ulimit values, where podman's defaults exceed this process's hard limits */
  ulimits: { nofile: number; nproc: number } | null;
  /** the trial containers it took to find them, and why each earlier one failed */
  tried: string[];
}

/** The podman datapath's part of a topology. */
export const PODMAN_PART = partKey<PodmanPlan>('podman');
