/**
 * Which kernel modules a guest loads, and in what order. A kernel package unpacked from its .deb has
 * no modules.dep (depmod writes it at install), so each module's dependencies are read from its own
 * .modinfo section ("depends=virtio,virtio_ring"), and the wanted modules are put in load order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The `depends=` of a module's .modinfo section, from the module file's bytes. */
export function moduleDepends(ko: Buffer): string[] {
  // an entry starts the section or follows another's terminating NUL
  const key = Buffer.from('depends=');
  let at = ko.indexOf(key);
  while (at > 0 && ko[at - 1] !== 0) at = ko.indexOf(key, at + 1);
  if (at < 0) return [];
  const start = at + key.length;
  const end = ko.indexOf(0, start);
  const text = ko.subarray(start, end < 0 ? undefined : end).toString('latin1');
  return text ? text.split(',').filter(Boolean) : [];
}

/** Every module file under `dir` by module name ("virtio_net" → path); dashes and underscores are one. */
export function moduleIndex(files: readonly string[]): Map<string, string> {
  const index = new Map<string, string>();
  for (const f of files) if (f.endsWith('.ko')) index.set(path.basename(f, '.ko').replace(/-/g, '_'), f);
  return index;
}

/**
 * The wanted modules and everything they need, each after its dependencies. `depends(name)` gives a
 * module's dependencies; a module the kernel has built in is simply absent from `index`.
 */
export function loadOrder(
  wanted: readonly string[],
  index: ReadonlyMap<string, string>,
  depends: (file: string) => string[] = (f) => moduleDepends(readFileSync(f)),
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    const file = index.get(name);
    if (!file || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new Error(`kernel modules depend on each other in a circle: ${[...chain, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const d of depends(file)) visit(d.replace(/-/g, '_'), [...chain, name]);
    state.set(name, 'done');
    order.push(file);
  };
  for (const w of wanted) visit(w, []);
  return order;
}
