/**
 * The kernel steps of a plan that cnperf-wire (engine/wire/) applies over rtnetlink, many per process,
 * instead of one `ip` process per step: a 128-pair bridge was ~3000 fork/execs and netlink round trips
 * one at a time, now it is a few thousand netlink messages from one process (issue 21). Each step keeps
 * the `ip` command with the same effect for display (--dry-run, error messages), so what a user reads
 * is what they could type.
 *
 * Pure: the requests and their `ip` equivalents. src/local/executor.ts journals and runs them.
 */
import { wirePath } from '../paths.js';
import { HostCommandError } from '../util/errors.js';
import type { CommandRunner } from './command.js';

export type NetOp =
  | { op: 'netns-add'; netns: string }
  | { op: 'netns-del'; netns: string }
  | {
      op: 'veth-add';
      netns: string;
      name: string;
      peerNetns: string;
      peer: string;
      mtu?: number;
      mac?: string;
      peerMac?: string;
    }
  | { op: 'bridge-add'; netns: string; name: string; mtu?: number }
  | {
      op: 'macvlan-add' | 'ipvlan-add';
      lowerNetns: string;
      lower: string;
      netns: string;
      name: string;
      mode: string;
      mtu?: number;
    }
  | {
      op: 'vxlan-add';
      netns: string;
      name: string;
      vni: number;
      port: number;
      local: string;
      remote: string;
      dev: string;
      mtu?: number;
    }
  | { op: 'link-alias'; netns: string; dev: string; alias: string }
  | { op: 'link-addrgenmode-none'; netns: string; dev: string }
  | { op: 'link-master'; netns: string; dev: string; master: string }
  | { op: 'link-up'; netns: string; dev: string }
  | { op: 'link-del'; netns: string; dev: string }
  | { op: 'addr-add'; netns: string; dev: string; cidr: string }
  | { op: 'route-add'; netns: string; dst: string; via?: string; dev?: string; onlink?: boolean };

/** A readiness condition: a device with carrier, a bridge port forwarding, every bridge port of a namespace forwarding.
 * */
export type ReadyCondition =
  { op: 'wait-carrier' | 'wait-port'; netns: string; dev: string } | { op: 'wait-ports'; netns: string };

const opt = (v: string | number | undefined) => (v === undefined ? '-' : String(v));

/** The request line cnperf-wire reads (tab-separated fields; engine/wire/ops.c has the same order). */
export function wireLine(o: NetOp | ReadyCondition): string {
  const fields: Array<string | number> = (() => {
    switch (o.op) {
      case 'netns-add':
      case 'netns-del':
      case 'wait-ports':
        return [o.netns];
      case 'veth-add':
        return [o.netns, o.name, o.peerNetns, o.peer, opt(o.mtu), opt(o.mac), opt(o.peerMac)];
      case 'bridge-add':
        return [o.netns, o.name, opt(o.mtu)];
      case 'macvlan-add':
      case 'ipvlan-add':
        return [o.lowerNetns, o.lower, o.netns, o.name, o.mode, opt(o.mtu)];
      case 'vxlan-add':
        return [o.netns, o.name, o.vni, o.port, o.local, o.remote, o.dev, opt(o.mtu)];
      case 'link-alias':
        return [o.netns, o.dev, o.alias];
      case 'link-master':
        return [o.netns, o.dev, o.master];
      case 'addr-add':
        return [o.netns, o.dev, o.cidr];
      case 'route-add':
        return [o.netns, o.dst, opt(o.via), opt(o.dev), o.onlink ? 'onlink' : '-'];
      default:
        return [o.netns, o.dev];
    }
  })();
  const line = [o.op, ...fields].join('\t');
  if (/[\n\r]/.test(line) || fields.some((f) => String(f).includes('\t')))
    throw new Error(`internal: a netlink request field holds a tab or newline: ${JSON.stringify(o)}`);
  return line;
}

/** The `ip` command with the same effect as a request: what --dry-run shows and errors name. */
export function ipEquivalent(o: NetOp): string[] {
  const ip = (netns: string, ...args: string[]) => ['ip', '-n', netns, ...args];
  const mtu = (m?: number) => (m ? ['mtu', String(m)] : []);
  const mac = (m?: string) => (m ? ['address', m] : []);
  switch (o.op) {
    case 'netns-add':
      return ['ip', 'netns', 'add', o.netns];
    case 'netns-del':
      return ['ip', 'netns', 'del', o.netns];
    case 'veth-add':
      return [
        'ip',
        'link',
        'add',
        o.name,
        'netns',
        o.netns,
        ...mtu(o.mtu),
        ...mac(o.mac),
        'type',
        'veth',
        'peer',
        'name',
        o.peer,
        'netns',
        o.peerNetns,
        ...mtu(o.mtu),
        ...mac(o.peerMac),
      ];
    case 'bridge-add':
      return ip(o.netns, 'link', 'add', o.name, ...mtu(o.mtu), 'type', 'bridge');
    case 'macvlan-add':
    case 'ipvlan-add': {
      const move = o.netns === o.lowerNetns ? [] : ['netns', o.netns];
      return ip(
        o.lowerNetns,
        'link',
        'add',
        o.name,
        'link',
        o.lower,
        ...move,
        ...mtu(o.mtu),
        'type',
        o.op.replace('-add', ''),
        'mode',
        o.mode,
      );
    }
    case 'vxlan-add':
      return ip(
        o.netns,
        'link',
        'add',
        o.name,
        ...mtu(o.mtu),
        'type',
        'vxlan',
        'id',
        String(o.vni),
        'dstport',
        String(o.port),
        'local',
        o.local,
        'remote',
        o.remote,
        'dev',
        o.dev,
      );
    case 'link-alias':
      return ip(o.netns, 'link', 'set', 'dev', o.dev, 'alias', o.alias);
    case 'link-addrgenmode-none':
      return ip(o.netns, 'link', 'set', 'dev', o.dev, 'addrgenmode', 'none');
    case 'link-master':
      return ip(o.netns, 'link', 'set', 'dev', o.dev, 'master', o.master);
    case 'link-up':
      return ip(o.netns, 'link', 'set', 'dev', o.dev, 'up');
    case 'link-del':
      return ip(o.netns, 'link', 'del', 'dev', o.dev);
    case 'addr-add':
      // IPv6: no duplicate address detection (the address would be "tentative" for about a second)
      return ip(o.netns, 'addr', 'add', o.cidr, 'dev', o.dev, ...(o.cidr.includes(':') ? ['nodad'] : []));
    case 'route-add':
      return ip(
        o.netns,
        'route',
        'add',
        o.dst,
        ...(o.via ? ['via', o.via] : []),
        ...(o.dev ? ['dev', o.dev] : []),
        ...(o.onlink ? ['onlink'] : []),
      );
  }
}

/** One answer of cnperf-wire: done, nothing was there to delete, or the kernel's refusal. */
export type WireAnswer = { ok: true; gone: boolean; detail?: string } | { ok: false; error: string };

export interface WireResult {
  answers: WireAnswer[];
  /** `not-ready WHAT\tWHY` lines of a readiness wait that timed out */
  notReady: Array<{ what: string; why: string }>;
}

/** Reads cnperf-wire's stdout. Pure; exported for tests. */
export function parseWireOutput(stdout: string): WireResult {
  const out: WireResult = { answers: [], notReady: [] };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('not-ready ')) {
      const [what, why] = line.slice('not-ready '.length).split('\t');
      out.notReady.push({ what: what!, why: why ?? '' });
    } else if (line === 'ok' || line.startsWith('ok ')) {
      const rest = line.slice(3);
      out.answers.push({ ok: true, gone: rest === 'gone', ...(rest && rest !== 'gone' ? { detail: rest } : {}) });
    } else if (line.startsWith('err ')) {
      out.answers.push({ ok: false, error: line.slice(4) });
    } else {
      throw new Error(`internal: cnperf-wire printed a line cnperf does not understand: ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/**
 * Runs requests through cnperf-wire: `apply` stops at the first refusal, `undo` answers every request.
 * Rejects only when the tool itself failed (not built, crashed, or answered fewer requests than it
 * was given without a refusal among them).
 */
export async function runWire(
  mode: 'apply' | 'undo',
  lines: readonly string[],
  run: CommandRunner,
): Promise<WireResult> {
  const argv = [wirePath(), mode];
  let stdout: string;
  try {
    ({ stdout } = await run(argv, lines.join('\n') + '\n'));
  } catch (e) {
    if (e instanceof HostCommandError && /not found on PATH|ENOENT/.test(e.stderr)) {
      throw new HostCommandError(argv, `${wirePath()} is missing: build it with 'npm run build' (make -C engine)`, 127);
    }
    throw e;
  }
  const result = parseWireOutput(stdout);
  const refused = result.answers.some((a) => !a.ok);
  if (result.answers.length < lines.length && !(mode === 'apply' && refused)) {
    throw new HostCommandError(
      argv,
      `cnperf-wire answered ${result.answers.length} of ${lines.length} requests and stopped`,
      null,
    );
  }
  return result;
}
