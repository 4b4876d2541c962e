/**
 * A reference to a network namespace cnperf did not make, as a user writes it: a named namespace, a
 * process's, a podman or Docker container's (netns:NAME, pid:PID, podman:NAME, docker:NAME). Pure
 * syntax, checked where options are read (an experiment file's value is refused at its line); finding
 * the namespace on the host is the `existing` datapath's (src/datapaths/existing/endpoint.ts).
 */
import { UserError } from '../util/errors.js';
import { validNetnsName } from './well-formed.js';

export type EndpointSpec =
  { kind: 'netns'; name: string } | { kind: 'pid'; pid: number } | { kind: 'podman' | 'docker'; name: string };

export const ENDPOINT_FORMS = 'netns:NAME, pid:PID, podman:CONTAINER or docker:CONTAINER';

/** "netns:A" → {kind: 'netns', name: 'A'}; a UserError naming the flag and the forms allowed. Pure. */
export function parseEndpointSpec(text: string, flag: string): EndpointSpec {
  const m = /^(netns|pid|podman|docker):(.+)$/.exec(text);
  if (!m) throw new UserError(`${flag} '${text}': expected ${ENDPOINT_FORMS}`);
  const kind = m[1] as EndpointSpec['kind']; // one of the pattern's alternatives
  const rest = m[2]!;
  if (kind === 'pid') {
    if (!/^[1-9][0-9]{0,9}$/.test(rest)) throw new UserError(`${flag} '${text}': a process id is a positive number`);
    return { kind, pid: Number(rest) };
  }
  if (kind === 'netns') {
    if (!validNetnsName(rest))
      throw new UserError(`${flag} '${text}': '${rest}' is not a namespace name (ip netns list shows them)`);
    return { kind, name: rest };
  }
  // container names and ids as the runtimes accept them
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,253}$/.test(rest))
    throw new UserError(`${flag} '${text}': '${rest}' is not a container name or id`);
  return { kind, name: rest };
}

export function describeSpec(s: EndpointSpec): string {
  return s.kind === 'pid'
    ? `process ${s.pid}`
    : s.kind === 'netns'
      ? `namespace ${s.name}`
      : `${s.kind} container ${s.name}`;
}
