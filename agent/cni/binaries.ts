// The plugin binaries the effective chain needs, hashed and never run. A
// missing or broken binary is a node where every pod sandbox fails to start
// even though the config is fine.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { CniBinary } from '../../common/cni.js';
import { CNI_LIMITS } from '../../common/cni.js';
import { describeFsError, errnoCode } from './fs-errors.js';
import { boundedText, formatBytes } from './limits.js';

/**
 * A hash read this soon after the file's last change is used once, not kept.
 * Timestamps have a granularity (a kernel tick; a second on some filesystems),
 * so a file written again within the tick its hash was read in keeps its key;
 * git treats such "racily clean" index entries the same way.
 */
export const HASH_SETTLE_MS = 2_000;

/**
 * Hashes kept between snapshots, keyed by what changes when a file is
 * replaced or written to: inode, size, mtime and ctime. Every snapshot, the
 * periodic full one included, trusts the key: the kernel sets ctime on every
 * write, rename and chmod and user space cannot set it back, so a file with
 * the same key has the same bytes, and hashing up to 32 × 512 MiB again every
 * few minutes would only burn the probing event loop's CPU to learn nothing.
 */
export class BinaryHashCache {
  private readonly entries = new Map<string, { key: string; sha256: string }>();
  /** `now`: the wall clock the kernel stamps ctime with (tests move it on). */
  constructor(readonly now: () => number = Date.now) {}
  get(path: string, key: string): string | undefined {
    const e = this.entries.get(path);
    return e?.key === key ? e.sha256 : undefined;
  }
  set(path: string, key: string, sha256: string): void {
    this.entries.set(path, { key, sha256 });
  }
  /** Forgets binaries no longer in the chain, so the cache is bounded by it. */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const p of this.entries.keys()) if (!paths.has(p)) this.entries.delete(p);
  }
}

/** A plugin type is a file name in the bin dir, never a path. */
function plainName(type: string): boolean {
  return type !== '' && type !== '.' && type !== '..' && !type.includes('/') && !type.includes('\0');
}

/** Hashed unless `cache` holds the hash for the file's current key. */
export async function inspectBinary(binDir: string, plugin: string, cache?: BinaryHashCache): Promise<CniBinary> {
  const result = (size: number, sha256: string | null, error: string | null): CniBinary => ({ plugin: boundedText(plugin), size, sha256, error: error === null ? null : boundedText(error) });
  if (!plainName(plugin)) return result(0, null, `plugin type ${JSON.stringify(plugin)} is not a plain file name`);
  const path = join(binDir, plugin);
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return result(0, null, errnoCode(err) === 'ENOENT' ? `not found in ${binDir}` : describeFsError(err));
  }
  try {
    // Before the stat: a change after this moment gets a later ctime, so a new key.
    const readAt = cache ? cache.now() : 0;
    const st = await fh.stat();
    if (st.isDirectory()) return result(0, null, 'is a directory');
    if (!st.isFile()) return result(0, null, 'not a regular file');
    if (st.size > CNI_LIMITS.binaryBytes) return result(st.size, null, `larger than ${formatBytes(CNI_LIMITS.binaryBytes)} (${formatBytes(st.size)}); not hashed`);
    const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let sha256 = cache?.get(path, key);
    if (sha256 === undefined) {
      const hash = createHash('sha256');
      // Streamed in chunks, and never past the size seen: a binary being
      // rewritten cannot make this read without end.
      const chunk = Buffer.alloc(1024 * 1024);
      let offset = 0;
      while (offset < st.size) {
        const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, st.size - offset), offset);
        if (bytesRead === 0) break;
        hash.update(chunk.subarray(0, bytesRead));
        offset += bytesRead;
      }
      sha256 = hash.digest('hex');
      if (cache && readAt - st.ctimeMs >= HASH_SETTLE_MS) cache.set(path, key, sha256);
    }
    // The runtime execs the binary; without an execute bit that fails.
    const error = (st.mode & 0o111) === 0 ? `not executable (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})` : null;
    return result(st.size, sha256, error);
  } catch (err) {
    return result(0, null, describeFsError(err));
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** One entry per distinct name, in chain order, at most CNI_LIMITS.binaries. */
export async function inspectBinaries(binDir: string, plugins: readonly string[], cache?: BinaryHashCache): Promise<{ binaries: CniBinary[]; errors: string[] }> {
  const distinct = [...new Set(plugins)];
  const errors: string[] = [];
  if (distinct.length > CNI_LIMITS.binaries) {
    errors.push(`the chain needs ${distinct.length} plugin binaries; only the first ${CNI_LIMITS.binaries} are checked`);
    distinct.length = CNI_LIMITS.binaries;
  }
  const binaries: CniBinary[] = [];
  for (const p of distinct) binaries.push(await inspectBinary(binDir, p, cache));
  cache?.keepOnly(new Set(distinct.filter(plainName).map((p) => join(binDir, p))));
  return { binaries, errors };
}
