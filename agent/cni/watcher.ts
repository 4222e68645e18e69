// Keeps this node's CNI snapshot current: fs.watch on the conf dir, the bin
// dir and host-local's network dir(s), debounced, with a periodic rescan for
// what a watch misses (a watch that could not be set up — ENOENT, ENOSPC when
// inotify watches run out — a dir replaced under it, a filesystem without
// events). A snapshot is reported only when its content changed, plus a full
// one every fullEveryMs so the aggregator can tell "unchanged" from "gone".
//
// Watches are armed before a scan reads the dirs, never after: a change made
// once a watch is armed raises an event, one made before is read by the scan.
// Read-then-arm loses a change made in between until the next rescan (30 s).
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CniSnapshot } from '../../common/cni.js';
import type { Logger } from '../../common/logger.js';
import { BinaryHashCache } from './binaries.js';
import { collectCni, snapshotContentHash, type CniDirs } from './collect.js';
import { errnoCode } from './fs-errors.js';
import { ipamNetworkDir } from './ipam.js';

export interface CniWatcherOptions {
  readonly dirs: CniDirs;
  readonly now: () => number;
  readonly log: Logger;
  /** Quiet time after a change event before scanning (events come in bursts). */
  readonly debounceMs?: number;
  /** Scan this often even without events. */
  readonly rescanMs?: number;
  /** Report a full snapshot this often even when nothing changed. */
  readonly fullEveryMs?: number;
  readonly onSnapshot: (s: CniSnapshot) => void;
  /** fs.watch by default; tests pass one that fails the way a node can (ENOSPC). */
  readonly watchDir?: (path: string, onEvent: () => void) => FSWatcher;
}

const watchDir = (path: string, onEvent: () => void): FSWatcher => watch(path, { persistent: false }, onEvent);

interface Armed {
  readonly watcher: FSWatcher;
  /** Inode of the dir when armed: a dir deleted and made again needs a new watch. */
  readonly ino: number;
}

export class CniWatcher {
  private readonly dirs: CniDirs;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private readonly rescanMs: number;
  private readonly fullEveryMs: number;
  private readonly onSnapshot: (s: CniSnapshot) => void;
  private readonly watchDir: (path: string, onEvent: () => void) => FSWatcher;
  private readonly cache = new BinaryHashCache();
  private readonly armed = new Map<string, Armed>();
  /** Dirs whose watch failure was logged, so a failing watch is logged once, not every rescan. */
  private readonly warned = new Set<string>();
  private debounceTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private fullTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private wanted: { full: boolean } | undefined;
  /** host-local network dirs named by the last snapshot: armed before the next scan reads them. */
  private ipamDirs: readonly string[] = [];
  private lastHash: string | undefined;
  private reported: CniSnapshot | undefined;
  private started = false;
  private stopped = false;

  constructor(o: CniWatcherOptions) {
    this.dirs = o.dirs;
    this.now = o.now;
    this.log = o.log;
    this.debounceMs = o.debounceMs ?? 250;
    this.rescanMs = o.rescanMs ?? 30_000;
    this.fullEveryMs = o.fullEveryMs ?? 300_000;
    this.onSnapshot = o.onSnapshot;
    this.watchDir = o.watchDir ?? watchDir;
  }

  /** The last snapshot reported through onSnapshot. */
  get latest(): CniSnapshot | undefined {
    return this.reported;
  }

  /** Takes a first (full) snapshot at once and reports it. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.rescanTimer = setInterval(() => this.request(false), this.rescanMs).unref();
    this.fullTimer = setInterval(() => this.request(true), this.fullEveryMs).unref();
    this.request(true);
  }

  /** Releases every watch and timer; no onSnapshot call comes after it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.debounceTimer);
    clearInterval(this.rescanTimer);
    clearInterval(this.fullTimer);
    this.debounceTimer = this.rescanTimer = this.fullTimer = undefined;
    this.wanted = undefined;
    for (const path of [...this.armed.keys()]) this.disarm(path);
    await this.scanning;
    // A scan in flight may have armed a watch before it saw `stopped`.
    for (const path of [...this.armed.keys()]) this.disarm(path);
  }

  private request(full: boolean): void {
    if (this.stopped) return;
    this.wanted = { full: full || (this.wanted?.full ?? false) };
    this.scanning ??= this.drain().finally(() => {
      this.scanning = undefined;
    });
  }

  /** Scans until no request is left: one scan at a time, requests made meanwhile coalesce into one more. */
  private async drain(): Promise<void> {
    while (this.wanted !== undefined && !this.stopped) {
      const { full } = this.wanted;
      this.wanted = undefined;
      try {
        await this.scan(full);
      } catch (err) {
        this.log.error({ err }, 'cni scan failed');
      }
    }
  }

  private async scan(full: boolean): Promise<void> {
    await this.rearm();
    if (this.stopped) return;
    const snapshot = await collectCni(this.dirs, { now: this.now, full, binaryCache: this.cache });
    if (this.stopped) return;
    // A network dir first named by this snapshot (a new config, or the first scan) is armed only
    // now, after it was read: one more scan reads what was written to it in between.
    this.ipamDirs = [...new Set(snapshot.pools.flatMap((p) => ipamNetworkDir(this.dirs.ipamDir, p.network) ?? []))];
    if (await this.rearm()) this.request(false);
    if (this.stopped) return;
    const hash = snapshotContentHash(snapshot);
    const changed = hash !== this.lastHash;
    this.lastHash = hash;
    this.log.debug({ full, changed, watched: this.armed.size }, 'cni scanned');
    if (!changed && !full) return;
    this.reported = snapshot;
    try {
      this.onSnapshot(snapshot);
    } catch (err) {
      this.log.error({ err }, 'cni snapshot consumer failed');
    }
  }

  private onEvent = (): void => {
    if (this.stopped || this.debounceTimer !== undefined) return;
    // Not reset by later events: a steady stream of events still gets a scan every debounceMs.
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.request(false);
    }, this.debounceMs).unref();
  };

  /** The dirs worth watching now: each target, or its parent while the target does not exist. */
  private async targets(): Promise<Map<string, number>> {
    const wanted = [this.dirs.confDir, this.dirs.binDir, ...this.ipamDirs];
    const out = new Map<string, number>();
    for (const target of wanted) {
      for (const path of [target, dirname(target)]) {
        try {
          const st = await stat(path);
          if (st.isDirectory()) {
            out.set(path, st.ino);
            break;
          }
        } catch {
          // Not there (yet): try the parent, then leave it to the rescan.
        }
      }
    }
    return out;
  }

  /** Starts watches for dirs that are new (or were replaced), stops those no longer wanted; true when a watch was started. */
  private async rearm(): Promise<boolean> {
    const targets = await this.targets();
    if (this.stopped) return false;
    let started = false;
    for (const [path, a] of this.armed) if (targets.get(path) !== a.ino) this.disarm(path);
    for (const [path, ino] of targets) {
      if (this.armed.has(path)) continue;
      try {
        const watcher = this.watchDir(path, this.onEvent);
        watcher.on('error', (err) => {
          this.log.warn({ dir: path, code: errnoCode(err) }, 'cni dir watch failed; relying on the periodic rescan');
          this.disarm(path);
          this.request(false);
        });
        this.armed.set(path, { watcher, ino });
        this.warned.delete(path);
        started = true;
      } catch (err) {
        if (!this.warned.has(path)) {
          this.warned.add(path);
          this.log.warn({ dir: path, code: errnoCode(err) }, 'cni dir watch failed; relying on the periodic rescan');
        }
      }
    }
    return started;
  }

  private disarm(path: string): void {
    const a = this.armed.get(path);
    if (!a) return;
    this.armed.delete(path);
    a.watcher.removeAllListeners('error');
    a.watcher.on('error', () => undefined);
    a.watcher.close();
  }

  /** Paths being watched now, for tests and debug logs. */
  get watchedDirs(): readonly string[] {
    return [...this.armed.keys()].sort();
  }
}
