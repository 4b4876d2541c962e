/**
 * CNI network configurations (.conflist, or a single-plugin .conf) as the CNI specification v1.0
 * defines them, checked before anything runs: a name, a version, plugins whose `type` is a bare
 * binary name (a type with '/' could run anything on the host and is refused).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { UserError, errorMessage } from '../../util/errors.js';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const Plugin = z.object({ type: z.string() }).passthrough();
const ConfList = z
  .object({
    cniVersion: z.string(),
    name: z.string(),
    disableCheck: z.boolean().optional(),
    plugins: z.array(Plugin).min(1),
  })
  .passthrough();
const Conf = z.object({ cniVersion: z.string(), name: z.string(), type: z.string() }).passthrough();

export type PluginConf = z.infer<typeof Plugin> & Record<string, unknown>;

export interface NetworkList {
  cniVersion: string;
  name: string;
  disableCheck: boolean;
  plugins: PluginConf[];
  /** where it was read from, for messages */
  file: string;
}

/** Versions this runtime speaks (results are read in the 0.3.0+ shape). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export function parseNetworkConfig(text: string, file: string): NetworkList {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `${file}: not valid JSON: ${errorMessage(e)}`,
      'a CNI configuration is a JSON .conflist (or a .conf with one plugin)',
    );
  }
  let list: NetworkList;
  const asList = ConfList.safeParse(json);
  if (asList.success) {
    list = {
      cniVersion: asList.data.cniVersion,
      name: asList.data.name,
      disableCheck: asList.data.disableCheck ?? false,
      plugins: asList.data.plugins as PluginConf[],
      file,
    };
  } else {
    const asConf = Conf.safeParse(json);
    if (!asConf.success) {
      const issue = asList.error.issues[0]!;
      throw new UserError(
        `${file}: not a CNI configuration: '${issue.path.join('.') || '(top)'}': ${issue.message}`,
        'expected {"cniVersion", "name", "plugins": [{"type": ...}, ...]} or a .conf {"cniVersion", "name", ' +
          '"type", ...}',
      );
    }
    const { cniVersion, name, ...plugin } = asConf.data;
    list = { cniVersion, name, disableCheck: false, plugins: [plugin as PluginConf], file };
  }
  if (!NAME.test(list.name))
    throw new UserError(
      `${file}: network name '${list.name}' is not valid: letters, digits, _ . - (starting with a letter or digit)`,
    );
  if (!SUPPORTED_VERSIONS.includes(list.cniVersion))
    throw new UserError(
      `${file}: cniVersion '${list.cniVersion}' is not supported`,
      `supported: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  list.plugins.forEach((p, i) => {
    if (!TYPE.test(p.type))
      throw new UserError(
        `${file}: plugins[${i}].type '${p.type}' is not a plugin name (no '/', no path: plugins are found on CNI_PATH)`,
      );
  });
  return list;
}

export function readNetworkConfig(file: string): NetworkList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(
      `--cni-config ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`,
    );
  }
  if (text.length > 1 << 20)
    throw new UserError(`--cni-config ${file}: larger than 1 MiB; a CNI configuration is a few lines of JSON`);
  return parseNetworkConfig(text, file);
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
