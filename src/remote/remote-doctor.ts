/**
 * `cnperf doctor --hosts FILE`: can these hosts run cnperf's datapaths? Each host is connected to
 * (ssh as the inventory says, host keys checked), its tools are looked for and each one missing is
 * named with its package and what needs it, then — when every host has what it needs — each datapath
 * that runs across hosts is built on them for real and removed again, as `cnperf doctor` does here.
 */
import { errorMessage, UserError } from '../util/errors.js';
import type { RemoteHost } from './remote-host.js';
import { sh } from '../util/shell.js';
import { toolEntry } from '../tools/table.js';

/** What cnperf needs on a host, the package it comes in, and what needs it. */
const HOST_TOOLS: ReadonlyArray<{ tool: string; neededBy: string; required: boolean }> = [
  { tool: 'ip', neededBy: 'every datapath (namespaces, links, routes)', required: true },
  { tool: 'sysctl', neededBy: 'routed (forwarding on the host)', required: true },
  { tool: 'sha256sum', neededBy: "cnperf (the engine copy's check)", required: true },
  { tool: 'timeout', neededBy: "cnperf (the session's keeper)", required: true },
  { tool: 'dd', neededBy: "cnperf (the session's keeper)", required: true },
  { tool: 'ethtool', neededBy: "the stored environment (the NIC's driver and offloads)", required: false },
];

/** The tools of HOST_TOOLS the host lacks (looked up on its PATH as ssh sessions get it). */
export async function missingTools(
  host: RemoteHost,
): Promise<Array<(typeof HOST_TOOLS)[number] & { package: string }>> {
  const out = (
    await host.ssh.run(
      sh('for t; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done', ...HOST_TOOLS.map((t) => t.tool)),
    )
  ).stdout;
  const gone = new Set(out.split('\n').filter(Boolean));
  // the package each comes in, from the tool table (the same names setup installs here)
  return HOST_TOOLS.filter((t) => gone.has(t.tool)).map((t) => ({ ...t, package: toolEntry(t.tool).package }));
}

/** One host's lines: kernel, the route to the other host, the tools. Returns whether it can measure. */
export async function checkHost(
  host: RemoteHost,
  peer: string | undefined,
  out: (mark: string, what: string, detail?: string) => void,
): Promise<boolean> {
  let ok = true;
  const what = `host ${host.name} (${host.inv.user}@${host.inv.address}:${host.inv.port})`;
  const kernel = (await host.ssh.run(['uname', '-r'])).stdout.trim();
  out('ok  ', what, `ssh (host key checked, BatchMode), Linux ${kernel}`);
  for (const t of await missingTools(host)) {
    if (t.required) ok = false;
    out(
      t.required ? 'FAIL' : 'note',
      `${what}: ${t.tool} is not installed`,
      `Debian package ${t.package}; needed by ${t.neededBy}`,
    );
  }
  try {
    await host.findNic(peer);
    out('ok  ', `${what}: NIC`, `${host.nic} (MTU ${host.mtu})${peer ? `, routes to ${peer}` : ''}`);
  } catch (e) {
    ok = false;
    out(
      'FAIL',
      `${what}: NIC`,
      e instanceof UserError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : errorMessage(e),
    );
  }
  return ok;
}
