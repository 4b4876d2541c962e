/** `cnperf schema`: the JSON Schema of experiment files (for editors), derived from the option table. */
import { experimentJsonSchema } from '../input/experiment-schema.js';
import { UserError } from '../util/errors.js';

export const SCHEMA_USAGE =
  'cnperf schema > cnperf-experiment.schema.json   (the JSON Schema of experiment files, for editors)';

export async function schemaCommand(argv: string[]): Promise<number> {
  if (argv.length) throw new UserError(`schema: takes no arguments (got '${argv[0]}')`, `usage: ${SCHEMA_USAGE}`);
  process.stdout.write(JSON.stringify(experimentJsonSchema(), null, 2) + '\n');
  return 0;
}
