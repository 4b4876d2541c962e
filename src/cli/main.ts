/** cnperf's command line: dispatch, help, and the one place where errors become exit codes. */
import { datapathNames } from '../datapaths/registry.js';
import { EngineError } from '../engine/supervisor.js';
import { CniError } from '../cni/plugin.js';
import { HostCommandError, UserError } from '../util/errors.js';
import { VERSION } from '../version.js';
import { calibrateCommand } from './calibrate.js';
import { checkCommand } from './check.js';
import { cleanCommand } from './clean.js';
import { doctorCommand } from './doctor.js';
import { schemaCommand } from './schema.js';
import { validateCommand } from './validate.js';
import { runExperimentCommand } from './run.js';
import { compareCommand, reportCommand } from './report.js';
import { quickCommand } from './quick.js';
import { resultsCommand } from './results.js';
import { topoCommand } from './topo.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  quick: { run: quickCommand, help: 'measure RTT, throughput, rate sweeps or latency under load through datapaths' },
  topo: { run: topoCommand, help: 'build a datapath and leave it (up), remove it (down), list kept ones' },
  clean: { run: cleanCommand, help: 'remove what killed runs left behind' },
  results: { run: resultsCommand, help: 'list and show stored runs' },
  calibrate: { run: calibrateCommand, help: "measure this machine's floor: clock cost, minimum RTT, timer lateness, noise" },
  doctor: { run: doctorCommand, help: 'check what this machine supports and what adds noise' },
  run: { run: runExperimentCommand, help: 'run an experiment file (datapaths × workloads × parameters, repeated)' },
  report: { run: reportCommand, help: 'one HTML report (or CSV, JSON) of an experiment or of runs' },
  check: { run: checkCommand, help: 'judge stored results against expectations (exit 1 when one fails): a CI gate' },
  compare: { run: compareCommand, help: 'two experiments or runs side by side, with significance' },
  validate: { run: validateCommand, help: 'check experiment files (changes nothing)' },
  schema: { run: schemaCommand, help: 'print the JSON Schema of experiment files' },
};

function usage(): string {
  const cmds = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`);
  return `cnperf ${VERSION} — a measurement lab for Linux container networking

usage: cnperf COMMAND [options]   (cnperf COMMAND --help for its options)
${cmds.join('\n')}

datapaths: ${datapathNames().join(', ')}
examples:  bin/cnperf quick loopback veth bridge --count 10000 --interval 1ms
           bin/cnperf quick bridge --workload stream --api send,sendmmsg,raw,raw-mmsg --burst 64
           bin/cnperf quick bridge routed macvlan vxlan --placement cross-node
(as root)
`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    process.stdout.write(`cnperf ${VERSION}\n`);
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) throw new UserError(`unknown command '${cmd}'`, `commands: ${Object.keys(COMMANDS).join(', ')}`);
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
