/**
 * `cnperf serve [--db FILE] [--listen ADDR[:PORT]]`: the web UI over a results store (src/serve/),
 * on 127.0.0.1:8377 unless told otherwise. Beyond loopback it wants a token, printed once on start.
 * It runs until interrupted; a store it cannot read or an address it cannot bind is a user's error.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { defaultDbPath } from '../paths.js';
import { createApp } from '../serve/app.js';
import { Store } from '../store/db.js';
import { UserError } from '../util/errors.js';
import { parseIntIn } from '../util/units.js';
import { parseCommandArgs, str, type OptionSpec } from './args.js';

export const DEFAULT_LISTEN = '127.0.0.1:8377';
export const SERVE_USAGE = `cnperf serve [--db FILE] [--listen ADDR[:PORT]]
  --listen   where to listen (default ${DEFAULT_LISTEN}; PORT 0 picks a free one); an address beyond
             loopback makes the server ask for a token, printed on start
  read-only: it shows the store and the runs in progress; runs are started from the command line`;
export const SERVE_OPTIONS: OptionSpec = { db: { type: 'string' }, listen: { type: 'string' } };

/** ADDR[:PORT], [IPv6]:PORT; the address must be an IP (no name to resolve to something unexpected). */
export function parseListen(text: string): { address: string; port: number; loopback: boolean } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const address = m?.[1] === 'localhost' ? '127.0.0.1' : m?.[1];
  if (!m || !address || !isIP(address))
    throw new UserError(
      `--listen '${text}': expected an IP address and an optional port`,
      `for example ${DEFAULT_LISTEN}, 0.0.0.0:8377 or [::1]:8377`,
    );
  const port = m[2] === undefined ? 8377 : parseIntIn(m[2], '--listen port', 0, 65535);
  const loopback = address === '::1' || address.startsWith('127.');
  return { address, port, loopback };
}

function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
      const why: Record<string, string> = {
        EADDRINUSE: 'the port is in use by another program',
        EADDRNOTAVAIL: `${address} is not an address of this machine`,
        EACCES: 'this user may not listen there',
      };
      reject(
        new UserError(
          `serve: cannot listen on ${where}: ${why[e.code ?? ''] ?? e.message}`,
          'choose another with --listen ADDR:PORT (PORT 0 picks a free one)',
        ),
      );
    });
    server.listen(port, address, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function serveCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('serve', argv, SERVE_OPTIONS, SERVE_USAGE);
  if (p.positionals.length) throw new UserError(`serve: unexpected '${p.positionals[0]}'`, `usage: ${SERVE_USAGE}`);
  const { address, port: wanted, loopback } = parseListen(str(p, 'listen') ?? DEFAULT_LISTEN);
  const store = Store.openExisting(str(p, 'db') ?? defaultDbPath());
  const token = loopback ? null : randomBytes(16).toString('hex');
  // the Host header names this server: known once the port is
  const hosts: string[] = [];
  const app = createApp({ store, hosts, token });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  let port: number;
  try {
    port = await listen(server, address, wanted);
  } catch (e) {
    store.close();
    throw e;
  }
  const shown = address.includes(':') ? `[${address}]` : address;
  hosts.push(`${shown}:${port}`, ...(loopback ? [`localhost:${port}`] : []));
  // beyond loopback the machine has other names and addresses: the token guards it, not the Host header
  if (!loopback) hosts.length = 0;
  process.stdout.write(
    `cnperf serve: http://${shown}:${port}/${token ? `?token=${token}` : ''}  (store ${store.file}; read-only; ` +
      `Ctrl-C stops)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.closeAllConnections(); // the live pages' event streams would hold close() open
      server.close(() => resolve());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  store.close();
  return 0;
}
