/**
 * `cnperf doctor --hosts FILE`: this machine's part (ssh, the static engine it copies), then each
 * host (src/remote/remote-doctor.ts), then — when every host can — each datapath across the hosts built for
 * real and removed again, holding every host's measurement lock as a run does.
 */
import { existsSync } from 'node:fs';
import { DATAPATHS } from '../datapaths/registry.js';
import { explainBuildFailure } from '../datapaths/plan.js';
import { onPath } from '../local/command.js';
import { buildOnHosts } from '../remote/remote-build.js';
import { checkHost } from '../remote/remote-doctor.js';
import { HostSet } from '../remote/host-set.js';
import type { Inventory } from '../remote/inventory.js';
import { staticEnginePath, stateDir } from '../paths.js';
import { withSession } from '../runner/session.js';
import { errorMessage, UserError } from '../util/errors.js';
import { planForJobs } from '../workloads/registry.js';

export async function hostsDoctor(inv: Inventory): Promise<number> {
  const out = (mark: string, what: string, detail = '') =>
    process.stdout.write(`${mark} ${what}${detail ? `: ${detail}` : ''}\n`);
  let bad = 0;
  onPath('ssh')
    ? out('ok  ', 'ssh', 'the OpenSSH client')
    : (bad++, out('FAIL', 'ssh', 'not installed (Debian package openssh-client)'));
  existsSync(staticEnginePath())
    ? out('ok  ', 'engine for the hosts', staticEnginePath())
    : (bad++,
      out(
        'FAIL',
        'engine for the hosts',
        `${staticEnginePath()} is missing (npm run build makes it where libbpf's static library is installed)`,
      ));
  if (bad) return 1;
  const used = inv.hosts.slice(0, 2);
  let ready = true;
  let set: HostSet | null = null;
  try {
    set = await HostSet.open(used, { stateDir: stateDir(), owner: 'doctor' });
    for (const [i, host] of set.hosts.entries())
      if (!(await checkHost(host, used[i === 0 ? 1 : 0]?.address, out))) ready = false;
  } catch (e) {
    ready = false;
    out('FAIL', 'connecting', e instanceof UserError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : errorMessage(e));
  } finally {
    await set?.close();
  }
  for (const h of inv.hosts.slice(2))
    out('info', `host ${h.name}`, 'not used: runs use the first two hosts of the inventory');
  if (!ready) return 1;
  // every datapath that runs across hosts, built on them and removed
  let unavailable = 0;
  await withSession(
    { command: 'doctor', owner: 'doctor', hosts: { inventory: inv, count: used.length } },
    async ({ hosts }) => {
      for (const d of DATAPATHS.filter((x) => x.takes.includes('hosts'))) {
        for (const placement of d.placements) {
          if (placement === 'cross-node' && used.length < 2) continue;
          const what = `datapath ${d.name} across hosts${d.placements.length > 1 ? ` (${placement})` : ''}`;
          try {
            const topo = planForJobs(d.name, [], { placement, hosts: hosts!.planHosts() });
            const built = await buildOnHosts(topo, hosts!.hosts, 'run');
            const t = await built.teardown();
            if (t.failed.length)
              throw new Error(`teardown: ${t.failed.map((f) => `${f.what}: ${f.error}`).join('; ')}`);
            out('ok  ', what, topo.summary);
          } catch (e) {
            unavailable++;
            out('no  ', what, e instanceof UserError ? errorMessage(e) : explainBuildFailure(d, errorMessage(e)));
          }
        }
      }
    },
  );
  out('info', 'bridge across hosts', "refused: it would enslave each host's NIC");
  if (unavailable)
    out('info', `${unavailable} datapath placement(s) unavailable on these hosts (see 'no' lines); the others work`);
  return 0;
}
