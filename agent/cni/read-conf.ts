// The CNI conf dir as the runtime sees it: files with a .conf, .conflist or
// .json extension, in lexical (byte) order, each read with bounds. Nothing
// here throws: every problem becomes a file's error or a dir-level error.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { CNI_DIR_SKIPPED, CNI_LIMITS } from '../../common/cni.js';
import { describeFsError, errnoCode } from './fs-errors.js';
import { formatBytes } from './limits.js';
import { CONF_EXTENSIONS, confExtension, parseConf, unreadableInfo, type ParsedConf } from './parse-conf.js';

/** Entries looked at in the conf dir; a conf dir holds a handful, more is a broken node. */
export const CONF_DIR_SCAN_LIMIT = 10_000;

export interface ConfDirRead {
  readonly files: readonly ParsedConf[];
  readonly errors: readonly string[];
}

/** Byte order, as Go's sort.Strings (libcni sorts the file list with it). */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export async function readConfDir(confDir: string): Promise<ConfDirRead> {
  const errors: string[] = [];
  const names: string[] = [];
  const links = new Set<string>();
  try {
    const dir = await opendir(confDir);
    let seen = 0;
    try {
      for await (const entry of dir) {
        if (++seen > CONF_DIR_SCAN_LIMIT) {
          errors.push(`conf dir ${confDir} has more than ${CONF_DIR_SCAN_LIMIT} entries; the rest were not looked at`);
          break;
        }
        if (!CONF_EXTENSIONS.includes(confExtension(entry.name))) continue;
        names.push(entry.name);
        if (entry.isSymbolicLink()) links.add(entry.name);
      }
    } finally {
      // for-await closes the dir when it runs to the end; a break leaves it open.
      await dir.close().catch(() => undefined);
    }
  } catch (err) {
    const code = errnoCode(err);
    errors.push(
      code === 'ENOENT'
        ? `conf dir ${confDir} does not exist`
        : code === 'ENOTDIR'
          ? `conf dir ${confDir} is not a directory`
          : `conf dir ${confDir}: ${describeFsError(err)}`,
    );
    return { files: [], errors };
  }
  names.sort(byteOrder);
  if (names.length > CNI_LIMITS.files) {
    errors.push(`conf dir ${confDir} has ${names.length} config files; only the first ${CNI_LIMITS.files} are read`);
    names.length = CNI_LIMITS.files;
  }
  const files: ParsedConf[] = [];
  // One at a time: a conf dir is small, and this keeps open files to one.
  for (const name of names) files.push(await readConfFile(confDir, name, links.has(name)));
  return { files, errors };
}

/**
 * Opens first and asks the open file what it is: a stat-then-read would race
 * with a file being replaced, and O_NONBLOCK keeps a FIFO from blocking the
 * open. Reads at most the limit plus one byte, so a file growing under us is
 * still caught as too big.
 */
export async function readConfFile(confDir: string, name: string, isSymlink = false): Promise<ParsedConf> {
  const fail = (error: string, size = 0): ParsedConf => ({ info: unreadableInfo(name, size, null, error), list: null });
  let fh;
  try {
    fh = await open(join(confDir, name), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return fail('dangling symlink or removed while reading');
    return fail(describeFsError(err));
  }
  try {
    const st = await fh.stat();
    // libcni skips directories (by the entry's own type, so not a symlink to
    // one, which it then fails to read); listed here so a stray dir is visible.
    if (st.isDirectory()) return fail(isSymlink ? 'a symlink to a directory (the runtime fails to read it)' : CNI_DIR_SKIPPED);
    if (!st.isFile()) return fail('not a regular file');
    if (st.size > CNI_LIMITS.fileBytes) return fail(`file is ${formatBytes(st.size)} (limit ${formatBytes(CNI_LIMITS.fileBytes)})`, st.size);
    const buf = Buffer.alloc(CNI_LIMITS.fileBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buf.length) {
        return fail(`file is over ${formatBytes(CNI_LIMITS.fileBytes)} (limit ${formatBytes(CNI_LIMITS.fileBytes)}; it grew while being read)`, length);
      }
    }
    const bytes = buf.subarray(0, length);
    return parseConf(name, bytes, createHash('sha256').update(bytes).digest('hex'));
  } catch (err) {
    return fail(describeFsError(err));
  } finally {
    await fh.close().catch(() => undefined);
  }
}
