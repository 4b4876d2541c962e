/**
 * Undoing what a run changed: each kind of journal entry with its handler (this machine's here, others
 * registered by the modules that journal them), the teardown that replays a journal backwards —
 * namespace and link deletions batched through cnperf-wire, a real host's one-command undos many per
 * ssh call — and "already gone" counted as done, so it can be run any number of times.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../paths.js';
import { errorMessage, HostCommandError } from '../util/errors.js';
import { COMMAND_TIMEOUT_MS, runCommand, type CommandRunner } from './command.js';
import { stopDaemon } from './proc.js';
import type { UndoAction } from './steps.js';
import { unmountRunBpffs } from './bpffs.js';
import { removeTraceInstance, unmountTracefs } from './tracefs.js';
import { UNDOS_PER_CALL, undoScript, undoScriptResults } from './undo-script.js';
import { sh } from '../util/shell.js';
import { runWire, wireLine, type NetOp, type WireAnswer } from './wire.js';

export interface TeardownReport {
  removed: string[];
  alreadyGone: string[];
  failed: Array<{ what: string; error: string }>;
}

/**
 * How each kind of journal entry is described and undone. The host's own kinds are here; a module
 * that journals kinds of its own (cni-del: src/datapaths/cni/attach.ts) registers their handler when it is
 * loaded, so the host layer never imports the layers above it.
 */
export type UndoHandler<U extends UndoAction> = {
  describe(u: U): string;
  undo(u: U, run: CommandRunner): Promise<'removed' | 'gone'>;
  /**
   * The one command the undo runs (its object gone counting as done), when that is all it does: on a
   * real host consecutive such undos go in one call (undoCommands) instead of one ssh round trip each.
   */
  command?(u: U): readonly string[];
};
export type UndoHandlers = { [K in UndoAction['op']]?: UndoHandler<Extract<UndoAction, { op: K }>> };
const UNDO_HANDLERS: UndoHandlers = {};

/** The handler a place has for an entry (the mapped type pairs each kind with its handler). */
export function handlerIn<U extends UndoAction>(handlers: UndoHandlers | undefined, u: U): UndoHandler<U> | undefined {
  return handlers?.[u.op] as UndoHandler<U> | undefined;
}

export function registerUndoHandler<K extends UndoAction['op']>(
  op: K,
  handler: UndoHandler<Extract<UndoAction, { op: K }>>,
): void {
  (UNDO_HANDLERS as Record<string, unknown>)[op] = handler;
}

/**
 * How a real host undoes a module's own kind — over its ssh, through the runner it is given — or why
 * it refuses to (`refusedOnHost`): registered by the module that journals the kind, beside its
 * handler here. src/remote/remote-undo.ts adds them to a host's own handlers.
 */
const HOST_UNDO_HANDLERS: UndoHandlers = {};

export function registerHostUndoHandler<K extends UndoAction['op']>(
  op: K,
  handler: UndoHandler<Extract<UndoAction, { op: K }>>,
): void {
  (HOST_UNDO_HANDLERS as Record<string, unknown>)[op] = handler;
}

/** The host handlers the modules loaded so far registered. */
export function registeredHostUndoHandlers(): UndoHandlers {
  return { ...HOST_UNDO_HANDLERS };
}

/**
 * For a kind a host's journal never holds (its datapath does not run across hosts): should one appear
 * there, its undo is refused by name and the journal kept — this machine's handler would undo this
 * machine's state (its mounts, its podman), not the host's.
 */
export function refusedOnHost<U extends UndoAction>(op: U['op'], why: string): UndoHandler<U> {
  return {
    describe: () => op,
    undo: async () => {
      throw new Error(`cannot undo '${op}' on a host (${why}); the journal is kept for a cnperf that can`);
    },
  };
}

/** Runs a script (through a host's runner) whose exit 3 means "already gone" (its object is not there). */
export async function scriptOrGone(run: CommandRunner, script: string, ...args: string[]): Promise<'removed' | 'gone'> {
  try {
    await run(sh(script, ...args));
    return 'removed';
  } catch (e) {
    if (e instanceof HostCommandError && e.code === 3) return 'gone';
    throw e;
  }
}

/** What a run mounted on a host is only ever under its run directory there (/run/cnperf/cnpXXXXXX/). */
const RUN_MOUNT_RE = /^\/run\/cnperf\/cnp[a-z0-9]{6}\/[a-z0-9-]+$/;
const UNMOUNT = '[ -n "$(awk -v p="$1" -v t="$2" \'$2 == p && $3 == t\' /proc/mounts)" ] || exit 3; umount "$1"';

/** A host's undo of a mount of `type` the run made under its run directory; anything else is refused. */
export function unmountOnHost(type: string) {
  return (u: { path: string }, run: CommandRunner): Promise<'removed' | 'gone'> => {
    if (!RUN_MOUNT_RE.test(u.path))
      throw new Error(`refusing to unmount ${u.path} on a host: not a mount under a run directory of /run/cnperf`);
    return scriptOrGone(run, UNMOUNT, u.path, type);
  };
}

function handlerOf<U extends UndoAction>(u: U): UndoHandler<U> {
  const h = handlerIn(UNDO_HANDLERS, u);
  if (!h) throw new Error(`no handler for journal entry '${u.op}' (its module was not loaded)`);
  return h;
}

/** The kinds this machine can undo (their modules loaded). */
export function localUndoKinds(): string[] {
  return Object.keys(UNDO_HANDLERS);
}

export function describeUndo(u: UndoAction): string {
  return UNDO_HANDLERS[u.op] ? handlerOf(u).describe(u) : `${u.op} ${JSON.stringify(u)}`;
}

export async function undoAll(
  undos: readonly UndoAction[],
  run: CommandRunner = runCommand,
  elsewhere?: UndoHandlers,
): Promise<TeardownReport> {
  const report: TeardownReport = { removed: [], alreadyGone: [], failed: [] };
  const order = [...undos].reverse();
  for (let i = 0; i < order.length;) {
    const kernel: Array<Extract<UndoAction, { op: 'del-netns' | 'del-link' }>> = [];
    // on a real host, each is its own command (no cnperf-wire there)
    for (let u = order[i]; !elsewhere && u && (u.op === 'del-netns' || u.op === 'del-link'); u = order[++i])
      kernel.push(u);
    if (kernel.length > 0) {
      await undoKernel(kernel, order, run, report);
      continue;
    }
    // elsewhere, consecutive undos that are one command each go to the host together
    const commands: Array<{ u: UndoAction; argv: () => readonly string[] }> = [];
    while (i < order.length) {
      const u = order[i]!;
      const h = handlerIn(elsewhere, u);
      if (!h?.command) break;
      commands.push({ u, argv: () => h.command!(u) });
      i++;
    }
    if (commands.length > 0) {
      await undoCommands(commands, run, report);
      continue;
    }
    const u = order[i++]!;
    const what = describeUndo(u);
    try {
      // elsewhere (a real host) only its own handlers: this machine's would undo this machine's state
      const own = handlerIn(elsewhere, u);
      if (elsewhere && !own)
        throw new Error(
          `no handler for '${u.op}' on a host: cnperf does not know how to undo it there; the journal is kept`,
        );
      const r = own ? await own.undo(u, run) : await undoOne(u, run);
      (r === 'removed' ? report.removed : report.alreadyGone).push(what);
    } catch (e) {
      report.failed.push({ what, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return report;
}

/**
 * Namespace and link deletions in one cnperf-wire call. A link inside a namespace this teardown also
 * deletes is not deleted on its own: it goes with its namespace, and its fate is the namespace's.
 */
async function undoKernel(
  undos: ReadonlyArray<Extract<UndoAction, { op: 'del-netns' | 'del-link' }>>,
  all: readonly UndoAction[],
  run: CommandRunner,
  report: TeardownReport,
): Promise<void> {
  const dying = new Set(all.flatMap((u) => (u.op === 'del-netns' ? [u.netns] : [])));
  const requests: Array<{ what: string; op: NetOp }> = [];
  const riders = new Map<string, string[]>(); // namespace → links that go with it
  for (const u of undos) {
    if (u.op === 'del-link' && dying.has(u.netns))
      riders.set(u.netns, [...(riders.get(u.netns) ?? []), `${describeUndo(u)} (with its namespace)`]);
    else
      requests.push({
        what: describeUndo(u),
        op: u.op === 'del-netns' ? { op: 'netns-del', netns: u.netns } : { op: 'link-del', netns: u.netns, dev: u.dev },
      });
  }
  let answers: Awaited<ReturnType<typeof runWire>>['answers'];
  try {
    ({ answers } = await runWire(
      'undo',
      requests.map((r) => wireLine(r.op)),
      run,
    ));
  } catch (e) {
    // Teardown must not depend on the tool that built: without cnperf-wire, `ip` removes the same.
    if (!(e instanceof HostCommandError && e.code === 127)) {
      for (const r of requests) report.failed.push({ what: r.what, error: errorMessage(e) });
      return;
    }
    answers = [];
    for (const r of requests)
      answers.push(await undoWithIp(r.op as Extract<NetOp, { op: 'netns-del' | 'link-del' }>, run));
  }
  requests.forEach((r, i) => {
    const a = answers[i]!;
    const withIt = r.op.op === 'netns-del' ? (riders.get(r.op.netns) ?? []) : [];
    if (!a.ok) report.failed.push(...[r.what, ...withIt].map((what) => ({ what, error: a.error })));
    else (a.gone ? report.alreadyGone : report.removed).push(r.what, ...withIt);
  });
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

async function undoOne(u: UndoAction, run: CommandRunner): Promise<'removed' | 'gone'> {
  return handlerOf(u).undo(u, run);
}

/** A namespace or link deletion as the `ip` command, for a host where cnperf-wire is missing. */
async function undoWithIp(
  op: Extract<NetOp, { op: 'netns-del' | 'link-del' }>,
  run: CommandRunner,
): Promise<WireAnswer> {
  if (!netnsExists(op.netns)) return { ok: true, gone: true }; // a link dies with its namespace
  try {
    await run(
      op.op === 'netns-del' ? ['ip', 'netns', 'del', op.netns] : ['ip', '-n', op.netns, 'link', 'del', 'dev', op.dev],
    );
    return { ok: true, gone: false };
  } catch (e) {
    if (e instanceof HostCommandError && /Cannot find device/.test(e.stderr)) return { ok: true, gone: true };
    return { ok: false, error: errorMessage(e) };
  }
}

/** One namespace or link deletion on its own (undoAll batches them; this serves a lone entry). */
async function undoKernelOne(
  u: Extract<UndoAction, { op: 'del-netns' | 'del-link' }>,
  run: CommandRunner,
): Promise<'removed' | 'gone'> {
  const report: TeardownReport = { removed: [], alreadyGone: [], failed: [] };
  await undoKernel([u], [], run, report);
  if (report.failed.length) throw new Error(report.failed[0]!.error);
  return report.removed.length ? 'removed' : 'gone';
}

/** Only ever a directory of ours: under the state directory, named by a run id. */
async function rmRunDir(u: { path: string }): Promise<'removed' | 'gone'> {
  if (!/^\/.+\/cnp[a-z0-9]{6}$/.test(u.path) || !path.resolve(u.path).startsWith(path.resolve(stateDir()) + path.sep))
    throw new Error(`refusing to remove ${u.path}: not a run directory under ${stateDir()}`);
  if (!existsSync(u.path)) return 'gone';
  rmSync(u.path, { recursive: true, force: true });
  return 'removed';
}

registerUndoHandler('del-netns', { describe: (u) => `namespace ${u.netns}`, undo: (u, run) => undoKernelOne(u, run) });
registerUndoHandler('del-link', {
  describe: (u) => `link ${u.dev} in ${u.netns}`,
  undo: (u, run) => undoKernelOne(u, run),
});
registerUndoHandler('kill-pidfile', {
  describe: (u) => `${u.comm} (${u.pidfile})`,
  undo: (u) => stopDaemon(u.pidfile, u.comm),
});
registerUndoHandler('rm-dir', { describe: (u) => `directory ${u.path}`, undo: rmRunDir });
registerUndoHandler('rm-trace-instance', {
  describe: (u) => `tracefs instance ${u.path}`,
  undo: async (u) => removeTraceInstance(u.path),
});
registerUndoHandler('umount-bpffs', {
  describe: (u) => `bpffs mount ${u.path} (its pins)`,
  undo: (u, run) => unmountRunBpffs(u.path, run),
});
/** What `ip` and the shell say when the object an undo removes is gone already (with its device or namespace). */
const GONE =
  /No such process|Cannot find device|No such file or directory|Cannot open network namespace|does not exist/;

/**
 * Runs an undo's command; its object being gone already counts as done. Never an ssh failure (exit
 * 255): a host that cannot be reached has not undone anything.
 */
export async function runOrGone(run: CommandRunner, argv: readonly string[]): Promise<'removed' | 'gone'> {
  try {
    await run(argv);
    return 'removed';
  } catch (e) {
    if (e instanceof HostCommandError && e.code !== 255 && GONE.test(e.stderr)) return 'gone';
    throw e;
  }
}

/** A route of the run's in a namespace of the host's own (here or on a real host: the runner says where). */
export const delRouteArgv = (u: Extract<UndoAction, { op: 'del-route' }>) => [
  'ip',
  '-n',
  u.netns,
  'route',
  'del',
  u.dst,
  ...(u.dev ? ['dev', u.dev] : []),
];
export const delRoute = (u: Extract<UndoAction, { op: 'del-route' }>, run: CommandRunner) =>
  runOrGone(run, delRouteArgv(u));

/** Consecutive single-command undos on a real host, many per call; each judged as runOrGone judges one. */
async function undoCommands(
  list: ReadonlyArray<{ u: UndoAction; argv: () => readonly string[] }>,
  run: CommandRunner,
  report: TeardownReport,
): Promise<void> {
  const ready: Array<{ what: string; argv: readonly string[] }> = [];
  for (const { u, argv } of list) {
    try {
      ready.push({ what: describeUndo(u), argv: argv() }); // a journal entry cnperf refuses to act on throws here
    } catch (e) {
      report.failed.push({ what: describeUndo(u), error: e instanceof Error ? e.message : String(e) });
    }
  }
  for (let from = 0; from < ready.length; from += UNDOS_PER_CALL) {
    const chunk = ready.slice(from, from + UNDOS_PER_CALL);
    let stdout: string;
    try {
      ({ stdout } = await run(
        ['sh', '-s'],
        undoScript(chunk.map((c) => c.argv)),
        COMMAND_TIMEOUT_MS + chunk.length * 200,
      ));
    } catch (e) {
      // not run (the host cannot be reached, or the script was killed): none of them is undone
      for (const c of chunk) report.failed.push({ what: c.what, error: e instanceof Error ? e.message : String(e) });
      continue;
    }
    undoScriptResults(stdout, chunk.length).forEach((r, k) => {
      const c = chunk[k]!;
      if (r.ok) report.removed.push(c.what);
      else if (r.code > 0 && GONE.test(r.output)) report.alreadyGone.push(c.what);
      else report.failed.push({ what: c.what, error: new HostCommandError(c.argv, r.output, r.code).message });
    });
  }
}

/**
 * The sysctls a run may set in a namespace of the host's own, and so the only ones a journal may set
 * back: a journal is a file, and an entry naming any other key is refused, not written.
 */
export const RESTORABLE_SYSCTLS: readonly string[] = [
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.send_redirects',
  'net.bridge.bridge-nf-call-iptables',
];

export const restoreSysctlArgv = (u: Extract<UndoAction, { op: 'sysctl-restore' }>) => {
  if (!RESTORABLE_SYSCTLS.includes(u.key))
    throw new Error(`refusing to set ${u.key}: cnperf only ever sets back ${RESTORABLE_SYSCTLS.join(', ')}`);
  if (!/^[0-9]{1,3}$/.test(u.value))
    throw new Error(`refusing to set ${u.key} to '${u.value}': not a value cnperf saved`);
  return ['ip', 'netns', 'exec', u.netns, 'sysctl', '-qw', `${u.key}=${u.value}`];
};
export const restoreSysctl = (u: Extract<UndoAction, { op: 'sysctl-restore' }>, run: CommandRunner) =>
  runOrGone(run, restoreSysctlArgv(u));

registerUndoHandler('del-route', {
  describe: (u) => `route ${u.dst}${u.dev ? ` dev ${u.dev}` : ''} in ${u.netns}`,
  undo: delRoute,
});
registerUndoHandler('sysctl-restore', {
  describe: (u) => `${u.key} back to ${u.value} in ${u.netns}`,
  undo: restoreSysctl,
});
registerUndoHandler('umount-tracefs', {
  describe: (u) => `tracefs mount ${u.path}`,
  undo: (u, run) => unmountTracefs(u.path, run),
});
