// Reading the conf dir: lexical order, the runtime's extensions, and every
// kind of bad file turned into an error instead of an exception.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CNI_LIMITS } from '../../../common/cni.js';
import { byteOrder, readConfDir } from '../../../agent/cni/read-conf.js';
import { canRun, childSkip, mod, runChild } from '../../helpers/child.js';
import { skipUnlessCi } from '../../helpers/ci.js';

const fixtures = fileURLToPath(new URL('../../fixtures/cni/', import.meta.url));
const GOOD = '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]}';

t.test('fixture dir: only .conf/.conflist/.json, byte order, dirs listed and marked', async (t) => {
  const r = await readConfDir(join(fixtures, 'order/net.d'));
  t.same(r.errors, []);
  t.same(
    r.files.map((f) => f.info.name),
    ['00-broken.conflist', '05-noplugins.conflist', '10-flannel.conflist', '20-other.conf', '99-loopback.json', 'x.conf'],
  );
  t.same(r.files.map((f) => f.info.valid), [false, false, true, true, true, false]);
  t.equal(r.files[5]!.info.error, 'a directory, not a file (the runtime skips it)');
  t.match(r.files[2]!.info.sha256, /^[0-9a-f]{64}$/);
});

t.test('byte order, as Go sorts: upper case before lower case, shorter prefix first', async (t) => {
  t.same(['b.conf', 'B.conf', '10-a.conf', '1-a.conf', 'a.conf'].sort(byteOrder), ['1-a.conf', '10-a.conf', 'B.conf', 'a.conf', 'b.conf']);
});

t.test('missing dir, a file where the dir should be, an empty dir', async (t) => {
  const dir = t.testdir({ 'plain-file': 'x', empty: {} });
  t.same(await readConfDir(join(dir, 'nope')), { files: [], errors: [`conf dir ${join(dir, 'nope')} does not exist`] });
  t.same(await readConfDir(join(dir, 'plain-file')), { files: [], errors: [`conf dir ${join(dir, 'plain-file')} is not a directory`] });
  t.same(await readConfDir(join(dir, 'empty')), { files: [], errors: [] });
});

t.test('symlink loop, dangling symlink, symlink to a good file, FIFO', async (t) => {
  const dir = t.testdir({ 'target.conflist': GOOD });
  symlinkSync('a.conflist', join(dir, 'b.conflist'));
  symlinkSync('b.conflist', join(dir, 'a.conflist'));
  symlinkSync('gone.json', join(dir, 'c-dangling.json'));
  symlinkSync('target.conflist', join(dir, 'd-link.conflist'));
  execFileSync('mkfifo', [join(dir, 'e-fifo.conf')]);
  mkdirSync(join(dir, 'somedir'));
  symlinkSync('somedir', join(dir, 'f-dirlink.conf'));
  const r = await readConfDir(dir);
  const byName = Object.fromEntries(r.files.map((f) => [f.info.name, f.info]));
  t.equal(byName['a.conflist']?.error, 'symlink loop');
  t.equal(byName['b.conflist']?.error, 'symlink loop');
  t.equal(byName['c-dangling.json']?.error, 'dangling symlink or removed while reading');
  t.equal(byName['d-link.conflist']?.valid, true);
  t.equal(byName['d-link.conflist']?.sha256, byName['target.conflist']?.sha256);
  t.equal(byName['e-fifo.conf']?.error, 'not a regular file', 'a FIFO is never opened for a blocking read');
  t.equal(byName['f-dirlink.conf']?.error, 'a symlink to a directory (the runtime fails to read it)');
});

t.test('a huge file is refused from its size, before reading', async (t) => {
  const dir = t.testdir({});
  writeFileSync(join(dir, 'big.conflist'), Buffer.alloc(5 * 1024 * 1024, 0x20));
  writeFileSync(join(dir, 'edge.conflist'), GOOD.padEnd(CNI_LIMITS.fileBytes, ' '));
  const r = await readConfDir(dir);
  t.same(r.files[0]!.info, {
    name: 'big.conflist',
    size: 5 * 1024 * 1024,
    sha256: null,
    valid: false,
    error: 'file is 5 MiB (limit 1 MiB)',
    cniVersion: null,
    network: null,
    plugins: [],
    ipamType: null,
    ranges: [],
  });
  t.equal(r.files[1]!.info.valid, true, 'exactly the limit is read');
});

t.test('a binary file', async (t) => {
  const dir = t.testdir({});
  writeFileSync(join(dir, 'bin.conf'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]));
  const r = await readConfDir(dir);
  t.equal(r.files[0]!.info.error, 'binary file (NUL bytes)');
  t.match(r.files[0]!.info.sha256, /^[0-9a-f]{64}$/, 'readable, so hashed');
});

t.test('too many files: the first ones in order are read, the cut is an error', async (t) => {
  const dir = t.testdir({});
  for (let i = 0; i < CNI_LIMITS.files + 6; i++) writeFileSync(join(dir, `${String(i).padStart(3, '0')}.conflist`), GOOD);
  const r = await readConfDir(dir);
  t.equal(r.files.length, CNI_LIMITS.files);
  t.equal(r.files[0]!.info.name, '000.conflist');
  t.same(r.errors, [`conf dir ${dir} has ${CNI_LIMITS.files + 6} config files; only the first ${CNI_LIMITS.files} are read`]);
});

// chmod 000 does not stop root (CAP_DAC_OVERRIDE): as root the check runs in a
// child process that keeps uid 0 but drops every capability with setpriv. It
// stays the owner of the files, so mode 000 denies it as it would any owner,
// and it can still read the checkout where another uid could not (a clone in a
// 0700 directory).
const asRoot = process.getuid?.() === 0;
const UNPRIVILEGED = ['setpriv', '--inh-caps=-all', '--bounding-set=-all'];
/** Why a child process without capabilities cannot run here (the environment, not the collector); false when it can. */
async function unprivilegedSkip(): Promise<string | false> {
  if (!asRoot) return false;
  if (childSkip !== false || !canRun('setpriv', ['--version'])) return 'runs as root without setpriv or the child loader: chmod 000 cannot stop reads';
  const probe = await runChild(UNPRIVILEGED, `const { readConfDir } = await import(${mod('agent/cni/read-conf.js')}); console.log(typeof readConfDir);`);
  return probe.status === 0 && probe.stdout.trim() === 'function' ? false : `a child process without capabilities cannot load the collector here (exit ${probe.status}): ${(probe.stderr || probe.stdout).trim().slice(0, 300)}`;
}
const permissionSkip = skipUnlessCi(await unprivilegedSkip());
t.test('an unreadable file and an unreadable dir: permission denied', { skip: permissionSkip }, async (t) => {
  const dir = t.testdir({ 'net.d': { 'a.conflist': GOOD, 'b.conflist': GOOD }, closed: { 'c.conf': GOOD } });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'net.d'), 0o755);
  chmodSync(join(dir, 'net.d/a.conflist'), 0o000);
  chmodSync(join(dir, 'closed'), 0o000);
  // Opened again before tap removes the test dir (teardowns run last-in first).
  t.teardown(() => {
    try {
      chmodSync(join(dir, 'closed'), 0o755);
    } catch {
      // already removed
    }
  });
  let result: { names: string[]; errors: string[]; fileErrors: (string | null)[] };
  if (!asRoot) {
    const r = await readConfDir(join(dir, 'net.d'));
    const closed = await readConfDir(join(dir, 'closed'));
    result = { names: r.files.map((f) => f.info.name), fileErrors: r.files.map((f) => f.info.error), errors: [...closed.errors] };
  } else {
    const code = `
      const { readConfDir } = await import(${mod('agent/cni/read-conf.js')});
      const r = await readConfDir(${JSON.stringify(join(dir, 'net.d'))});
      const closed = await readConfDir(${JSON.stringify(join(dir, 'closed'))});
      console.log(JSON.stringify({ names: r.files.map((f) => f.info.name), fileErrors: r.files.map((f) => f.info.error), errors: closed.errors }));`;
    // The probe above ran the same child: a failure now is the collector's.
    const out = await runChild(UNPRIVILEGED, code);
    t.equal(out.status, 0, out.status === 0 ? 'the child without capabilities ran' : `the child without capabilities failed: ${out.stderr.slice(0, 300)}`);
    result = JSON.parse(out.stdout) as typeof result;
  }
  t.same(result.names, ['a.conflist', 'b.conflist']);
  t.same(result.fileErrors, ['permission denied', null]);
  t.same(result.errors, [`conf dir ${join(dir, 'closed')}: permission denied`]);
});

t.test('a file that appears with a name the runtime ignores is not read', async (t) => {
  const dir = t.testdir({ 'a.conflist.bak': 'garbage', 'b.yaml': 'x: 1', 'c.CONF': GOOD });
  mkdirSync(join(dir, 'sub'));
  t.same((await readConfDir(dir)).files, [], 'extensions are case-sensitive, like Go filepath.Ext');
});
