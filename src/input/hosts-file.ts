/**
 * Reads an inventory of real hosts (`--hosts FILE`, or `hosts: FILE` in an experiment): YAML with
 * positions, every problem reported at once as `file:line:col: what is wrong` and what is allowed.
 * Relative key files are resolved against the inventory's directory. Nothing here touches the host.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isIP } from 'node:net';
import { LineCounter, parseDocument } from 'yaml';
import type { Inventory, InventoryHost } from '../remote/inventory.js';
import { nearest } from '../util/nearest.js';
import { errorMessage, UserError } from '../util/errors.js';
import { ExperimentError, locator, type Problem } from './located.js';

const HOST_KEYS = ['name', 'address', 'user', 'port', 'identity', 'known_hosts', 'interface'] as const;
const NAME_RE = /^[a-z][a-z0-9-]{0,15}$/;
const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
/** Inventories are short; more hosts than this is a mistake (a run uses at most two). */
export const MAX_HOSTS = 64;
const HINT =
  'an inventory: hosts: [{name: a, address: 198.19.10.1, user: root, port: 22, identity: FILE, known_hosts: ' +
  'FILE, interface: eth1}, ...]';

export function parseHostsText(text: string, file: string): Inventory {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const syntax: Problem[] = doc.errors.map((e) => ({
    ...lc.linePos(e.pos[0]),
    message: `YAML: ${e.message.split('\n')[0]}`,
  }));
  if (syntax.length) throw new ExperimentError(file, syntax, HINT);
  const at = locator(doc, lc);
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 10 });
  } catch (e) {
    throw new ExperimentError(file, [{ line: 1, col: 1, message: `YAML: ${errorMessage(e)}` }], HINT);
  }
  const problems: Problem[] = [];
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(js))
    throw new ExperimentError(
      file,
      [
        {
          ...at([]),
          message:
            'an inventory is a map with one key, hosts: a list of {name, address, user, port, identity, ' +
            'known_hosts, interface}',
        },
      ],
      HINT,
    );
  for (const k of Object.keys(js))
    if (k !== 'hosts') problems.push({ ...at([], k), message: `unknown key '${k}'; allowed here: hosts` });
  const list = js.hosts;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push({
      ...at(list === undefined ? [] : ['hosts']),
      message: "'hosts': expected a list of at least one host",
    });
    throw new ExperimentError(file, problems, HINT);
  }
  if (list.length > MAX_HOSTS)
    problems.push({ ...at(['hosts']), message: `${list.length} hosts; an inventory has at most ${MAX_HOSTS}` });
  const dir = path.dirname(path.resolve(file));
  const hosts: InventoryHost[] = [];
  const seen = new Map<string, string>();
  list.forEach((h: unknown, i) => {
    const base = ['hosts', i];
    if (!isMap(h)) return problems.push({ ...at(base), message: `hosts[${i}]: expected a map with name and address` });
    const bad = (key: string, message: string) =>
      problems.push({ ...at(h[key] === undefined ? base : [...base, key]), message: `hosts[${i}].${key}: ${message}` });
    for (const k of Object.keys(h)) {
      if ((HOST_KEYS as readonly string[]).includes(k)) continue;
      const near = nearest(k, HOST_KEYS);
      problems.push({
        ...at(base, k),
        message: `unknown key '${k}'${near ? ` (did you mean '${near}'?)` : ''}; allowed here: ${HOST_KEYS.join(', ')}`,
      });
    }
    const str = (key: string, re: RegExp, what: string, required: boolean): string | undefined => {
      const v = h[key];
      if (v === undefined) return required ? (bad(key, `missing; ${what}`), undefined) : undefined;
      if (typeof v !== 'string' || !re.test(v)) return (bad(key, `'${String(v)}' is not valid; ${what}`), undefined);
      return v;
    };
    const name = str(
      'name',
      NAME_RE,
      'a short name: lowercase letters, digits and -, at most 16, starting with a letter',
      true,
    );
    const address =
      h.address === undefined
        ? (bad('address', "missing; the IP address cnperf connects to (and the host's underlay address)"), undefined)
        : typeof h.address === 'string' && isIP(h.address)
          ? h.address
          : (bad('address', `'${String(h.address)}' is not an IPv4 or IPv6 address`), undefined);
    const user = str('user', USER_RE, 'a user name', false) ?? 'root';
    let port = 22;
    if (h.port !== undefined) {
      if (typeof h.port === 'number' && Number.isInteger(h.port) && h.port >= 1 && h.port <= 65535) port = h.port;
      else bad('port', `'${String(h.port)}' is not a TCP port (1..65535)`);
    }
    const file_ = (key: 'identity' | 'known_hosts'): string | undefined => {
      const v = h[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length === 0) return (bad(key, 'expected a file path'), undefined);
      const abs = path.resolve(dir, v);
      try {
        if (!statSync(abs).isFile()) return (bad(key, `${abs} is not a file`), undefined);
      } catch {
        return (bad(key, `${abs} does not exist`), undefined);
      }
      return abs;
    };
    const identity = file_('identity');
    const knownHosts = file_('known_hosts');
    const iface = str('interface', IFNAME_RE, 'a network interface name (at most 15 characters)', false);
    for (const [key, v] of [
      ['name', name],
      ['address', address],
    ] as const) {
      if (v === undefined) continue;
      const prior = seen.get(`${key}=${v}`);
      if (prior) bad(key, `'${v}' is also ${prior}'s; each host has its own ${key}`);
      seen.set(`${key}=${v}`, `hosts[${i}]`);
    }
    if (name && address)
      hosts.push({
        name,
        address,
        user,
        port,
        ...(identity ? { identity } : {}),
        ...(knownHosts ? { knownHosts } : {}),
        ...(iface ? { interface: iface } : {}),
      });
  });
  if (problems.length) throw new ExperimentError(file, problems, HINT);
  return { file, hosts };
}

export function loadHostsFile(file: string): Inventory {
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new UserError(`--hosts ${file}: not a file`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(
      `cannot read the hosts file ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`,
      'an inventory is YAML: hosts: [{name: a, address: 198.19.10.1}, ...]',
    );
  }
  if (text.length > 1 << 20)
    throw new ExperimentError(file, [
      { line: 1, col: 1, message: 'the file is larger than 1 MB; an inventory is a page' },
    ]);
  return parseHostsText(text, file);
}
