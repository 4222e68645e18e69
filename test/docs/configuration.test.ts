// docs/configuration.md is generated from the settings; it must match them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

t.test('docs/configuration.md is current', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-doc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'configuration.md');
  execFileSync(process.execPath, ['scripts/gen-config-doc.mjs', out]);
  t.equal(readFileSync('docs/configuration.md', 'utf8'), readFileSync(out, 'utf8'), 'stale: run `npm run build && node scripts/gen-config-doc.mjs`');
  t.end();
});
