// Plugin binaries: found, hashed (streamed, never run), or a clear error.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BinaryHashCache, HASH_SETTLE_MS, inspectBinaries, inspectBinary } from '../../../agent/cni/binaries.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** A cache that remembers the key of each hash it keeps, so a test can plant one. */
class KeyedCache extends BinaryHashCache {
  readonly keys = new Map<string, string>();
  override set(path: string, key: string, sha256: string): void {
    this.keys.set(path, key);
    super.set(path, key, sha256);
  }
}

t.test('a present binary: size and sha256; distinct names in chain order', async (t) => {
  const bin = t.testdir({ bridge: 'fake bridge\n', portmap: 'fake portmap\n' });
  chmodSync(join(bin, 'bridge'), 0o755);
  chmodSync(join(bin, 'portmap'), 0o755);
  const r = await inspectBinaries(bin, ['bridge', 'portmap', 'bridge', 'host-local']);
  t.same(r.binaries, [
    { plugin: 'bridge', size: 12, sha256: sha('fake bridge\n'), error: null },
    { plugin: 'portmap', size: 13, sha256: sha('fake portmap\n'), error: null },
    { plugin: 'host-local', size: 0, sha256: null, error: `not found in ${bin}` },
  ]);
  t.same(r.errors, []);
});

t.test('a file bigger than one read chunk is hashed whole', async (t) => {
  const bin = t.testdir({});
  const body = Buffer.alloc(3 * 1024 * 1024 + 7, 0xab);
  writeFileSync(join(bin, 'big'), body, { mode: 0o755 });
  t.same(await inspectBinary(bin, 'big'), { plugin: 'big', size: body.length, sha256: sha(body), error: null });
});

t.test('a directory, a symlink loop, a non-executable file, a path for a name', async (t) => {
  const bin = t.testdir({ notexec: 'x' });
  chmodSync(join(bin, 'notexec'), 0o644);
  mkdirSync(join(bin, 'dir'));
  symlinkSync('loop2', join(bin, 'loop1'));
  symlinkSync('loop1', join(bin, 'loop2'));
  t.equal((await inspectBinary(bin, 'dir')).error, 'is a directory');
  t.equal((await inspectBinary(bin, 'loop1')).error, 'symlink loop');
  t.same(await inspectBinary(bin, 'notexec'), { plugin: 'notexec', size: 1, sha256: sha('x'), error: 'not executable (mode 0644)' });
  t.equal((await inspectBinary(bin, '../../bin/sh')).error, 'plugin type "../../bin/sh" is not a plain file name');
  t.equal((await inspectBinary(join(bin, 'missing-dir'), 'bridge')).error, `not found in ${join(bin, 'missing-dir')}`);
});

t.test('the cache: an unchanged file is not read again, whatever the snapshot; a rewritten or replaced one is', async (t) => {
  const bin = t.testdir({});
  const path = join(bin, 'p');
  writeFileSync(path, 'v1', { mode: 0o755 });
  // The cache's clock past the settle time, as if the file had been installed long ago.
  const cache = new KeyedCache(() => Date.now() + HASH_SETTLE_MS + 1_000);
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v1'));
  const key = cache.keys.get(path)!;
  // Same identity, a planted hash: only a lookup that does not read the file returns it.
  cache.set(path, key, 'planted');
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, 'planted');
  t.equal((await inspectBinaries(bin, ['p'], cache)).binaries[0]!.sha256, 'planted', 'the key is trusted: the file is not read again');
  writeFileSync(path, 'v2-longer', { mode: 0o755 });
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v2-longer'), 'rewritten in place (size, mtime, ctime changed): hashed again');
  // Replaced the way installers do it: a new file renamed over the old one, the same size.
  writeFileSync(join(bin, 'p.new'), 'v3-longer', { mode: 0o755 });
  renameSync(join(bin, 'p.new'), path);
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v3-longer'), 'replaced (a new inode): hashed again');
  t.not(cache.keys.get(path), key);
  t.equal((await inspectBinary(bin, 'p')).sha256, sha('v3-longer'));
});

t.test('a hash read within HASH_SETTLE_MS of the file\'s change is used but not kept', async (t) => {
  // A write within the same timestamp tick as the read would keep the key: such a hash is read again next time.
  const bin = t.testdir({});
  const path = join(bin, 'p');
  writeFileSync(path, 'v1', { mode: 0o755 });
  let later = 0;
  const cache = new KeyedCache(() => Date.now() + later);
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v1'), 'hashed just after the write');
  t.notOk(cache.keys.has(path), 'not kept');
  later = HASH_SETTLE_MS;
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v1'));
  t.ok(cache.keys.has(path), 'kept once the file has settled');
});

t.test('more distinct binaries than the bound: the cut is an error', async (t) => {
  const bin = t.testdir({});
  const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
  const r = await inspectBinaries(bin, names);
  t.equal(r.binaries.length, 32);
  t.same(r.errors, ['the chain needs 40 plugin binaries; only the first 32 are checked']);
});
