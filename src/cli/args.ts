/**
 * Option parsing for the commands: node's util.parseArgs in strict mode, with its errors turned
 * into messages that name the command, the offending option and what is allowed.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { nearest } from '../util/nearest.js';
import { usageHint } from '../util/usage.js';
import { UserError } from '../util/errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommandArgs(command: string, argv: string[], options: OptionSpec, usage: string): Parsed {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'(-{1,2}[^' ]+)/.exec(err.message);
    const opt = m?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && opt) {
      const near = nearest(opt.replace(/^-+/, ''), Object.keys(options));
      throw new UserError(
        `${command}: unknown option '${opt}'${near ? ` (did you mean '--${near}'?)` : ''}`,
        usageHint(command, usage),
      );
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
      throw new UserError(`${command}: option '${opt}' needs a value`, usageHint(command, usage));
    }
    throw new UserError(`${command}: ${err.message}`, usageHint(command, usage));
  }
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function flag(p: Parsed, key: string): boolean {
  return p.values[key] === true;
}
