/**
 * What the eBPF datapaths (xdp, tcx) share: the MAC addresses the plan gives container veths (their
 * programs switch and rewrite by MAC, so the plan must know them), where a run's BPF pins live,
 * and how a missing loader or kernel feature is said.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bpfToolPath } from '../../paths.js';
import type { BpfLoad, Link } from '../../topology/model.js';
import type { TopologyDraft } from '../nodes.js';
import type { Datapath, KernelFailure, PlanContext } from '../types.js';

/**
 * A locally administered unicast MAC for pair i's container (side c or s), `inside` for the
 * container's end, else the node's end: 02:cb:<pair, 2 bytes>:<0c|05>:<01|02>. Unique within a run,
 * which is the only layer-2 segment it appears in.
 */
export function pairMac(i: number, side: 'c' | 's', inside: boolean): string {
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `02:cb:${hex((i >> 8) & 0xff)}:${hex(i & 0xff)}:${side === 'c' ? '0c' : '05'}:${inside ? '01' : '02'}`;
}

/** Gives the veth `dev` in `netns` (created by addVethContainer) its planned MACs. */
export function setVethMacs(t: TopologyDraft, netns: string, dev: string, mac: string, peerMac: string): void {
  const l = t.links.find(
    (x): x is Extract<Link, { kind: 'veth' }> => x.kind === 'veth' && x.netns === netns && x.name === dev,
  );
  if (!l) throw new Error(`internal: no veth ${dev} in ${netns} to give MACs to`);
  l.mac = mac;
  l.peerMac = peerMac;
}

/** The run's bpffs mount point, and a BPF object to load for one node with its pins below it. */
export function bpfLoad(ctx: PlanContext, netns: string, object: BpfLoad['object']): BpfLoad {
  const root = path.join(ctx.runDir ?? `/run/cnperf/cnp${ctx.runId}`, 'bpf');
  return { netns, object, root, pinDir: path.join(root, netns), requests: [] };
}

/** Refuses before anything is built when the loader was not built (no clang or libbpf here). */
export function refuseWithoutLoader(): string | null {
  return existsSync(bpfToolPath())
    ? null
    : `its BPF loader ` +
        `${bpfToolPath()} is not built: install clang and libbpf-dev (scripts/setup.sh does) and run 'npm run build'`;
}

/** How the kernel says it cannot do what the eBPF datapaths ask (cnperf doctor checks each). */
export const BPF_KERNEL_FAILURES: readonly KernelFailure[] = [
  { match: /native XDP attach/, meaning: 'this kernel cannot attach XDP natively to a veth (cnperf doctor: xdp-veth)' },
  { match: /was refused by the kernel/, meaning: "a BPF program failed the kernel's verifier" },
  {
    match: /tcx attach|clsact/,
    meaning: "this kernel cannot attach a BPF program at a device's ingress (cnperf doctor: tcx)",
  },
  {
    match: /mount: .*bpf|unknown filesystem type 'bpf'/,
    meaning: 'this kernel has no bpf filesystem (cnperf doctor: bpffs)',
  },
];

/** What the eBPF datapaths declare alike: no options of their own, mount for their bpffs, the kernel's
 * refusals in the user's terms, and a refusal before anything is built when the loader is missing. */
export const BPF_DATAPATH: Pick<Datapath, 'takes' | 'tools' | 'kernelFailures' | 'refuse'> = {
  takes: [],
  tools: ['mount'],
  kernelFailures: BPF_KERNEL_FAILURES,
  refuse: () => refuseWithoutLoader(),
};
