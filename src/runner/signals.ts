/**
 * SIGINT/SIGTERM handling for commands that change the host. Installed before anything is created.
 * The first signal asks the work to stop (engines are stopped, the current step finishes, teardown
 * runs); later signals do not interrupt the teardown, they only say it is under way.
 */
import { stopAllEngines } from '../engine-client/supervisor.js';

export interface StopState {
  readonly requested: boolean;
  readonly signal: NodeJS.Signals | null;
}

let state: { requested: boolean; signal: NodeJS.Signals | null } = { requested: false, signal: null };
let installed = false;

function onSignal(sig: NodeJS.Signals): void {
  if (state.requested) {
    process.stderr.write(`cnperf: ${sig} again: still removing what this run created, please wait\n`);
    return;
  }
  state.requested = true;
  state.signal = sig;
  process.stderr.write(`cnperf: ${sig}: stopping; removing what this run created\n`);
  void stopAllEngines();
}

export function installStopHandlers(): StopState {
  if (!installed) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    installed = true;
  }
  return state;
}

/** Exit code for a run stopped by a signal: 128 + signal number, as shells expect. */
export function signalExitCode(sig: NodeJS.Signals | null): number {
  return sig === 'SIGINT' ? 130 : sig === 'SIGTERM' ? 143 : sig === 'SIGHUP' ? 129 : 1;
}

/** For tests in one process: forget an earlier stop request. */
export function resetStopState(): void {
  state = { requested: false, signal: null };
}
