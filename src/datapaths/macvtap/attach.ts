/**
 * Making the run's macvtaps, after the nodes and namespaces exist: each on its node's NIC, journaled
 * (del-link) before it is made; a container's moved into its namespace, given its address and brought
 * up; a VM's left in the node, up, with a link to its character device in the run's directory — qemu
 * gets that file open. Teardown: the namespaces go, and the macvtaps with them; the link goes with the
 * run directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { runCommand, type CommandRunner } from '../../local/command.js';
import type { JournalLike } from '../../local/journal.js';
import type { Topology } from '../../topology/model.js';
import { MACVTAP_PART } from './macvtap-plan.js';

export async function attachMacvtaps(
  t: Topology,
  runDir: string,
  journal: JournalLike,
  run: CommandRunner = runCommand,
): Promise<void> {
  for (const m of MACVTAP_PART.of(t)!) {
    const moved = m.netns !== m.lowerNetns;
    await journal.append({ op: 'del-link', netns: m.lowerNetns, dev: m.name });
    // a VM's gets an ifindex of its own: devtmpfs names its character device /dev/tap<ifindex>, and the
    // macvtaps of two nodes would otherwise both be the third device of their namespace (one /dev/tap3)
    const index = m.tapDevice ? ['index', String(ifindexFor(t.runId, m.name))] : [];
    await run([
      ...['ip', '-n', m.lowerNetns, 'link', 'add', 'link', m.lower, 'name', m.name, ...index],
      ...['address', m.mac, 'type', 'macvtap', 'mode', 'bridge'],
    ]);
    if (moved) {
      await journal.append({ op: 'del-link', netns: m.netns, dev: m.name });
      await run(['ip', '-n', m.lowerNetns, 'link', 'set', m.name, 'netns', m.netns]);
    }
    const v6 = m.cidr?.includes(':');
    if (m.cidr && !v6) await run(['ip', '-n', m.netns, 'addr', 'add', m.cidr, 'dev', m.name]);
    await run(['ip', '-n', m.netns, 'link', 'set', m.name, ...(m.allmulticast ? ['allmulticast', 'on'] : []), 'up']);
    // IPv6: after link-up and without DAD, as the planned addresses are (src/local/steps.ts); no RAs
    if (m.cidr && v6) {
      await run(['ip', 'netns', 'exec', m.netns, 'sysctl', '-qw', `net.ipv6.conf.${m.name}.accept_ra=0`]);
      await run(['ip', '-n', m.netns, 'addr', 'add', m.cidr, 'dev', m.name, 'nodad']);
    }
    if (m.tapDevice) await makeTapDevice(m.netns, m.name, m.tapDevice, runDir, journal, run);
  }
}

/**
 * The VM's NIC backend: devtmpfs made the macvtap's character device as /dev/tap<ifindex>; the run's
 * directory gets a link to it once its device number is the one sysfs gives this macvtap (devtmpfs
 * names it by an ifindex, which macvtaps of other namespaces may share: then it is refused, never guessed).
 */
async function makeTapDevice(
  netns: string,
  dev: string,
  file: string,
  runDir: string,
  journal: JournalLike,
  run: CommandRunner,
): Promise<void> {
  if (!existsSync(runDir)) {
    await journal.append({ op: 'rm-dir', path: runDir });
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
  }
  // sysfs shows the namespace it was mounted in: read it inside the node
  const { stdout } = await run([
    ...['ip', 'netns', 'exec', netns, 'sh', '-c'],
    ...['cd /sys/class/net/"$1"/macvtap && for t in tap*; do echo "$t $(cat "$t"/dev)"; done', 'sh', dev],
  ]);
  const m = /^(tap\d+) (\d+):(\d+)$/.exec(stdout.trim());
  if (!m) throw new Error(`macvtap ${dev}: its character device is unreadable in sysfs ('${stdout.trim()}')`);
  const node = `/dev/${m[1]}`;
  const rdev = existsSync(node) ? statSync(node).rdev : -1;
  if (rdev < 0 || major(rdev) !== Number(m[2]) || minor(rdev) !== Number(m[3]))
    throw new Error(
      `macvtap ${dev}: ${node} is not its character device ${m[2]}:${m[3]} (devtmpfs names it by an ifindex ` +
        `another namespace's macvtap may share, or /dev is not devtmpfs)`,
    );
  symlinkSync(node, file);
}

/** An ifindex for a VM's macvtap, distinct per run and device (a clash is caught, not assumed away). */
function ifindexFor(runId: string, dev: string): number {
  return 100_000 + (createHash('sha256').update(`${runId}/${dev}`).digest().readUInt32BE(0) % 900_000);
}

/** Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
const major = (d: number) => Number(((BigInt(d) >> 8n) & 0xfffn) | ((BigInt(d) >> 32n) & ~0xfffn));
const minor = (d: number) => Number((BigInt(d) & 0xffn) | ((BigInt(d) >> 12n) & ~0xffn));
