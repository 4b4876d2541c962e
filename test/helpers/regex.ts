/** A regular expression in parts (a long pattern over several lines): their sources joined, the first's flags. */
export function joined(...parts: RegExp[]): RegExp {
  return new RegExp(parts.map((p) => p.source).join(''), parts[0]?.flags ?? '');
}
