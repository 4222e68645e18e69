// Plugin binaries: found, hashed (streamed, never run), or a clear error.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BinaryHashCache, inspectBinaries, inspectBinary } from '../../../agent/cni/binaries.js';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

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

t.test('the cache skips rehashing an unchanged file and notices a rewritten one', async (t) => {
  const bin = t.testdir({});
  const path = join(bin, 'p');
  writeFileSync(path, 'v1', { mode: 0o755 });
  const cache = new BinaryHashCache();
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v1'));
  const [key] = [...(cache as unknown as { entries: Map<string, { key: string }> }).entries.values()].map((e) => e.key);
  // Same identity, a planted hash: a cache hit returns it without reading.
  cache.set(path, key!, 'planted');
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, 'planted');
  t.equal((await inspectBinary(bin, 'p', cache, true)).sha256, sha('v1'), 'rehash (a full snapshot) reads the file again…');
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v1'), '…and refreshes the cache');
  writeFileSync(path, 'v2-longer', { mode: 0o755 });
  t.equal((await inspectBinary(bin, 'p', cache)).sha256, sha('v2-longer'), 'size/mtime/ctime changed: hashed again');
  t.equal((await inspectBinary(bin, 'p')).sha256, sha('v2-longer'));
});

t.test('more distinct binaries than the bound: the cut is an error', async (t) => {
  const bin = t.testdir({});
  const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
  const r = await inspectBinaries(bin, names);
  t.equal(r.binaries.length, 32);
  t.same(r.errors, ['the chain needs 40 plugin binaries; only the first 32 are checked']);
});
