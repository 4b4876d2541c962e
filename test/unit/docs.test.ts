/**
 * The README and docs/ as a newcomer reads them: every relative link (and its #anchor) leads somewhere,
 * every option of the option table is described in a guide, and the README stays short enough to read
 * in five minutes.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { OPTION_NAMES } from '../../src/options/options.js';
import { ROOT } from '../helpers/paths.js';

const DOCS = path.join(ROOT, 'docs');
const pages = [
  path.join(ROOT, 'README.md'),
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(DOCS, f)),
];

/** Markdown without its fenced code blocks (a link-like text in a code sample is not a link). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

const anchors = (file: string) =>
  new Set([...prose(readFileSync(file, 'utf8')).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));

describe('docs', () => {
  it('every relative link in README.md and docs/ resolves, anchors included', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const m of prose(readFileSync(page, 'utf8')).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue; // absolute URLs are not ours to check offline
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file ? path.resolve(path.dirname(page), file) : page;
        const where = `${path.relative(ROOT, page)}: ${target}`;
        if (!existsSync(resolved)) broken.push(`${where} (no such file)`);
        else if (anchor && !(statSync(resolved).isFile() && anchors(resolved).has(anchor)))
          broken.push(`${where} (no heading #${anchor})`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every option of the option table is described in docs/', () => {
    const text = pages
      .filter((p) => p.startsWith(DOCS))
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    assert.deepEqual(
      OPTION_NAMES.filter((o) => !new RegExp(`--${o}(?![a-z-])`).test(text)).map((o) => `--${o}`),
      [],
    );
  });

  it('the README stays short: at most 250 lines, the two commands first', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.split('\n').length <= 250, `${readme.split('\n').length} lines`);
    const first = readme.split('```')[1]!;
    assert.match(first, /bash scripts\/setup\.sh && bin\/cnperf quick /);
    assert.match(first, /bash scripts\/setup\.sh && npm test/);
  });

  it('slugs are made as GitHub makes them', () => {
    assert.equal(
      slug('Placement matters more than the datapath on a small VM'),
      'placement-matters-more-than-the-datapath-on-a-small-vm',
    );
    assert.equal(slug('The floor: `cnperf calibrate`'), 'the-floor-cnperf-calibrate');
    assert.equal(slug('Gates: pass or fail'), 'gates-pass-or-fail');
  });
});
