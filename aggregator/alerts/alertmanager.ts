// Posts alerts to Alertmanager's v2 API. Every URL (each member of an HA
// cluster: Alertmanager deduplicates between members) has its own bounded
// queue and send loop, so one member being down delays nothing for the others.
// The queue is keyed by the alert's label set: a newer state of an alert
// replaces the queued one, so periodic resends during an outage can't grow it.
import type { Logger } from '../../common/logger.js';

/** An Alertmanager v2 postable alert. */
export interface Alert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

export interface SenderStats {
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
}

export interface AlertmanagerSenderOptions {
  readonly urls: readonly string[];
  /** Deadline of one POST, response body included. */
  readonly timeoutMs: number;
  /** Alerts queued per URL at most; past it the oldest is dropped. */
  readonly capacity: number;
  /** Alerts per POST at most (default 64). */
  readonly batchSize?: number;
  /** Retry delay after a failed POST: initialMs doubling up to maxMs, with jitter (default 500ms..30s). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly log: Logger;
  readonly fetch?: typeof fetch;
}

const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };
/** Enough of Alertmanager's error body to say what it rejected, without flooding the log. */
const MAX_LOGGED_BODY = 512;

interface Entry {
  readonly key: string;
  readonly alert: Alert;
}

type Outcome = { kind: 'ok' } | { kind: 'retry'; status?: number; error?: string } | { kind: 'rejected'; status: number; body: string } | { kind: 'closed' };

/** The identity of an alert for Alertmanager: its label set, order-independent. */
function fingerprint(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `<url>/api/v2/alerts`, keeping a path prefix (`http://h:9093/am/`) with or without its trailing slash. */
function alertsEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`alertmanager URL ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`alertmanager URL ${JSON.stringify(raw)} must be http:// or https://, not ${url.protocol}//`);
  }
  // fetch refuses URLs with credentials; a query or fragment would be silently lost by the join below.
  if (url.username !== '' || url.password !== '') throw new Error(`alertmanager URL ${JSON.stringify(raw)} must not contain credentials`);
  if (url.search !== '' || url.hash !== '') throw new Error(`alertmanager URL ${JSON.stringify(raw)} must not have a query or fragment`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return new URL('api/v2/alerts', url).href;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`alertmanager sender: ${name} must be a positive number, got ${value}`);
}

/** One URL: its queue, counters and send loop. */
class Target {
  readonly queue = new Map<string, Entry>();
  sent = 0;
  failed = 0;
  dropped = 0;
  /** Logged once per overflow episode, re-armed when the queue drains. */
  private overflowLogged = false;
  /** In a streak of failed posts: warn at its start, info at its end, quiet in between. */
  private failing = false;
  private attempt = 0;
  private closed = false;
  /** Resolves the idle wait: new alerts and close() end it. */
  private wake: (() => void) | null = null;
  /** Resolves the backoff sleep: only its timer and close() end it, or resends would defeat the backoff. */
  private wakeSleeper: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inflight: AbortController | null = null;
  readonly done: Promise<void>;

  constructor(
    readonly url: string,
    private readonly endpoint: string,
    private readonly opts: { timeoutMs: number; capacity: number; batchSize: number; backoff: { initialMs: number; maxMs: number }; log: Logger; fetch: typeof fetch },
  ) {
    this.done = this.loop();
  }

  put(alert: Alert): void {
    const key = fingerprint(alert.labels);
    // Delete first so a replaced alert moves to the young end: the oldest is the least recently updated.
    const replaced = this.queue.delete(key);
    if (!replaced && this.queue.size >= this.opts.capacity) {
      const oldest = this.queue.keys().next();
      if (!oldest.done) this.queue.delete(oldest.value);
      this.dropped++;
      if (!this.overflowLogged) {
        this.overflowLogged = true;
        this.opts.log.warn({ url: this.url, capacity: this.opts.capacity }, 'alertmanager queue full, dropping oldest alerts');
      }
    }
    this.queue.set(key, { key, alert });
    this.wake?.();
  }

  close(): Promise<void> {
    this.closed = true;
    this.inflight?.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wake?.();
    this.wakeSleeper?.();
    return this.done;
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      if (this.queue.size === 0) {
        this.overflowLogged = false;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      const batch = [...this.queue.values()].slice(0, this.opts.batchSize);
      const outcome = await this.post(batch);
      switch (outcome.kind) {
        case 'closed':
          return;
        case 'ok':
          this.sent += batch.length;
          this.remove(batch);
          if (this.failing) this.opts.log.info({ url: this.url, attempts: this.attempt + 1 }, 'alertmanager reachable again');
          this.failing = false;
          this.attempt = 0;
          break;
        case 'rejected':
          // Alertmanager says the alerts are invalid: sending them again can't help.
          this.failed += batch.length;
          this.dropped += batch.length;
          this.remove(batch);
          this.opts.log.error({ url: this.url, status: outcome.status, alerts: batch.length, body: outcome.body }, 'alertmanager rejected alerts, dropping them');
          break;
        case 'retry': {
          this.failed += batch.length;
          if (!this.failing) {
            this.failing = true;
            this.opts.log.warn({ url: this.url, status: outcome.status, error: outcome.error, queued: this.queue.size }, 'alertmanager post failed, retrying with backoff');
          }
          await this.sleep(this.delay(this.attempt++));
          break;
        }
      }
    }
  }

  /** Removes posted entries unless a newer state replaced them meanwhile (that one still has to go). */
  private remove(batch: readonly Entry[]): void {
    for (const e of batch) if (this.queue.get(e.key) === e) this.queue.delete(e.key);
  }

  /** Exponential, with jitter in [delay/2, delay] so members of a fleet don't retry in step. */
  private delay(attempt: number): number {
    const { initialMs, maxMs } = this.opts.backoff;
    const d = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    return d / 2 + (Math.random() * d) / 2;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeSleeper = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    }).finally(() => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.wakeSleeper = null;
    });
  }

  private async post(batch: readonly Entry[]): Promise<Outcome> {
    // An own timer rather than AbortSignal.timeout: that one can't be cleared and would outlive close().
    const ac = new AbortController();
    this.inflight = ac;
    const deadline = setTimeout(() => ac.abort(new Error(`timed out after ${this.opts.timeoutMs}ms`)), this.opts.timeoutMs);
    deadline.unref();
    try {
      const res = await this.opts.fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map((e) => e.alert)),
        signal: ac.signal,
      });
      // Read the body on every path: it releases the connection, and on an error it says why.
      const body = await res.text();
      if (res.ok) return { kind: 'ok' };
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        return { kind: 'rejected', status: res.status, body: body.length > MAX_LOGGED_BODY ? `${body.slice(0, MAX_LOGGED_BODY)}…` : body };
      }
      return { kind: 'retry', status: res.status };
    } catch (e) {
      if (this.closed) return { kind: 'closed' };
      const reason: unknown = ac.signal.aborted ? ac.signal.reason : e;
      const cause = (reason as { cause?: { message?: unknown } }).cause?.message;
      return { kind: 'retry', error: [(reason as Error).message, cause].filter((s) => typeof s === 'string' && s !== '').join(': ') };
    } finally {
      clearTimeout(deadline);
      this.inflight = null;
    }
  }
}

export class AlertmanagerSender {
  private readonly targets = new Map<string, Target>();
  private closed = false;

  constructor(opts: AlertmanagerSenderOptions) {
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    const backoff = opts.backoff ?? DEFAULT_BACKOFF;
    checkPositive('timeoutMs', opts.timeoutMs);
    checkPositive('capacity', opts.capacity);
    checkPositive('batchSize', batchSize);
    checkPositive('backoff.initialMs', backoff.initialMs);
    checkPositive('backoff.maxMs', backoff.maxMs);
    if (backoff.maxMs < backoff.initialMs) throw new Error(`alertmanager sender: backoff.maxMs (${backoff.maxMs}) is below backoff.initialMs (${backoff.initialMs})`);
    // Validate every URL before starting any loop, so a bad one leaves nothing running.
    const endpoints = opts.urls.map((url) => [url, alertsEndpoint(url)] as const);
    for (const [url] of endpoints) {
      if (endpoints.filter(([u]) => u === url).length > 1) throw new Error(`alertmanager URL ${JSON.stringify(url)} is listed twice`);
    }
    const targetOpts = {
      timeoutMs: opts.timeoutMs,
      capacity: opts.capacity,
      batchSize,
      backoff,
      log: opts.log,
      fetch: opts.fetch ?? globalThis.fetch,
    };
    for (const [url, endpoint] of endpoints) this.targets.set(url, new Target(url, endpoint, targetOpts));
  }

  /** Queues each alert for every URL. Never blocks; past capacity the oldest queued alerts are dropped. */
  enqueue(alerts: readonly Alert[]): void {
    if (this.closed) return;
    for (const target of this.targets.values()) for (const a of alerts) target.put(a);
  }

  stats(): ReadonlyMap<string, SenderStats> {
    const out = new Map<string, SenderStats>();
    for (const [url, t] of this.targets) out.set(url, { sent: t.sent, failed: t.failed, dropped: t.dropped, queued: t.queue.size });
    return out;
  }

  /** Stops every loop and aborts posts in flight; what is still queued is not sent. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.targets.values()].map((t) => t.close()));
  }
}
