/** `cnperf schema`: the JSON Schema of experiment files (for editors), derived from the option table. */
import { experimentJsonSchema } from '../spec/experiment-schema.js';
import { UserError } from '../util/errors.js';

export async function schemaCommand(argv: string[]): Promise<number> {
  if (argv.length) throw new UserError(`schema: takes no arguments (got '${argv[0]}')`, 'usage: cnperf schema > cnperf-experiment.schema.json');
  process.stdout.write(JSON.stringify(experimentJsonSchema(), null, 2) + '\n');
  return 0;
}
