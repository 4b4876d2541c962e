import { UserError } from '../util/errors.js';
import { bridge } from './bridge.js';
import { loopback } from './loopback.js';
import type { Datapath } from './types.js';
import { veth } from './veth.js';

/** Every datapath cnperf knows, listed explicitly. */
export const DATAPATHS: readonly Datapath[] = [loopback, veth, bridge];

export function datapathNames(): string[] {
  return DATAPATHS.map((d) => d.name);
}

export function getDatapath(name: string): Datapath {
  const d = DATAPATHS.find((x) => x.name === name);
  if (!d) {
    const near = nearest(name, datapathNames());
    throw new UserError(
      `unknown datapath '${name}'${near ? ` (did you mean '${near}'?)` : ''}`,
      `known datapaths: ${datapathNames().join(', ')}`,
    );
  }
  return d;
}

/** The closest name by edit distance, if it is close enough to be a typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return bestDist <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
