/**
 * One client/server measurement as the engines run it: the server starts and reports its port, the
 * client runs to its result, and a server that dies mid-run stops the client (which then reports what
 * it has) instead of leaving it to wait out every timeout. Both engines are stopped whatever happens.
 * The workloads (rtt, rr) say what to run and judge the result; this is the choreography they share.
 */
import { EngineError, EngineProcess, describeExit } from '../engine-client/supervisor.js';
import type { EngineEvent } from '../engine-client/protocol.js';

export interface ClientServerOutcome<C, S> {
  client: C;
  server: S | null;
  /** why the run is not whole, from the engines' side (server died, deadline, the client's own failure) */
  problems: string[];
  /** the client ended because it was stopped (server death or deadline), not by itself */
  stoppedEarly: boolean;
}

export async function runClientServer<C extends EngineEvent, S extends EngineEvent>(o: {
  server: { role: string; argv: string[] };
  client: { role: string; argv: (port: number) => Promise<string[]> | string[] };
  deadlineMs: number;
  isClientResult: (e: EngineEvent) => e is C;
  isServerResult: (e: EngineEvent) => e is S;
  onEngine?: (p: EngineProcess) => void;
}): Promise<ClientServerOutcome<C, S>> {
  const srv = new EngineProcess(o.server.role, o.server.argv, o.deadlineMs + 10_000);
  o.onEngine?.(srv);
  let cli: EngineProcess | null = null;
  try {
    const ready = await srv.waitFor('ready');
    cli = new EngineProcess(o.client.role, await o.client.argv(ready.port), o.deadlineMs);
    o.onEngine?.(cli);
    let serverDied: string | null = null;
    const clientRef = cli;
    void srv.exited.then((x) => {
      if (clientRef.running) {
        serverDied = `${o.server.role} exited during the run (${describeExit(x)})`;
        void clientRef.stop('request');
      }
    });
    const cliExit = await cli.exited;
    const failure = cli.failure();
    const client = cliExit.events.find(o.isClientResult);
    if (!client) throw failure ?? new EngineError(o.client.role, `exited (${describeExit(cliExit)}) without a result`);
    const srvExit = await srv.stop('request');
    const atDeadline = cliExit.stoppedBy === 'deadline';
    const problems = [
      serverDied,
      atDeadline ? `${o.client.role} stopped at its deadline (${Math.round(o.deadlineMs / 1000)} s)` : null,
      failure ? failure.message : null,
    ].filter((x): x is string => x !== null);
    return {
      client,
      server: srvExit.events.find(o.isServerResult) ?? null,
      problems,
      stoppedEarly: serverDied !== null || atDeadline,
    };
  } finally {
    await Promise.all([srv.stop('request'), cli?.stop('request')]);
  }
}
