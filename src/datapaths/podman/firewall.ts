/**
 * What netavark leaves in the host: it creates a network's firewall rules in the host's own
 * iptables (NETAVARK_FORWARD, NETAVARK-HOSTPORT-*, a chain per network), turns on
 * net.ipv4.ip_forward, and keeps its global chains and the sysctl after the network is gone, by
 * design. A run of cnperf must leave the host as it found it, so the state before the run's network
 * is noted, and what netavark added is removed after it — unless podman containers that are not the
 * run's still run (they may need it); ip_forward only while nothing else on the host forwards. An IPv6
 * network (--ip 6) does the same in ip6tables and net.ipv6.conf.all.forwarding: noted and undone alike.
 */
import { runCommand, type CommandRunner } from '../../local/command.js';
import { refusedOnHost, registerHostUndoHandler, registerUndoHandler } from '../../local/undo.js';
import { registerUndoKind, strings } from '../../local/undo-kinds.js';

const TABLES = ['filter', 'nat'] as const;

/** Where netavark writes for one address family: its iptables, nftables family and forwarding sysctl. */
interface Family {
  iptables: 'iptables' | 'ip6tables';
  nft: 'ip' | 'ip6';
  forwarding: 'net.ipv4.ip_forward' | 'net.ipv6.conf.all.forwarding';
}
const V4: Family = { iptables: 'iptables', nft: 'ip', forwarding: 'net.ipv4.ip_forward' };
const V6: Family = { iptables: 'ip6tables', nft: 'ip6', forwarding: 'net.ipv6.conf.all.forwarding' };

export interface FirewallBefore {
  /** "filter NETAVARK_FORWARD": every chain of the filter and nat tables */
  chains: string[];
  /** where iptables runs on nf_tables: its tables and their chains ("ip nat", "ip filter FORWARD"); empty for
   * iptables-legacy */
  tables: string[];
  ipForward: string;
}

/** "(nf_tables)" or "(legacy)": iptables's backend decides where its tables live. */
export async function iptablesBackend(run: CommandRunner = runCommand): Promise<'nf_tables' | 'legacy'> {
  const { stdout } = await run(['iptables', '--version']);
  return /nf_tables/.test(stdout) ? 'nf_tables' : 'legacy';
}

/** Pure: the chains (-N and built-in -P) and rules (-A) of `iptables -t T -S`. */
export function parseIptablesS(text: string): { chains: string[]; rules: string[][] } {
  const chains: string[] = [];
  const rules: string[][] = [];
  for (const line of text.split('\n')) {
    const words = shellWords(line.trim());
    if (words[0] === '-N' || words[0] === '-P') chains.push(words[1]!);
    else if (words[0] === '-A') rules.push(words.slice(1));
  }
  return { chains, rules };
}

/** Splits an iptables -S line: words, with "double-quoted" ones (comments) kept whole. Pure. */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** A rule of netavark's: in one of its chains, jumping to one, or saying so in its comment. Pure. */
export function isNetavarkRule(rule: readonly string[]): boolean {
  return rule.some((w) => /^NETAVARK/.test(w) || /netavark/i.test(w));
}

async function listTable(
  table: string,
  run: CommandRunner,
  f: Family = V4,
): Promise<{ chains: string[]; rules: string[][] }> {
  return parseIptablesS((await run([f.iptables, '-t', table, '-S'])).stdout);
}

interface NftItem {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string };
  rule?: { family: string; table: string; chain: string };
}

/** The family's filter and nat tables of nftables and their chains: "ip nat", "ip6 nat POSTROUTING". */
async function nftTablesAndChains(
  run: CommandRunner,
  f: Family = V4,
): Promise<{ tables: string[]; chains: string[]; ruled: Set<string> }> {
  const { stdout } = await run(['nft', '-j', 'list', 'ruleset']);
  const items = (JSON.parse(stdout) as { nftables: NftItem[] }).nftables;
  const ours = (family: string, table: string) => family === f.nft && (table === 'filter' || table === 'nat');
  return {
    tables: items.flatMap((x) => (x.table && ours(x.table.family, x.table.name) ? [`${f.nft} ${x.table.name}`] : [])),
    chains: items.flatMap((x) =>
      x.chain && ours(x.chain.family, x.chain.table) ? [`${f.nft} ${x.chain.table} ${x.chain.name}`] : [],
    ),
    ruled: new Set(
      items.flatMap((x) =>
        x.rule ? [`${x.rule.family} ${x.rule.table} ${x.rule.chain}`, `${x.rule.family} ${x.rule.table}`] : [],
      ),
    ),
  };
}

export async function firewallBefore(run: CommandRunner = runCommand, f: Family = V4): Promise<FirewallBefore> {
  const chains: string[] = [];
  // on nf_tables, list the tables first: `iptables -S` itself may create an empty one
  const nft = (await iptablesBackend(run)) === 'nf_tables' ? await nftTablesAndChains(run, f) : null;
  const tables = nft ? [...nft.tables, ...nft.chains] : [];
  for (const t of TABLES) chains.push(...(await listTable(t, run, f)).chains.map((c) => `${t} ${c}`));
  return { chains, tables, ipForward: (await run(['sysctl', '-n', f.forwarding])).stdout.trim() };
}

/** The host's IPv6 firewall and forwarding before an IPv6 network of the run's (ip6tables, nft ip6). */
export const firewallBefore6 = (run: CommandRunner = runCommand) => firewallBefore(run, V6);

/** netavark's rules in the host's firewall now: how many, in which chains (for the "why" lines). */
export async function netavarkRules(
  run: CommandRunner = runCommand,
): Promise<{ backend: string; rules: number; chains: string[] }> {
  let rules = 0;
  const chains: string[] = [];
  for (const t of TABLES) {
    const l = await listTable(t, run);
    rules += l.rules.filter(isNetavarkRule).length;
    chains.push(...l.chains.filter((c) => /^NETAVARK/.test(c)).map((c) => `${t} ${c}`));
  }
  return { backend: `iptables (${await iptablesBackend(run)})`, rules, chains };
}

/** Removes what netavark added since `before`; leaves everything that was there. */
async function removeResidue(before: FirewallBefore, run: CommandRunner, f: Family = V4): Promise<boolean> {
  let removed = false;
  for (const t of TABLES) {
    const now = await listTable(t, run, f);
    const added = now.chains.filter((c) => /^NETAVARK/.test(c) && !before.chains.includes(`${t} ${c}`));
    // first the rules elsewhere that jump into the chains going, then the chains themselves
    for (const r of now.rules) {
      if (added.includes(r[0]!) || !r.some((w) => added.includes(w))) continue;
      await run([f.iptables, '-t', t, '-D', ...r]);
      removed = true;
    }
    for (const c of added) await run([f.iptables, '-t', t, '-F', c]);
    for (const c of added) {
      await run([f.iptables, '-t', t, '-X', c]);
      removed = true;
    }
  }
  if ((await iptablesBackend(run)) === 'nf_tables') {
    // iptables-nft made these built-in chains and tables for netavark: gone once empty again
    const now = await nftTablesAndChains(run, f);
    for (const chain of now.chains) {
      if (before.tables.includes(chain) || now.ruled.has(chain)) continue;
      await run(['nft', 'delete', 'chain', ...chain.split(' ')]);
      removed = true;
    }
    for (const table of now.tables) {
      if (before.tables.includes(table) || now.ruled.has(table)) continue;
      await run(['nft', 'delete', 'table', ...table.split(' ')]);
      removed = true;
    }
  }
  return removed;
}

/** Podman containers running now (names), none of them the run's once its own are removed. */
async function runningContainers(run: CommandRunner): Promise<string[]> {
  const { stdout } = await run(['podman', 'ps', '--format', '{{.Names}}']);
  return stdout.split('\n').filter(Boolean);
}

/**
 * Who else needs forwarding on this host now, after the run's own network is gone: another container
 * runtime or Kubernetes, seen by their chains and rules in the host's iptables (`-S` of the filter and
 * nat tables) and by their nftables tables. Pure.
 */
export function otherForwarders(iptablesS: readonly string[], nftTables: readonly string[]): string[] {
  const FOREIGN = /^(DOCKER|KUBE-|CNI-|CILIUM|cali-|FLANNEL|LIBVIRT|ufw-)/;
  const found = new Set<string>();
  for (const text of iptablesS) {
    const { chains, rules } = parseIptablesS(text);
    for (const c of chains) if (FOREIGN.test(c)) found.add(`iptables chain ${c}`);
    for (const r of rules) if (r[0] === 'FORWARD' && !isNetavarkRule(r)) found.add(`a FORWARD rule (${r.join(' ')})`);
  }
  for (const table of nftTables)
    if (/kube|docker|cni|cilium|calico|flannel|libvirt/i.test(table)) found.add(`nftables table ${table}`);
  return [...found];
}

/**
 * net.ipv4.ip_forward back to what it was before the run — only when the run changed it (netavark
 * only ever sets 1), it is still the value the run set, and nothing else on the host forwards: a
 * `clean` long after the run must not turn off forwarding that Docker or Kubernetes turned on since.
 */
async function restoreIpForward(before: string, run: CommandRunner, f: Family = V4): Promise<boolean> {
  if (!/^[01]$/.test(before))
    throw new Error(`refusing to set ${f.forwarding} to '${before}': not a value cnperf saved`);
  const now = (await run(['sysctl', '-n', f.forwarding])).stdout.trim();
  if (now === before || now !== '1') return false;
  const iptablesS = await Promise.all(TABLES.map(async (t) => (await run([f.iptables, '-t', t, '-S'])).stdout));
  const nft = await run(['nft', '-j', 'list', 'tables']).then(
    (r) =>
      (JSON.parse(r.stdout) as { nftables: NftItem[] }).nftables.flatMap((x) =>
        x.table ? [`${x.table.family} ${x.table.name}`] : [],
      ),
    () => [],
  );
  if (otherForwarders(iptablesS, nft).length > 0) return false;
  await run(['sysctl', '-qw', `${f.forwarding}=${before}`]);
  return true;
}

declare module '../../local/steps.js' {
  interface UndoKinds {
    /**
     * what netavark added to the host's firewall and sysctls for the run's network, if it was not there
     * before; `before6`: the same in IPv6 (ip6tables, nft ip6, IPv6 forwarding) for an IPv6 network
     */
    'netavark-residue': { before: FirewallBefore; before6?: FirewallBefore };
  }
}

const isBefore = (b: unknown) => {
  const x = b as Record<string, unknown> | null | undefined;
  return (
    typeof x === 'object' && x !== null && strings(x.chains) && strings(x.tables) && typeof x.ipForward === 'string'
  );
};
registerUndoKind('netavark-residue', (o) => isBefore(o.before) && (o.before6 === undefined || isBefore(o.before6)));
registerHostUndoHandler(
  'netavark-residue',
  refusedOnHost('netavark-residue', 'the podman datapath does not run across hosts'),
);

registerUndoHandler('netavark-residue', {
  describe: (u) =>
    `netavark's firewall chains and ip_forward (was ${u.before.ipForward}` +
    `${u.before6 ? `; IPv6: ip6tables chains, forwarding was ${u.before6.ipForward}` : ''}) left by the run's network`,
  async undo(u, run) {
    const others = await runningContainers(run).catch(() => []);
    if (others.length) return 'gone'; // other containers may need them: podman's, not ours to remove
    // each of them, whatever the others did (no short circuit)
    const done = [await removeResidue(u.before, run), await restoreIpForward(u.before.ipForward, run)];
    if (u.before6)
      done.push(await removeResidue(u.before6, run, V6), await restoreIpForward(u.before6.ipForward, run, V6));
    return done.some(Boolean) ? 'removed' : 'gone';
  },
});
