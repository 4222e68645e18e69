// What an agent reports about its node's CNI setup: the shape shared by the
// agent's collector (agent/cni/), the wire (CniSnapshot in collector.proto)
// and the aggregator's comparison (aggregator/cni/). docs/cni.md has the rules.
import type { CniSnapshot__Output, WireCniSnapshot } from '../proto/load.js';

/** One file of the CNI conf dir (*.conf, *.conflist, *.json), in lexical order. */
export interface CniFileInfo {
  readonly name: string;
  readonly size: number;
  /** sha256 of the bytes, hex; null when unreadable. */
  readonly sha256: string | null;
  readonly valid: boolean;
  /** Why the file is not a usable network config (parse error, no plugins, too big, binary, unreadable…). */
  readonly error: string | null;
  readonly cniVersion: string | null;
  /** The network name ("name"). */
  readonly network: string | null;
  /** Plugin chain: the "type" of each plugin, in order. */
  readonly plugins: readonly string[];
  /** IPAM type of the first plugin that has one (e.g. host-local). */
  readonly ipamType: string | null;
  /** IPAM subnets/ranges as written (host-local "ranges"/"subnet"), e.g. 10.244.1.0/24. */
  readonly ranges: readonly string[];
}

/** The network the runtime uses: the first valid file. */
export interface CniEffective {
  readonly file: string;
  readonly network: string;
  readonly cniVersion: string;
  readonly plugins: readonly string[];
  readonly ipamType: string | null;
  /** Canonical JSON (sorted keys) of the config with the per-node fields set aside. */
  readonly normalized: string;
  /** sha256 of `normalized`, hex: equal on every node whose config is the same. */
  readonly hash: string;
  /** The fields set aside, by JSON path (e.g. "plugins[0].ipam.ranges"), each as canonical JSON. */
  readonly perNode: Readonly<Record<string, string>>;
  /** Pod CIDRs this node's IPAM hands out from (host-local subnets), for the overlap check. */
  readonly podCidrs: readonly string[];
}

/** A plugin binary of the effective chain, hashed, never executed. */
export interface CniBinary {
  readonly plugin: string;
  readonly size: number;
  readonly sha256: string | null;
  /** e.g. "not found in /opt/cni/bin", "larger than …" */
  readonly error: string | null;
}

/** One host-local IPAM range: addresses it can hand out and how many are allocated. */
export interface CniPool {
  readonly network: string;
  /** The range as "subnet" or "subnet rangeStart-rangeEnd". */
  readonly range: string;
  readonly size: number;
  readonly used: number;
}

export interface CniSnapshot {
  /** Agent's wall clock when the snapshot was taken (only compared with the same agent's clock). */
  readonly takenAtMs: number;
  /** A periodic full snapshot (true) or one taken because something changed (false). */
  readonly full: boolean;
  readonly files: readonly CniFileInfo[];
  /** null when no file is valid: pods on this node cannot get a network. */
  readonly effective: CniEffective | null;
  readonly binaries: readonly CniBinary[];
  readonly pools: readonly CniPool[];
  /** Directory-level problems (missing dir, unreadable dir, too many files…). */
  readonly errors: readonly string[];
}

/**
 * A conf dir entry named like a config file that is a directory: libcni does
 * not list directories, so the runtime skips it (the aggregator does not hold
 * it against the node).
 */
export const CNI_DIR_SKIPPED = 'a directory, not a file (the runtime skips it)';

/** Bounds of one snapshot, applied by the agent and checked again by the aggregator. */
export const CNI_LIMITS = Object.freeze({
  files: 64,
  binaries: 32,
  pools: 64,
  errors: 32,
  /** Largest conf file read; bigger ones are reported as an error. */
  fileBytes: 1024 * 1024,
  /** Largest normalized config carried. */
  normalizedBytes: 64 * 1024,
  /** Largest plugin binary hashed. */
  binaryBytes: 512 * 1024 * 1024,
  /** Most IPAM entries counted per network dir. */
  ipamEntries: 1_000_000,
  textBytes: 512,
});

/** The wire form (collector.proto CniSnapshot): empty strings for absent text. */
export function cniToWire(s: CniSnapshot): WireCniSnapshot {
  return {
    takenAtMs: s.takenAtMs,
    full: s.full,
    files: s.files.map((f) => ({
      name: f.name,
      size: f.size,
      sha256: f.sha256 ?? '',
      valid: f.valid,
      error: f.error ?? '',
      cniVersion: f.cniVersion ?? '',
      network: f.network ?? '',
      plugins: [...f.plugins],
      ipamType: f.ipamType ?? '',
      ranges: [...f.ranges],
    })),
    ...(s.effective ? { effective: { ...s.effective, ipamType: s.effective.ipamType ?? '', plugins: [...s.effective.plugins], perNode: { ...s.effective.perNode }, podCidrs: [...s.effective.podCidrs] } } : {}),
    binaries: s.binaries.map((b) => ({ plugin: b.plugin, size: b.size, sha256: b.sha256 ?? '', error: b.error ?? '' })),
    pools: s.pools.map((p) => ({ ...p })),
    errors: [...s.errors],
  };
}

/**
 * Reads a snapshot off the wire, or says in one line what is wrong with it.
 * Counts over CNI_LIMITS refuse the snapshot (the previous one stays); long
 * strings are cut to CNI_LIMITS.textBytes, the normalized config to its own cap.
 */
export function cniFromWire(w: CniSnapshot__Output): CniSnapshot | { readonly problem: string } {
  const over = (what: string, n: number, max: number) => (n > max ? `cni snapshot: ${n} ${what} (at most ${max})` : undefined);
  const problem =
    over('files', w.files.length, CNI_LIMITS.files) ??
    over('binaries', w.binaries.length, CNI_LIMITS.binaries) ??
    over('pools', w.pools.length, CNI_LIMITS.pools) ??
    over('errors', w.errors.length, CNI_LIMITS.errors) ??
    (w.effective && w.effective.normalized.length > CNI_LIMITS.normalizedBytes ? `cni snapshot: normalized config of ${w.effective.normalized.length} bytes (at most ${CNI_LIMITS.normalizedBytes})` : undefined) ??
    (w.effective && Object.keys(w.effective.perNode).length > 64 ? 'cni snapshot: more than 64 per-node fields' : undefined) ??
    ([...w.files.flatMap((f) => [...f.plugins, ...f.ranges]), ...(w.effective ? [...w.effective.plugins, ...w.effective.podCidrs] : [])].length > 4096 ? 'cni snapshot: more than 4096 plugins and ranges' : undefined);
  if (problem) return { problem };
  const text = (s: string) => s.slice(0, CNI_LIMITS.textBytes);
  const orNull = (s: string) => (s === '' ? null : text(s));
  const count = (n: number) => (Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0);
  const e = w.effective;
  return {
    takenAtMs: Number(w.takenAtMs),
    full: w.full,
    files: w.files.map((f) => ({
      name: text(f.name),
      size: count(f.size),
      sha256: orNull(f.sha256),
      valid: f.valid,
      error: orNull(f.error),
      cniVersion: orNull(f.cniVersion),
      network: orNull(f.network),
      plugins: f.plugins.map(text),
      ipamType: orNull(f.ipamType),
      ranges: f.ranges.map(text),
    })),
    effective: e
      ? {
          file: text(e.file),
          network: text(e.network),
          cniVersion: text(e.cniVersion),
          plugins: e.plugins.map(text),
          ipamType: orNull(e.ipamType),
          normalized: e.normalized,
          hash: text(e.hash),
          perNode: Object.fromEntries(Object.entries(e.perNode).map(([k, v]) => [text(k), v.slice(0, 4 * CNI_LIMITS.textBytes)])),
          podCidrs: e.podCidrs.map(text),
        }
      : null,
    binaries: w.binaries.map((b) => ({ plugin: text(b.plugin), size: count(b.size), sha256: orNull(b.sha256), error: orNull(b.error) })),
    pools: w.pools.map((p) => ({ network: text(p.network), range: text(p.range), size: count(p.size), used: count(p.used) })),
    errors: w.errors.map(text),
  };
}
