/**
 * VM endpoints in reports: the `vm` member of a result, the row label's endpoint kinds, and the note
 * that says when latencies were those of an emulator (TCG) rather than of the datapath.
 */
import type { RunRecord } from '../store/db.js';
import { VM_PART, type VmPlan } from '../topology/guests.js';
import { storedTopology } from './stored.js';

export function vmOf(r: RunRecord): VmPlan | null {
  return VM_PART.of(storedTopology(r)) ?? null;
}

/** "vm→ctr": the client's kind, then the server's; '' when both are containers. */
export function endpointTag(r: RunRecord): string {
  const vm = vmOf(r);
  if (!vm) return '';
  const short = (k: 'container' | 'vm') => (k === 'vm' ? 'vm' : 'ctr');
  return ` ${short(vm.endpoints.client)}→${short(vm.endpoints.server)}`;
}

/** The `vm` member of a `--json` result: what the guests ran with (accel as it was, not as asked). */
export function vmJson(r: RunRecord): Record<string, unknown> | null {
  const vm = vmOf(r);
  if (!vm) return null;
  const b = vm.booted;
  return {
    accel: b?.accel ?? null,
    accel_why: b?.accel_why ?? null,
    vcpus: vm.vcpus,
    memory_mb: vm.memory_mb,
    net_backend: vm.vhost ? `${vm.net_backend}+vhost` : vm.net_backend,
    endpoints: vm.endpoints,
    kernel: b?.kernel ?? null,
    boot_ms: b?.boot_ms ?? null,
    image_build_ms: b ? b.image_build_ms : null,
  };
}

/** One line per run with VM endpoints: how they ran, and the warning TCG deserves. */
export function vmNotes(runs: RunRecord[]): string {
  const lines: string[] = [];
  for (const r of runs) {
    const vm = vmOf(r);
    if (!vm?.booted) continue;
    const b = vm.booted;
    const how = b.accel === 'tcg' ? 'emulated (TCG): latencies dominated by emulation' : 'KVM';
    const boots = b.boot_ms.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ');
    const image =
      b.image_build_ms > 0 ? `; image built in ${(b.image_build_ms / 1000).toFixed(1)} s` : '; image from the cache';
    lines.push(
      `  ${r.id}: ${how} ` +
        `(${b.accel_why}); ${vm.vcpus} vCPU, ` +
        `${vm.memory_mb} MB, ${vm.vhost ? `${vm.net_backend}+vhost` : vm.net_backend}; booted in ${boots}${image}`,
    );
  }
  return lines.length ? `VM endpoints (qemu guests, Debian's cloud kernel)\n${lines.join('\n')}` : '';
}
