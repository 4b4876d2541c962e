/** `cnperf calibrate [--json] [--db FILE]`: measures this machine's floor and stores it. */
import os from 'node:os';
import { defaultDbPath } from '../paths.js';
import { calibrate, floorLine } from '../runner/calibration.js';
import { withSession } from '../runner/session.js';
import { signalExitCode } from '../runner/signals.js';
import { newRunId } from '../util/ids.js';
import { flag, parseCommandArgs, str, type OptionSpec } from './args.js';
import { progress } from './common.js';

export const CALIBRATE_OPTIONS: OptionSpec = { json: { type: 'boolean' }, db: { type: 'string' } };
export const CALIBRATE_USAGE =
  'cnperf calibrate [--json] [--db FILE]   (about 20 s; stored, and shown under every result as its floor)';

export async function calibrateCommand(argv: string[]): Promise<number> {
  const p = parseCommandArgs('calibrate', argv, CALIBRATE_OPTIONS, CALIBRATE_USAGE);
  const db = str(p, 'db') ?? defaultDbPath();
  return withSession({ command: 'calibrate', owner: 'calibrate', db }, async ({ stop, env, store }) => {
    const result = await calibrate({ env, stop, progress, cpus: os.cpus().length });
    if (stop.requested) return signalExitCode(stop.signal);
    const rec = { id: newRunId(), created_at: new Date().toISOString(), hostname: os.hostname(), env, result };
    store!.saveCalibration(rec);
    if (flag(p, 'json'))
      process.stdout.write(
        JSON.stringify({ calibration: { id: rec.id, created_at: rec.created_at, ...result } }) + '\n',
      );
    else process.stdout.write(`${floorLine(rec)}\nstored in ${db}\n`);
    return 0;
  });
}
