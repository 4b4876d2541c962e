/** cnperf's command line: the command table, help, and the one place where errors become exit codes. */
import { datapathNames } from '../datapaths/registry.js';
import { EngineError, probeEngineVersion } from '../engine-client/supervisor.js';
import { CniError } from '../datapaths/cni/plugin.js';
import { DATAPATH_OPTION_NAMES, OPTION_NAMES, OPTIONS, type OptionDef } from '../options/options.js';
import { HostCommandError, UserError, errorMessage } from '../util/errors.js';
import { nearest } from '../util/nearest.js';
import { VERSION } from '../version.js';
import type { OptionSpec } from './args.js';
import { CALIBRATE_OPTIONS, CALIBRATE_USAGE, calibrateCommand } from './calibrate.js';
import { CHECK_OPTIONS, CHECK_USAGE, checkCommand } from './check.js';
import { CLEAN_OPTIONS, CLEAN_USAGE, cleanCommand } from './clean.js';
import { completionScript, enumeratedValues, SHELLS, type CompletionCommand } from './completion.js';
import { DOCTOR_OPTIONS, DOCTOR_USAGE, doctorCommand } from './doctor.js';
import { envVarLines } from './env-vars.js';
import { SCHEMA_USAGE, schemaCommand } from './schema.js';
import { VALIDATE_USAGE, validateCommand } from './validate.js';
import { RUN_OPTIONS, RUN_USAGE, runExperimentCommand } from './run.js';
import {
  COMPARE_OPTIONS,
  COMPARE_USAGE,
  compareCommand,
  REPORT_OPTIONS,
  REPORT_USAGE,
  reportCommand,
} from './report.js';
import { QUICK_USAGE, quickCommand } from './quick.js';
import { RESULTS_OPTIONS, RESULTS_USAGE, resultsCommand } from './results.js';
import { TOPO_UP_OPTIONS, TOPO_USAGE, topoCommand } from './topo.js';

interface Command {
  run: (argv: string[]) => Promise<number>;
  /** one line for `cnperf --help` */
  help: string;
  /** what `cnperf COMMAND --help` and `cnperf help COMMAND` print */
  usage: string;
  /** for completion: the options, their enumerated values, subcommands and positional words */
  options: OptionSpec;
  values?: Record<string, readonly string[]>;
  subcommands?: readonly string[];
  positionals?: () => readonly string[];
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

const COMMANDS: Record<string, Command> = {
  quick: {
    run: quickCommand,
    help: 'measure RTT, throughput, rate sweeps or latency under load through datapaths',
    usage: QUICK_USAGE,
    options: quickOptions(OPTION_NAMES),
    values: quickValues(OPTION_NAMES),
    positionals: datapathNames,
  },
  topo: {
    run: topoCommand,
    help: 'build a datapath and leave it (up), remove it (down), list kept ones',
    usage: TOPO_USAGE,
    options: TOPO_UP_OPTIONS,
    values: quickValues(DATAPATH_OPTION_NAMES),
    subcommands: ['up', 'down', 'list'],
    positionals: datapathNames,
  },
  clean: { run: cleanCommand, help: 'remove what killed runs left behind', usage: CLEAN_USAGE, options: CLEAN_OPTIONS },
  results: {
    run: resultsCommand,
    help: 'list and show stored runs',
    usage: RESULTS_USAGE,
    options: RESULTS_OPTIONS,
    subcommands: ['list', 'show'],
  },
  calibrate: {
    run: calibrateCommand,
    help: "measure this machine's floor: clock cost, minimum RTT, timer lateness, noise",
    usage: CALIBRATE_USAGE,
    options: CALIBRATE_OPTIONS,
  },
  doctor: {
    run: doctorCommand,
    help: 'check what this machine supports and what adds noise',
    usage: DOCTOR_USAGE,
    options: DOCTOR_OPTIONS,
  },
  run: {
    run: runExperimentCommand,
    help: 'run an experiment file (datapaths × workloads × parameters, repeated)',
    usage: RUN_USAGE,
    options: RUN_OPTIONS,
    values: { scale: ['quick', 'full'], inconclusive: ['fail', 'pass'] },
  },
  report: {
    run: reportCommand,
    help: 'one HTML report (or CSV, JSON) of an experiment or of runs',
    usage: REPORT_USAGE,
    options: REPORT_OPTIONS,
    values: { format: ['html', 'csv', 'json'] },
  },
  check: {
    run: checkCommand,
    help: 'judge stored results against expectations (exit 1 when one fails): a CI gate',
    usage: CHECK_USAGE,
    options: CHECK_OPTIONS,
    values: { inconclusive: ['fail', 'pass'] },
  },
  compare: {
    run: compareCommand,
    help: 'two experiments or runs side by side, with significance',
    usage: COMPARE_USAGE,
    options: COMPARE_OPTIONS,
  },
  validate: {
    run: validateCommand,
    help: 'check experiment files (changes nothing)',
    usage: VALIDATE_USAGE,
    options: {},
  },
  schema: { run: schemaCommand, help: 'print the JSON Schema of experiment files', usage: SCHEMA_USAGE, options: {} },
  completion: {
    run: async (argv) => completionCommand(argv),
    help: 'print a shell completion script (bash, zsh, fish)',
    usage: COMPLETION_USAGE,
    options: {},
    positionals: () => SHELLS,
  },
};

function completionCommand(argv: string[]): number {
  if (argv.length !== 1) throw new UserError('completion: name one shell', `usage: ${COMPLETION_USAGE}`);
  const cmds: CompletionCommand[] = Object.entries(COMMANDS).map(([name, c]) => ({
    name,
    help: c.help,
    ...(c.subcommands ? { subcommands: c.subcommands } : {}),
    ...(c.positionals ? { positionals: c.positionals() } : {}),
    options: Object.entries(c.options).map(([o, spec]) => ({
      name: o,
      takesValue: spec.type === 'string',
      ...(c.values?.[o] ? { values: c.values[o] } : {}),
    })),
  }));
  process.stdout.write(completionScript(argv[0]!, cmds));
  return 0;
}

function usage(): string {
  const cmds = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.help}`);
  return `cnperf ${VERSION} — a measurement lab for Linux container networking

usage: cnperf COMMAND [options]   (cnperf COMMAND --help, or cnperf help COMMAND, for its options)
${cmds.join('\n')}

datapaths: ${datapathNames().join(', ')}
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
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'help') {
    process.stdout.write(`usage: ${command(rest[0]!).usage}\n`);
    return 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    let engine: string;
    try {
      engine = await probeEngineVersion();
    } catch (e) {
      engine = `– (${errorMessage(e)})`;
    }
    process.stdout.write(`cnperf ${VERSION}\nengine ${engine}\n`);
    return 0;
  }
  const c = command(cmd);
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
    } else if (e instanceof HostCommandError || e instanceof EngineError || e instanceof CniError) {
      // The host or the engine refused something: say what, without a stack; it is not a bug here.
      process.stderr.write(`cnperf: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      // Not the user's fault: show everything needed to fix it.
      process.stderr.write(`cnperf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
