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
 * Hashes kept between snapshots, keyed by what changes when a file is
 * replaced or written to (inode, size, mtime, ctime). A periodic full snapshot
 * ignores it, hashes again and refreshes it.
 */
export class BinaryHashCache {
  private readonly entries = new Map<string, { key: string; sha256: string }>();
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

/** `rehash`: ignore cached hashes (and refresh them), as a full snapshot does. */
export async function inspectBinary(binDir: string, plugin: string, cache?: BinaryHashCache, rehash = false): Promise<CniBinary> {
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
    const st = await fh.stat();
    if (st.isDirectory()) return result(0, null, 'is a directory');
    if (!st.isFile()) return result(0, null, 'not a regular file');
    if (st.size > CNI_LIMITS.binaryBytes) return result(st.size, null, `larger than ${formatBytes(CNI_LIMITS.binaryBytes)} (${formatBytes(st.size)}); not hashed`);
    const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    let sha256 = rehash ? undefined : cache?.get(path, key);
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
      cache?.set(path, key, sha256);
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
export async function inspectBinaries(binDir: string, plugins: readonly string[], cache?: BinaryHashCache, rehash = false): Promise<{ binaries: CniBinary[]; errors: string[] }> {
  const distinct = [...new Set(plugins)];
  const errors: string[] = [];
  if (distinct.length > CNI_LIMITS.binaries) {
    errors.push(`the chain needs ${distinct.length} plugin binaries; only the first ${CNI_LIMITS.binaries} are checked`);
    distinct.length = CNI_LIMITS.binaries;
  }
  const binaries: CniBinary[] = [];
  for (const p of distinct) binaries.push(await inspectBinary(binDir, p, cache, rehash));
  cache?.keepOnly(new Set(distinct.filter(plainName).map((p) => join(binDir, p))));
  return { binaries, errors };
}
