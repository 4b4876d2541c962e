/**
 * `cnperf validate FILE...`: checks experiment files and changes nothing.
 */
import { workloadsOf } from '../input/experiment-schema.js';
import { loadExperiment } from '../input/experiment-file.js';
import { expandCases, repeatsOf, SCALES } from '../input/matrix.js';
import { UserError } from '../util/errors.js';

export const VALIDATE_USAGE = 'cnperf validate FILE...   (checks experiment files; changes nothing)';

export async function validateCommand(argv: string[]): Promise<number> {
  const files = argv.filter((a) => !a.startsWith('-'));
  const bad = argv.find((a) => a.startsWith('-'));
  if (bad) throw new UserError(`validate: unknown option '${bad}'`, `usage: ${VALIDATE_USAGE}`);
  if (!files.length) throw new UserError('validate: name at least one experiment file', `usage: ${VALIDATE_USAGE}`);
  const errors: string[] = [];
  for (const f of files) {
    try {
      const e = loadExperiment(f);
      const sizes = SCALES.map(
        (s) => `${s}: ${expandCases(e.spec, s).length} cases × ${repeatsOf(e.spec, s)} repeats`,
      ).join(', ');
      process.stdout.write(`${f}: ok (${e.spec.name}, ${workloadsOf(e.spec).join()}; ${sizes})\n`);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      errors.push(err.message);
    }
  }
  if (errors.length)
    throw new UserError(errors.join('\n'), '`cnperf schema` prints the JSON Schema of experiment files');
  return 0;
}
