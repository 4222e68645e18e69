// Response bodies that change only when the aggregator evaluates (the matrix
// in each kind, family and form; the zone summary): each is built and
// serialized once per evaluation and served unchanged to every request until
// the next one, so N requests between two evaluations cost one build, and an
// ETag names one body. Compressed variants are made once, on the first request
// that asks for them, and kept beside the body.
//
// Bounded in bytes (bodies and their variants together). A new evaluation
// drops everything of the previous one: it can never be served again. Within
// one evaluation the least recently used bodies go first; a body larger than
// the whole bound is not kept (it is built for each request and compressed by
// @fastify/compress as it is sent). Both are hits of the bound: counted, and
// logged once.
import { compressBody, type ContentEncoding, type Encoding } from './compression.js';

export type BoundAction = 'evicted' | 'not_cached';

export interface EvaluationCacheOptions {
  readonly maxBytes: number;
  /** Called each time the bound is hit: a body of this evaluation evicted, or one not kept. */
  readonly onBoundHit?: (action: BoundAction, key: string, bytes: number) => void;
  /** Injected in tests to count or slow compressions. */
  readonly compress?: (encoding: ContentEncoding, body: Buffer) => Promise<Buffer>;
}

export interface CachedBody {
  readonly key: string;
  readonly generation: number;
  readonly identity: Buffer;
  /** Whether the cache holds it (false: larger than the bound, or evicted since). */
  readonly held: boolean;
}

class Entry implements CachedBody {
  readonly variants = new Map<ContentEncoding, Buffer>();
  readonly pending = new Map<ContentEncoding, Promise<Buffer>>();
  bytes: number;
  held = false;
  constructor(
    readonly key: string,
    readonly generation: number,
    readonly identity: Buffer,
  ) {
    this.bytes = identity.length;
  }
}

export class EvaluationCache {
  /** In least-recently-used order (a hit moves its entry to the end). */
  private readonly entries = new Map<string, Entry>();
  private generation = -1;
  private held = 0;
  private readonly compress: (encoding: ContentEncoding, body: Buffer) => Promise<Buffer>;
  readonly stats = { hits: 0, misses: 0, compressions: 0, evicted: 0, notCached: 0 };

  constructor(private readonly o: EvaluationCacheOptions) {
    this.compress = o.compress ?? compressBody;
  }

  get maxBytes(): number {
    return this.o.maxBytes;
  }

  /** Bytes held: bodies and compressed variants. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The body of `key` at evaluation `generation`: the one built for it already, else `build()` now. */
  get(key: string, generation: number, build: () => Buffer): CachedBody {
    if (generation > this.generation) {
      this.entries.clear();
      this.held = 0;
      this.generation = generation;
    }
    const e = this.entries.get(key);
    if (e && e.generation === generation) {
      this.stats.hits++;
      this.entries.delete(key);
      this.entries.set(key, e);
      return e;
    }
    this.stats.misses++;
    const entry = new Entry(key, generation, build());
    if (generation === this.generation && this.admit(entry, entry.bytes)) {
      entry.held = true;
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** `body` in `encoding`: compressed once per body and encoding, concurrent askers sharing the work. */
  encoded(body: CachedBody, encoding: Encoding): Promise<Buffer> {
    if (encoding === 'identity') return Promise.resolve(body.identity);
    const e = body as Entry;
    const done = e.variants.get(encoding);
    if (done) return Promise.resolve(done);
    const pending = e.pending.get(encoding);
    if (pending) return pending;
    this.stats.compressions++;
    const p = this.compress(encoding, e.identity).then(
      (out) => {
        e.pending.delete(encoding);
        // Still current and held: keep it if it fits; otherwise this request alone gets it.
        if (e.held && this.entries.get(e.key) === e && this.admit(e, out.length)) {
          e.variants.set(encoding, out);
          e.bytes += out.length;
        }
        return out;
      },
      (err: unknown) => {
        e.pending.delete(encoding);
        throw err;
      },
    );
    e.pending.set(encoding, p);
    return p;
  }

  /** Makes room for `bytes` more of `entry`, evicting other bodies of this evaluation; false when it cannot. */
  private admit(entry: Entry, bytes: number): boolean {
    if (bytes + (entry.held ? entry.bytes : 0) > this.o.maxBytes) {
      this.stats.notCached++;
      this.o.onBoundHit?.('not_cached', entry.key, bytes);
      return false;
    }
    for (const victim of this.entries.values()) {
      if (this.held + bytes <= this.o.maxBytes) break;
      if (victim === entry) continue;
      this.entries.delete(victim.key);
      victim.held = false;
      this.held -= victim.bytes;
      this.stats.evicted++;
      this.o.onBoundHit?.('evicted', victim.key, victim.bytes);
    }
    if (this.held + bytes > this.o.maxBytes) return false;
    this.held += bytes;
    return true;
  }
}
