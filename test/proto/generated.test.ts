// proto/generated must be what proto-loader-gen-types makes from the .proto
// today, with the loader's own options.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

t.test('checked-in generated types are current', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-proto-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, ['scripts/gen-proto-types.mjs', dir], { stdio: 'pipe' });
  const fresh = files(dir).map((f) => relative(dir, f)).sort();
  const checkedIn = files('proto/generated').map((f) => relative('proto/generated', f)).sort();
  t.same(checkedIn, fresh, 'the same files (run `npm run proto:gen`)');
  const stale = fresh.filter((f) => checkedIn.includes(f) && readFileSync(join(dir, f), 'utf8') !== readFileSync(join('proto/generated', f), 'utf8'));
  t.same(stale, [], 'no stale file (run `npm run proto:gen`)');
  t.end();
});
