/**
 * cnperf's command line: the command table, help, and the one place where errors become exit codes.
 * A command's module is loaded only when that command runs or its usage is asked for: `cnperf --help`
 * and every command start without loading the others (the store, the report, zod's schemas).
 */
import { OPTIONS, type OptionDef } from '../options/options.js';
import { RefusedError, UserError, errorMessage } from '../util/errors.js';
import { nearest } from '../util/nearest.js';
import { VERSION } from '../version.js';
import type { OptionSpec } from './args.js';
import { completionScript, enumeratedValues, SHELLS, type CompletionCommand } from './completion.js';
import { envVarLines } from './env-vars.js';

/** What a command's module gives once loaded. */
interface Loaded {
  run: (argv: string[]) => Promise<number>;
  /** what `cnperf COMMAND --help` and `cnperf help COMMAND` print */
  usage: string;
  /** for completion: the options, their enumerated values and positional words */
  options: OptionSpec;
  values?: Record<string, readonly string[]>;
  positionals?: () => readonly string[];
}

interface Command {
  /** one line for `cnperf --help` */
  help: string;
  subcommands?: readonly string[];
  load: () => Promise<Loaded>;
}

const COMPLETION_USAGE = `cnperf completion ${SHELLS.join('|')}   (a completion script made from the option table)
  bash: eval "$(cnperf completion bash)"     zsh: cnperf completion zsh > "\${fpath[1]}/_cnperf"
  fish: cnperf completion fish > ~/.config/fish/completions/cnperf.fish`;

const quickOptions = (names: readonly string[]) =>
  Object.fromEntries(
    names.map((n) => [n, { type: (OPTIONS as Record<string, OptionDef<unknown>>)[n]!.type }]),
  ) as OptionSpec;
const quickValues = (names: readonly string[]) =>
  Object.fromEntries(
    names.flatMap((n) => {
      const v = enumeratedValues((OPTIONS as Record<string, OptionDef<unknown>>)[n]!.value);
      return v ? [[n, v]] : [];
    }),
  );
const datapathNames = async () => (await import('../datapaths/registry.js')).datapathNames;

const COMMANDS: Record<string, Command> = {
  quick: {
    help: 'measure RTT, throughput, rate sweeps or latency under load through datapaths',
    load: async () => {
      const [m, { OPTION_NAMES }] = [await import('./quick.js'), await import('../options/options.js')];
      return {
        run: m.quickCommand,
        usage: m.QUICK_USAGE,
        options: quickOptions(OPTION_NAMES),
        values: quickValues(OPTION_NAMES),
        positionals: await datapathNames(),
      };
    },
  },
  topo: {
    help: 'build a datapath and leave it (up), remove it (down), list kept ones',
    subcommands: ['up', 'down', 'list'],
    load: async () => {
      const [m, { DATAPATH_OPTION_NAMES }] = [await import('./topo.js'), await import('../options/options.js')];
      return {
        run: m.topoCommand,
        usage: m.TOPO_USAGE,
        options: m.TOPO_UP_OPTIONS,
        values: quickValues(DATAPATH_OPTION_NAMES),
        positionals: await datapathNames(),
      };
    },
  },
  clean: {
    help: 'remove what killed runs left behind',
    load: async () => {
      const m = await import('./clean.js');
      return { run: m.cleanCommand, usage: m.CLEAN_USAGE, options: m.CLEAN_OPTIONS };
    },
  },
  results: {
    help: 'list and show stored runs',
    subcommands: ['list', 'show'],
    load: async () => {
      const m = await import('./results.js');
      return { run: m.resultsCommand, usage: m.RESULTS_USAGE, options: m.RESULTS_OPTIONS };
    },
  },
  calibrate: {
    help: "measure this machine's floor: clock cost, minimum RTT, timer lateness, noise",
    load: async () => {
      const m = await import('./calibrate.js');
      return { run: m.calibrateCommand, usage: m.CALIBRATE_USAGE, options: m.CALIBRATE_OPTIONS };
    },
  },
  doctor: {
    help: 'check what this machine supports and what adds noise',
    load: async () => {
      const m = await import('./doctor.js');
      return { run: m.doctorCommand, usage: m.DOCTOR_USAGE, options: m.DOCTOR_OPTIONS };
    },
  },
  run: {
    help: 'run an experiment file (datapaths × workloads × parameters, repeated)',
    load: async () => {
      const m = await import('./run.js');
      const values = { scale: ['quick', 'full'], inconclusive: ['fail', 'pass'] };
      return { run: m.runExperimentCommand, usage: m.RUN_USAGE, options: m.RUN_OPTIONS, values };
    },
  },
  report: {
    help: 'one HTML report (or CSV, JSON) of an experiment or of runs',
    load: async () => {
      const m = await import('./report.js');
      const values = { format: ['html', 'csv', 'json'] };
      return { run: m.reportCommand, usage: m.REPORT_USAGE, options: m.REPORT_OPTIONS, values };
    },
  },
  check: {
    help: 'judge stored results against expectations (exit 1 when one fails): a CI gate',
    load: async () => {
      const m = await import('./check.js');
      const values = { inconclusive: ['fail', 'pass'] };
      return { run: m.checkCommand, usage: m.CHECK_USAGE, options: m.CHECK_OPTIONS, values };
    },
  },
  compare: {
    help: 'two experiments or runs side by side, with significance',
    load: async () => {
      const m = await import('./report.js');
      return { run: m.compareCommand, usage: m.COMPARE_USAGE, options: m.COMPARE_OPTIONS };
    },
  },
  export: {
    help: "stored runs' figures as OpenMetrics, JSON lines or CSV (pushgateway, textfile collectors)",
    load: async () => {
      const m = await import('./export.js');
      const values = { format: [...m.EXPORT_FORMATS] };
      return { run: m.exportCommand, usage: m.EXPORT_USAGE, options: m.EXPORT_OPTIONS, values };
    },
  },
  serve: {
    help: 'a local web UI over the store: runs, compare, experiments, live runs, /metrics',
    load: async () => {
      const m = await import('./serve.js');
      return { run: m.serveCommand, usage: m.SERVE_USAGE, options: m.SERVE_OPTIONS };
    },
  },
  validate: {
    help: 'check experiment files (changes nothing)',
    load: async () => {
      const m = await import('./validate.js');
      return { run: m.validateCommand, usage: m.VALIDATE_USAGE, options: {} };
    },
  },
  schema: {
    help: 'print the JSON Schema of experiment files',
    load: async () => {
      const m = await import('./schema.js');
      return { run: m.schemaCommand, usage: m.SCHEMA_USAGE, options: {} };
    },
  },
  completion: {
    help: 'print a shell completion script (bash, zsh, fish)',
    load: async () => ({ run: completionCommand, usage: COMPLETION_USAGE, options: {}, positionals: () => SHELLS }),
  },
};

/** Every command's completion words: the one place that loads every command's module. */
async function completionCommand(argv: string[]): Promise<number> {
  if (argv.length !== 1) throw new UserError('completion: name one shell', `usage: ${COMPLETION_USAGE}`);
  const cmds: CompletionCommand[] = [];
  for (const [name, c] of Object.entries(COMMANDS)) {
    const l = await c.load();
    cmds.push({
      name,
      help: c.help,
      ...(c.subcommands ? { subcommands: c.subcommands } : {}),
      ...(l.positionals ? { positionals: l.positionals() } : {}),
      options: Object.entries(l.options).map(([o, spec]) => ({
        name: o,
        takesValue: spec.type === 'string',
        ...(l.values?.[o] ? { values: l.values[o] } : {}),
      })),
    });
  }
  process.stdout.write(completionScript(argv[0]!, cmds));
  return 0;
}

async function usage(): Promise<string> {
  const names = (await datapathNames())();
  const cmds = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.help}`);
  return `cnperf ${VERSION} — a measurement lab for Linux container networking

usage: cnperf COMMAND [options]   (cnperf COMMAND --help, or cnperf help COMMAND, for its options)
${cmds.join('\n')}

datapaths: ${names.join(', ')}
examples:  cnperf quick loopback veth bridge --count 10000 --interval 1ms
           cnperf quick bridge --workload stream --api send,sendmmsg,raw,raw-mmsg --burst 64
           cnperf quick bridge routed macvlan vxlan --placement cross-node
(as root; docs/ has a guide for each task)

environment:
${envVarLines()}
`;
}

/** Looks a command up, with "did you mean" for a misspelt one. */
function command(name: string): Command {
  const c = COMMANDS[name];
  if (c) return c;
  const near = nearest(name, Object.keys(COMMANDS));
  throw new UserError(
    `unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}`,
    `commands: ${Object.keys(COMMANDS).join(', ')}; cnperf --help says what each does`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) {
    process.stdout.write(await usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'help') {
    process.stdout.write(`usage: ${(await command(rest[0]!).load()).usage}\n`);
    return 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    let engine: string;
    try {
      engine = await (await import('../engine-client/supervisor.js')).probeEngineVersion();
    } catch (e) {
      engine = `– (${errorMessage(e)})`;
    }
    process.stdout.write(`cnperf ${VERSION}\nengine ${engine}\n`);
    return 0;
  }
  const c = await command(cmd).load();
  // --help or -h anywhere before a "--" asks for the usage, whatever else is on the line
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`usage: ${c.usage}\n`);
    return 0;
  }
  return c.run(rest);
}

// `cnperf ... | head` closes stdout early: that is not an error, and it must not interrupt a run
// that may still be tearing down. Further writes are dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UserError) {
      process.stderr.write(`cnperf: ${e.message}\n${e.hint ? e.hint.replace(/^/gm, '  ') + '\n' : ''}`);
      process.exitCode = e.exitCode;
    } else if (e instanceof RefusedError) {
      // The host, the engine or a plugin refused something: say what, without a stack; it is not a bug here.
      process.stderr.write(`cnperf: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      // Not the user's fault: show everything needed to fix it.
      process.stderr.write(`cnperf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
