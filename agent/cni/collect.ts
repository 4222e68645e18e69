// One CNI snapshot of this node: the conf dir, the effective config
// normalized, the binaries it needs, and host-local usage. Every path is a
// setting (CniDirs) so tests run on fixture trees; nothing here throws.
import { stat } from 'node:fs/promises';
import type { CniEffective, CniSnapshot } from '../../common/cni.js';
import { CNI_LIMITS } from '../../common/cni.js';
import { inspectBinaries, type BinaryHashCache } from './binaries.js';
import { describeFsError, errnoCode } from './fs-errors.js';
import { countPools } from './ipam.js';
import { boundedErrors } from './limits.js';
import { canonicalJson, normalizeEffective, sha256Hex } from './normalize.js';
import { hostLocalIpams, isJsonObject, writtenRanges, type NetworkList } from './parse-conf.js';
import { readConfDir } from './read-conf.js';

export interface CniDirs {
  /** The runtime's conf dir, /etc/cni/net.d on most nodes. */
  readonly confDir: string;
  /** Where plugin binaries live, /opt/cni/bin on most nodes. */
  readonly binDir: string;
  /** host-local's data dir, /var/lib/cni/networks by default. */
  readonly ipamDir: string;
}

export interface CollectOptions {
  readonly now: () => number;
  readonly full: boolean;
  /** Binary hashes kept between snapshots: a binary whose inode, size and times are unchanged is not read again, in a full snapshot either. */
  readonly binaryCache?: BinaryHashCache;
}

/** The chain's plugin types, then its IPAM types: the runtime execs both from the bin dir. */
export function binariesNeeded(list: NetworkList): string[] {
  const types = list.plugins.map((p) => String(p.type));
  const ipam = list.plugins.flatMap((p) => (isJsonObject(p.ipam) && typeof p.ipam.type === 'string' && p.ipam.type !== '' ? [p.ipam.type] : []));
  return [...new Set([...types, ...ipam])];
}

export async function collectCni(dirs: CniDirs, o: CollectOptions): Promise<CniSnapshot> {
  const takenAtMs = o.now();
  try {
    return await collect(dirs, o, takenAtMs);
  } catch (err) {
    // Not expected (each part turns failures into errors), but a snapshot that
    // says so is worth more than a crashed collector.
    return { takenAtMs, full: o.full, files: [], effective: null, binaries: [], pools: [], errors: [`CNI collector failed: ${describeFsError(err)}`] };
  }
}

async function collect(dirs: CniDirs, o: CollectOptions, takenAtMs: number): Promise<CniSnapshot> {
  const conf = await readConfDir(dirs.confDir);
  const errors = [...conf.errors];
  const first = conf.files.find((f) => f.list !== null);
  let effective: CniEffective | null = null;
  const binaries = [];
  const pools = [];
  if (first?.list) {
    const list = first.list;
    effective = normalizeEffective(first.info.name, list);
    try {
      const st = await stat(dirs.binDir);
      if (!st.isDirectory()) errors.push(`bin dir ${dirs.binDir} is not a directory`);
    } catch (err) {
      errors.push(errnoCode(err) === 'ENOENT' ? `bin dir ${dirs.binDir} does not exist` : `bin dir ${dirs.binDir}: ${describeFsError(err)}`);
    }
    const bins = await inspectBinaries(dirs.binDir, binariesNeeded(list), o.binaryCache);
    binaries.push(...bins.binaries);
    errors.push(...bins.errors);
    const ranges = hostLocalIpams(list.plugins).flatMap(({ ipam }) => writtenRanges(ipam));
    if (ranges.length > 0) {
      const counted = await countPools(dirs.ipamDir, list.name, ranges);
      pools.push(...counted.pools);
      errors.push(...counted.errors);
    }
    if (pools.length > CNI_LIMITS.pools) {
      errors.push(`${pools.length} IPAM ranges; only the first ${CNI_LIMITS.pools} are reported`);
      pools.length = CNI_LIMITS.pools;
    }
  } else if (conf.files.length > 0) {
    errors.push(`no valid network config in ${dirs.confDir}: pods on this node cannot get a network`);
  } else if (conf.errors.length === 0) {
    errors.push(`no network config in ${dirs.confDir} (no .conf, .conflist or .json file): pods on this node cannot get a network`);
  }
  return { takenAtMs, full: o.full, files: conf.files.map((f) => f.info), effective, binaries, pools, errors: boundedErrors(errors) };
}

/** What a snapshot says, without when or why it was taken: equal when nothing changed. */
export function snapshotContentHash(s: CniSnapshot): string {
  const { takenAtMs: _t, full: _f, ...content } = s;
  return sha256Hex(canonicalJson(content));
}
