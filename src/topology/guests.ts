/**
 * VM endpoints (--endpoint vm) on any datapath: how the run's guests boot. An endpoint kind rather
 * than a datapath, so its part's key lives on this floor, where both the planner (src/datapaths/
 * guests.ts) and the booter (src/vm/) reach it; the namespaces a guest stands for carry `guest`.
 */
import { partKey } from './parts.js';

/** How the run's guests are booted, and (filled at boot) what they ran with: every result carries it. */
export interface VmPlan {
  /** auto: KVM where /dev/kvm boots a standard guest, TCG otherwise */
  accel: 'auto' | 'kvm' | 'tcg';
  vcpus: number;
  memory_mb: number;
  /** tap, or the backend of a datapath that places its own guests (a macvtap); vhost=on where /dev/vhost-net
   * exists and --vm-vhost asks */
  net_backend: string;
  vhost: boolean;
  /** which endpoints are guests */
  endpoints: { client: 'container' | 'vm'; server: 'container' | 'vm' };
  /** filled at boot */
  booted?: { accel: 'kvm' | 'tcg'; accel_why: string; kernel: string; image_build_ms: number; boot_ms: number[] };
}

/** The VM endpoints' part of a topology. */
export const VM_PART = partKey<VmPlan>('vm');
