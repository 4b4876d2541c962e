/**
 * `cnperf completion bash|zsh|fish`: shell completion scripts made from the command table and the
 * option table, so a new option or datapath completes without anyone editing a script. Pure: a spec
 * in, a script out.
 */
import { notOneOf } from '../util/nearest.js';

export interface CompletionCommand {
  name: string;
  help: string;
  /** subcommands (results list|show, topo up|down|list) */
  subcommands?: readonly string[];
  /** the words a positional may be (quick's and topo up's datapaths) */
  positionals?: readonly string[];
  options: ReadonlyArray<{ name: string; takesValue: boolean; values?: readonly string[] }>;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The values of an option's usage text when it is an enumeration ("rtt|stream", "send,sendmmsg"). */
export function enumeratedValues(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const words = value.split(/[|,]/);
  return words.length > 1 && words.every((w) => /^[a-z][a-z0-9-]*$/.test(w)) ? words : undefined;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(cmds: readonly CompletionCommand[]): string {
  const cases = cmds.map((c) => {
    const opts = c.options.map((o) => `--${o.name}`).join(' ');
    const values = c.options
      .filter((o) => o.values)
      .map((o) => `      --${o.name}) COMPREPLY=($(compgen -W ${q(o.values!.join(' '))} -- "$cur")); return ;;`)
      .join('\n');
    const words = [...(c.subcommands ?? []), ...(c.positionals ?? [])].join(' ');
    return `    ${c.name})
      case "$prev" in
${values}
      esac
      COMPREPLY=($(compgen -W ${q(`${opts} --help ${words}`.trim())} -- "$cur")) ;;`;
  });
  return `# cnperf completion for bash: eval "$(cnperf completion bash)" (or save it in /etc/bash_completion.d/cnperf)
_cnperf() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${q(cmds.map((c) => c.name).join(' ') + ' help --help --version')} -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
    help) COMPREPLY=($(compgen -W ${q(cmds.map((c) => c.name).join(' '))} -- "$cur")) ;;
  esac
}
complete -o default -F _cnperf cnperf
`;
}

function zsh(cmds: readonly CompletionCommand[]): string {
  const esc = (s: string) => s.replace(/[[\]:'\\]/g, (ch) => `\\${ch}`);
  const cases = cmds.map((c) => {
    const specs = c.options.map((o) => {
      const value = o.values ? `:value:(${o.values.join(' ')})` : o.takesValue ? ':value:_files' : '';
      return `        '--${o.name}[${esc(o.name)}]${value}'`;
    });
    const words = [...(c.subcommands ?? []), ...(c.positionals ?? [])];
    if (words.length) specs.push(`        '*:argument:(${words.join(' ')})'`);
    return `    ${c.name})\n      _arguments \\\n${specs.join(' \\\n') || "        '*:file:_files'"} ;;`;
  });
  return `#compdef cnperf
# cnperf completion for zsh: cnperf completion zsh > "\${fpath[1]}/_cnperf" (or eval it in .zshrc after compinit)
_cnperf() {
  local -a commands
  commands=(
${cmds.map((c) => `    ${q(`${c.name}:${esc(c.help)}`)}`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe command commands
    return
  fi
  local cmd=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}
compdef _cnperf cnperf
`;
}

function fish(cmds: readonly CompletionCommand[]): string {
  // fish's single quotes take \' and \\ as escapes (not the POSIX '\'' dance)
  const q = (s: string) => `'${s.replace(/[\\']/g, (ch) => `\\${ch}`)}'`;
  const lines = [
    `# cnperf completion for fish: cnperf completion fish > ~/.config/fish/completions/cnperf.fish`,
    'complete -c cnperf -f',
  ];
  for (const c of cmds) lines.push(`complete -c cnperf -n __fish_use_subcommand -a ${c.name} -d ${q(c.help)}`);
  for (const c of cmds) {
    const when = `-n ${q(`__fish_seen_subcommand_from ${c.name}`)}`;
    for (const o of c.options)
      lines.push(
        `complete -c cnperf ` +
          `${when} -l ${o.name}${o.takesValue ? ' -r' : ''}${o.values ? ` -a ${q(o.values.join(' '))}` : ''}`,
      );
    const words = [...(c.subcommands ?? []), ...(c.positionals ?? [])];
    if (words.length) lines.push(`complete -c cnperf ${when} -a ${q(words.join(' '))}`);
  }
  return lines.join('\n') + '\n';
}

export function completionScript(shell: string, cmds: readonly CompletionCommand[]): string {
  if (!(SHELLS as readonly string[]).includes(shell)) throw notOneOf('completion', shell, SHELLS);
  return { bash, zsh, fish }[shell as Shell](cmds);
}
