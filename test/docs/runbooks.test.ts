// docs/runbooks/ has one runbook per finding kind the aggregator raises, in the
// shape docs/findings.md promises (runbook_url points there), indexed by the README,
// and its relative links lead somewhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FINDING_SPECS, RAISED_KINDS } from '../../aggregator/findings/kinds.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = join(root, 'docs/runbooks');
const SECTIONS = ['Meaning', 'Impact', 'Confirm by hand', 'Likely causes', 'What to do', 'Related'];

/** The lines of a Markdown file outside fenced code blocks. */
function prose(text: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) out.push(line);
  }
  return out;
}

/** Link targets of a Markdown file, outside code blocks and code spans. */
function links(text: string): string[] {
  const out: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  }
  return out;
}

const readme = existsSync(join(dir, 'README.md')) ? readFileSync(join(dir, 'README.md'), 'utf8') : '';

t.test('docs/runbooks/README.md exists', (t) => {
  t.ok(readme.length > 0, 'docs/runbooks/README.md is missing or empty');
  t.end();
});

for (const kind of RAISED_KINDS) {
  t.test(`runbook for ${kind}`, (t) => {
    const file = join(dir, `${kind}.md`);
    if (!t.ok(existsSync(file), `docs/runbooks/${kind}.md exists`)) return t.end();
    const text = readFileSync(file, 'utf8');
    t.equal(text.split('\n')[0], `# ${kind}`, 'first line is the title');
    const headings = prose(text)
      .filter((l) => /^##\s/.test(l))
      .map((l) => l.replace(/^##\s+/, '').trim());
    t.same(headings, SECTIONS, 'exactly the six sections, in order');
    const row = readme.split('\n').find((l) => l.startsWith('|') && l.includes(`](${kind}.md)`));
    if (t.ok(row, `README index lists ${kind}`)) {
      const cells = row!.split('|').map((c) => c.trim());
      t.equal(cells[2], FINDING_SPECS[kind].severity, 'README gives its severity');
    }
    t.end();
  });
}

t.test('every runbook is for a raised kind', (t) => {
  const kinds = new Set<string>(RAISED_KINDS);
  const extra = readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .filter((f) => !kinds.has(f.slice(0, -3)));
  t.same(extra, [], 'no runbook for a kind aggregator/findings/kinds.ts does not raise');
  t.end();
});

t.test('relative links in the runbooks resolve', (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.md'));
  let count = 0;
  for (const f of files) {
    const from = join(dir, f);
    for (const target of links(readFileSync(from, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      const path = resolve(dirname(from), decodeURIComponent(target.split('#')[0]!));
      count++;
      t.ok(existsSync(path), `${f}: ${target} -> ${relative(root, path)}`);
    }
  }
  t.ok(count > 0, 'found relative links to check');
  t.end();
});
