/**
 * The command line's conventions, as a user meets them, with no root and nothing built: help on every
 * command, "did you mean", short usage errors, read-only commands that create nothing, completion
 * scripts, the version, the environment variables. Part of the fast inner loop (npm run test:fast).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV_VARS } from '../../src/cli/env-vars.js';
import { Store } from '../../src/store/db.js';
import { cnperf } from '../helpers/host.js';
import { ROOT } from '../helpers/paths.js';
import { joined } from '../helpers/regex.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-cli-'));
const db = path.join(tmp, 'results.sqlite');
Store.open(db).close(); // an existing, empty store for the commands that read one
after(() => rmSync(tmp, { recursive: true, force: true }));

const COMMANDS = [
  'quick',
  'topo',
  'clean',
  'results',
  'calibrate',
  'doctor',
  'run',
  'report',
  'check',
  'compare',
  'validate',
  'schema',
  'completion',
];

describe('help', () => {
  for (const c of COMMANDS) {
    it(`cnperf ${c} --help, -h and cnperf help ${c}: its usage on stdout, exit 0`, async () => {
      for (const args of [
        [c, '--help'],
        [c, '-h'],
        ['help', c],
      ]) {
        const r = await cnperf(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^usage: cnperf ${c}\\b`), args.join(' '));
        assert.equal(r.stderr, '');
      }
    });
  }

  it('cnperf --help lists every command and every CNPERF_* variable', async () => {
    const r = await cnperf(['--help']);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    for (const v of ENV_VARS) assert.match(r.stdout, new RegExp(`^  ${v.name} `, 'm'));
  });

  it("quick's option column never runs into its text", async () => {
    const r = await cnperf(['quick', '--help']);
    assert.doesNotMatch(r.stdout, /docker:NAMEexisting|,tcpsending/);
    for (const line of r.stdout.split('\n').filter((l) => /^  --/.test(l))) {
      // "  --name VALUE" then at least two spaces then the text, or the syntax alone (text on the next line)
      assert.match(line, /^  --[a-z-]+( \S+)?(\s{2,}\S.*)?$/, line);
    }
  });

  it('cnperf --version names the engine too', async () => {
    const r = await cnperf(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^cnperf \d+\.\d+\.\d+\nengine \S+/);
  });
});

describe('usage errors', () => {
  it('an unknown option: one message, the synopsis and where to look — not the whole option list', async () => {
    const r = await cnperf(['quick', 'veth', '--cuont', '5']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 3, r.stderr);
    assert.match(r.stderr, /unknown option '--cuont' \(did you mean '--count'\?\)/);
    assert.match(r.stderr, /'cnperf quick --help' lists every option/);
  });

  for (const [args, re] of [
    [['quick', 'veth', '--workload', 'strem'], /did you mean 'stream'\?/],
    [['quick', 'veth', '--workload', 'stream', '--api', 'sendmsg'], /did you mean 'sendmmsg'\?/],
    [['quick', 'veth', '--wait', 'spn'], /did you mean 'spin'\?/],
    [['quik', 'veth'], /unknown command 'quik' \(did you mean 'quick'\?\)/],
    [['completion', 'tcsh'], /completion 'tcsh': expected bash, zsh, fish/],
  ] as const) {
    it(`cnperf ${args.join(' ')}: did you mean`, async () => {
      const r = await cnperf([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
    });
  }
});

describe('read-only commands create nothing', () => {
  for (const args of [
    ['results', 'list'],
    ['results', 'show', 'abc123'],
    ['report', 'abc123'],
    ['compare', 'abc123', 'def456'],
    ['check', 'abc123'],
  ]) {
    it(
      `cnperf ${args.join(' ')} --db on a path that does not exist: exit 1, the path named, nothing ` + `created`,
      async () => {
        const missing = path.join(tmp, 'typo', 'x.sqlite');
        const r = await cnperf([...args, '--db', missing]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`no results store at ${missing.replace(/[/.]/g, '\\$&')}`));
        assert.equal(existsSync(path.dirname(missing)), false);
      },
    );
  }

  it('without --db, in a folder with no store: exit 1 and no cnperf-results/ made', () => {
    const cwd = mkdtempSync(path.join(tmp, 'cwd-'));
    let code = 0;
    try {
      execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cnperf'), 'results', 'list'], {
        cwd,
        stdio: 'ignore',
        env: { ...process.env, CNPERF_DB: '' },
      });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    assert.equal(code, 1);
    assert.deepEqual(readdirSync(cwd), []);
  });
});

describe('completion', () => {
  it('bash: parses, and completes commands, datapaths and enumerated values from the option table', () => {
    const script = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'cnperf'), 'completion', 'bash'], {
      encoding: 'utf8',
    });
    execFileSync('bash', ['-n'], { input: script });
    const complete = (line: string) => {
      const words = line.split(' ');
      const probe =
        `${script}\nCOMP_WORDS=(` +
        `${words
          .map((w) => `'${w}'`)
          .join(' ')}); COMP_CWORD=${words.length - 1}; _cnperf; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['-c', probe], { encoding: 'utf8' }).trim().split('\n');
    };
    assert.deepEqual(complete('cnperf qu'), ['quick']);
    assert.ok(complete('cnperf quick vx').includes('vxlan'));
    assert.deepEqual(complete('cnperf quick veth --workload s').sort(), ['stream', 'sweep']);
    assert.ok(complete('cnperf quick veth --api raw').includes('raw-mmsg'));
    assert.ok(complete('cnperf quick veth --cou').includes('--count'));
    assert.deepEqual(complete('cnperf report x --format c'), ['csv']);
  });

  for (const shell of ['zsh', 'fish']) {
    it(`${shell}: a script its shell parses, naming every command`, async () => {
      const r = await cnperf(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      const file = path.join(tmp, `cnperf.${shell}`);
      writeFileSync(file, r.stdout);
      execFileSync(shell, shell === 'zsh' ? ['-n', file] : ['--no-execute', file]); // both shells are in the tool table
      for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
      assert.match(
        r.stdout,
        shell === 'zsh'
          ? /'--workload\[workload\]:value:\(rtt stream sweep load rr crr\)'/
          : /-l workload -r -a 'rtt stream sweep load rr crr'/,
      );
    });
  }
});

describe('environment variables', () => {
  it('every CNPERF_* that src/ reads is in cnperf --help and in docs/', () => {
    const read = new Set<string>();
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = path.join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/process\.env\.(CNPERF_[A-Z_]+)/g)) read.add(m[1]!);
      }
    };
    walk(path.join(ROOT, 'src'));
    assert.ok(read.size >= 5);
    const documented = new Set(ENV_VARS.map((v) => v.name));
    assert.deepEqual(
      [...read].filter((v) => !documented.has(v)),
      [],
    );
    const docs = readdirSync(path.join(ROOT, 'docs'))
      .map((f) => readFileSync(path.join(ROOT, 'docs', f), 'utf8'))
      .join('\n');
    assert.deepEqual(
      [...documented].filter((v) => !docs.includes(v)),
      [],
      'not in docs/',
    );
  });
});

describe('user errors', () => {
  for (const [args, re, code] of [
    [['frobnicate'], /unknown command 'frobnicate'/, 2],
    [['quick'], /name at least one datapath/, 2],
    [
      ['quick', 'vxlam'],
      joined(
        /unknown datapath 'vxlam' \(did you mean 'vxlan'\?\)[\s\S]*/,
        /known datapaths: loopback, veth, bridge, routed, macvlan, ipvlan, vxlan, ovs, cni/,
      ),
      2,
    ],
    [['quick', 'veth', '--placement', 'cross-node'], /datapath 'veth' cannot be placed cross-node/, 2],
    [['quick', 'macvlan', '--mode', 'vepa'], /vepa mode sends local traffic to the external switch/, 2],
    [['quick', 'bridge', '--vni', '5'], /--vni does not apply to bridge/, 2],
    [['quick', 'veth', '--interval', '5'], /give a unit/, 2],
    [['results', 'show', 'zzzzzz', '--db', db], /no run 'zzzzzz'/, 2],
    [['topo', 'down', '../x'], /not a topology id/, 2],
    [['topo', 'down', 'qqqqqq'], /no topology 'qqqqqq'/, 2],
    [['topo', 'sideways'], /unknown subcommand 'sideways'/, 2],
    [['quick', 'a;reboot'], /unknown datapath 'a;reboot'/, 2],
    [['quick', 'veth', '--count', '$(id)'], /--count '\$\(id\)': expected a whole number/, 2],
    [['quick', 'veth', '--count', '99999999999999999999'], /--count .*out of range/, 2],
    [['quick', 'veth', '--cpus', '0;reboot'], /--cpus/, 2],
    [['quick', 'bridge', '--rules', '100000000'], /--rules/, 2],
    [['quick', 'veth', '--pairs', '100000'], /--pairs/, 2],
    [
      ['validate', 'test/fixtures/experiments/bad/injection.yaml'],
      /injection\.yaml:1:7: 'name': 'a;reboot' is not valid/,
      2,
    ],
    [['run', '/nonexistent/x.yaml'], /cannot read experiment file \/nonexistent\/x\.yaml: ENOENT/, 2],
    [['run', 'test/fixtures/experiments/bad/alias-bomb.yaml'], /alias-bomb\.yaml:1:1: YAML: Excessive alias count/, 2],
    [['report', 'zzzzzz', '--db', db], /no run 'zzzzzz'/, 2],
  ] as const) {
    it(`cnperf ${args.join(' ')}: exit ${code}, one clear message, no stack`, async () => {
      const r = await cnperf([...args]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /^cnperf: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(r.stdout, '');
    });
  }
});

describe('limits', () => {
  it(
    'an experiment whose lists multiply past 10 000 cases is refused at its longest list, naming the ' + 'product',
    async () => {
      const r = await cnperf(['validate', 'test/fixtures/experiments/bad/matrix-bomb.yaml']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        joined(
          /matrix-bomb\.yaml:7:3: quick scale: count: 30 × interval: 10 × size: 40 = 12000 cases; /,
          /an experiment may have at most 10000/,
        ),
      );
    },
  );
});

describe('the default store', () => {
  it('is refused when cnperf-results/ is a symbolic link someone planted; --db naming it is taken', () => {
    const cwd = mkdtempSync(path.join(tmp, 'planted-'));
    const elsewhere = mkdtempSync(path.join(tmp, 'elsewhere-'));
    Store.open(path.join(elsewhere, 'results.sqlite')).close();
    symlinkSync(elsewhere, path.join(cwd, 'cnperf-results'));
    const bin = path.join(ROOT, 'bin', 'cnperf');
    const r = spawnSync(process.execPath, [bin, 'results', 'list'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, CNPERF_DB: '' },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /default results store .*cnperf-results is a symbolic link .*name the store you mean with --db/s,
    );
    const named = spawnSync(
      process.execPath,
      [bin, 'results', 'list', '--db', path.join(cwd, 'cnperf-results', 'results.sqlite')],
      { cwd, encoding: 'utf8' },
    );
    assert.equal(named.status, 0, named.stderr);
  });
});
