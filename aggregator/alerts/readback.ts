// Resolves what a previous instance of this aggregator left firing. A finding
// that cleared while no aggregator ran would otherwise stay firing in
// Alertmanager until its endsAt (four resends). At start each Alertmanager is
// asked for the unresolved alerts of this cluster whose generatorURL is this
// aggregator's; at the first evaluation a full window after start (before it
// the matrix is half empty and says nothing), those whose finding does not
// hold any more are sent as resolved. A read that fails is retried with
// backoff until then; what was not read by then is left to its endsAt.
import type { Logger } from '../../common/logger.js';
import { alertsEndpoint, fingerprint, type Alert } from './alertmanager.js';
import { findingsUrlPrefix, type AlertSink } from './notifier.js';
import { DEFAULT_BACKOFF, exchange, failureReason, loggedBody, retryDelay, type RetryBackoff } from './request.js';

export interface AlertReadBackOptions {
  readonly urls: readonly string[];
  /** --cluster: only alerts with this cluster label are read. */
  readonly cluster: string;
  /** The Notifier's --external-url: an alert is this aggregator's when its generatorURL starts with its findings URL. */
  readonly externalUrl: string;
  /** Deadline of one read, body included (--alert-timeout). */
  readonly timeoutMs: number;
  /** When the aggregator started, on the monotonic clock of the evaluations' `monotonicAt` (a wall-clock step must not end the window). */
  readonly startedAt: number;
  /** The first full window ends this long after start (--window): the first evaluation at or after it decides. */
  readonly windowMs: number;
  /** Where the resolved alerts go: the sender, which posts them to every URL. */
  readonly sink: AlertSink;
  /** Alerts kept at most (--alert-queue, what the sender's queue holds); the rest are counted and logged once. */
  readonly capacity: number;
  /** Bytes of one answer read at most (default 32 MiB, some 30,000 alerts); a longer one is a failed read. */
  readonly maxBytes?: number;
  /** Retry delay after a failed read: initialMs doubling up to maxMs, with jitter (default 500ms..30s). */
  readonly backoff?: RetryBackoff;
  readonly log: Logger;
  readonly fetch?: typeof fetch;
}

export interface ReadBackStats {
  /** Failed reads, per URL. */
  readonly failed: ReadonlyMap<string, number>;
  /** This aggregator's alerts each URL listed; null until a read succeeded. */
  readonly found: ReadonlyMap<string, number | null>;
  /** Alerts sent as resolved at the first full window. */
  readonly resolved: number;
}

/** Something that may still be firing: a finding (firing or pending) of the deciding evaluation. */
export interface Holding {
  readonly labels: Readonly<Record<string, string>>;
}

/** When an evaluation ran: wall-clock (the resolved alerts' endsAt) and monotonic (the window) ms. */
export interface EvaluatedAt {
  readonly at: number;
  readonly monotonicAt: number;
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** An alert as read: what was posted, less its endsAt (the resolved one gets now). */
type ReadAlert = Omit<Alert, 'endsAt'>;

type Read = { kind: 'ok'; alerts: ReadAlert[]; skipped: number } | { kind: 'failed'; error: string } | { kind: 'stopped' };

/** One URL's read: tried until it succeeds or the decision stops it. */
class Reader {
  failed = 0;
  alerts: ReadAlert[] | null = null;
  skipped = 0;
  private stopped = false;
  private attempt = 0;
  private inflight: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(
    readonly url: string,
    private readonly query: string,
    private readonly o: { prefix: string; cluster: string; timeoutMs: number; capacity: number; maxBytes: number; backoff: RetryBackoff; log: Logger; fetch: typeof fetch },
  ) {
    this.done = this.loop();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.inflight?.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    return this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const r = await this.read();
      if (r.kind === 'stopped') return;
      if (r.kind === 'ok') {
        this.alerts = r.alerts;
        this.skipped = r.skipped;
        if (this.failed > 0) this.o.log.info({ url: this.url, attempts: this.failed + 1, alerts: r.alerts.length }, 'alertmanager read-back succeeded');
        return;
      }
      this.failed++;
      if (this.failed === 1) this.o.log.warn({ url: this.url, error: r.error }, 'alertmanager read-back failed, retrying with backoff until the first window ends');
      await this.sleep(retryDelay(this.attempt++, this.o.backoff));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    }).finally(() => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wake = null;
    });
  }

  private async read(): Promise<Read> {
    const ac = new AbortController();
    this.inflight = ac;
    try {
      const answer = await exchange(this.o.fetch, this.query, { method: 'GET', headers: { accept: 'application/json' } }, ac, this.o.timeoutMs, this.o.maxBytes);
      if (answer.status !== 200) return { kind: 'failed', error: `HTTP ${answer.status}: ${loggedBody(answer.body, answer.truncated)}` };
      if (answer.truncated) return { kind: 'failed', error: `answer longer than ${this.o.maxBytes} bytes` };
      let listed: unknown;
      try {
        listed = JSON.parse(answer.body);
      } catch {
        return { kind: 'failed', error: `answer is not JSON: ${loggedBody(answer.body, false)}` };
      }
      if (!Array.isArray(listed)) return { kind: 'failed', error: 'answer is not a list of alerts' };
      const alerts: ReadAlert[] = [];
      let skipped = 0;
      for (const item of listed) {
        const a = ours(item, this.o.cluster, this.o.prefix);
        if (!a) continue;
        if (alerts.length < this.o.capacity) alerts.push(a);
        else skipped++;
      }
      return { kind: 'ok', alerts, skipped };
    } catch (e) {
      if (this.stopped) return { kind: 'stopped' };
      return { kind: 'failed', error: failureReason(e, ac) };
    } finally {
      this.inflight = null;
    }
  }
}

const isStringRecord = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** The alert as it was posted, if it is one of this cluster's with this aggregator's generatorURL. */
function ours(item: unknown, cluster: string, prefix: string): ReadAlert | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { labels, annotations, startsAt, generatorURL } = item as Record<string, unknown>;
  if (!isStringRecord(labels) || labels.cluster !== cluster) return undefined;
  if (typeof generatorURL !== 'string' || !generatorURL.startsWith(prefix)) return undefined;
  if (typeof startsAt !== 'string') return undefined;
  return { labels, annotations: isStringRecord(annotations) ? annotations : {}, startsAt, generatorURL };
}

export class AlertReadBack {
  private readonly readers: Reader[];
  private readonly decideAt: number;
  private decided = false;
  private resolved = 0;

  constructor(private readonly opts: AlertReadBackOptions) {
    if (!Number.isFinite(opts.windowMs) || opts.windowMs < 0) throw new Error(`alert read-back: windowMs must be a non-negative number, got ${opts.windowMs}`);
    if (!Number.isInteger(opts.capacity) || opts.capacity <= 0) throw new Error(`alert read-back: capacity must be a positive integer, got ${opts.capacity}`);
    this.decideAt = opts.startedAt + opts.windowMs;
    // Alertmanager's own filter keeps other clusters' alerts out of the answer; active=true is its
    // default, spelled out. Silenced and inhibited alerts are read too: they are firing, just muted, and a
    // stale one would fire again when its silence ends.
    const filter = `filter=${encodeURIComponent(`cluster=${JSON.stringify(opts.cluster)}`)}&active=true`;
    const endpoints = opts.urls.map((url) => [url, `${alertsEndpoint(url)}?${filter}`] as const);
    const readerOpts = {
      prefix: findingsUrlPrefix(opts.externalUrl),
      cluster: opts.cluster,
      timeoutMs: opts.timeoutMs,
      capacity: opts.capacity,
      maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES,
      backoff: opts.backoff ?? DEFAULT_BACKOFF,
      log: opts.log,
      fetch: opts.fetch ?? globalThis.fetch,
    };
    this.readers = endpoints.map(([url, query]) => new Reader(url, query, readerOpts));
  }

  /**
   * After every evaluation: at the first one at or after the end of the first window, resolves every
   * alert read whose labels are not among `holding()` (the findings firing or pending then), and stops
   * reading. Later calls do nothing.
   */
  evaluated(e: EvaluatedAt, holding: () => Iterable<Holding>): void {
    if (this.decided || e.monotonicAt < this.decideAt) return;
    this.decided = true;
    for (const r of this.readers) void r.stop();
    const still = new Set<string>();
    for (const h of holding()) still.add(fingerprint(h.labels));
    // Every Alertmanager gets the union: a member whose read failed most likely holds the same alerts.
    const stale = new Map<string, Alert>();
    let skipped = 0;
    for (const r of this.readers) {
      skipped += r.skipped;
      for (const a of r.alerts ?? []) {
        const key = fingerprint(a.labels);
        if (still.has(key) || stale.has(key)) continue;
        if (stale.size >= this.opts.capacity) {
          skipped++;
          continue;
        }
        stale.set(key, { ...a, endsAt: new Date(e.at).toISOString() });
      }
    }
    if (stale.size > 0) this.opts.sink.enqueue([...stale.values()]);
    this.resolved += stale.size;
    const read = this.readers.filter((r) => r.alerts !== null).map((r) => r.url);
    const unread = this.readers.filter((r) => r.alerts === null).map((r) => r.url);
    const fields = { resolved: stale.size, read, unread, ...(skipped > 0 ? { skipped, capacity: this.opts.capacity } : {}) };
    if (unread.length > 0 || skipped > 0) this.opts.log.warn(fields, 'alert read-back done, partly: alerts not read are left to resolve at their endsAt');
    else this.opts.log.info(fields, 'alert read-back done: alerts whose finding cleared while no aggregator ran are resolved');
  }

  stats(): ReadBackStats {
    return {
      failed: new Map(this.readers.map((r) => [r.url, r.failed])),
      found: new Map(this.readers.map((r) => [r.url, r.alerts ? r.alerts.length + r.skipped : null])),
      resolved: this.resolved,
    };
  }

  /** Stops every read, in flight or waiting for its backoff; nothing is resolved afterwards. */
  async close(): Promise<void> {
    this.decided = true;
    await Promise.all(this.readers.map((r) => r.stop()));
  }
}
