// Posts alerts to Alertmanager's v2 API. Every URL (each member of an HA
// cluster: Alertmanager deduplicates between members) has its own bounded
// queue and send loop, so one member being down delays nothing for the others.
// The queue is keyed by the alert's label set: a newer state of an alert
// replaces the queued one, so periodic resends during an outage can't grow it.
// Nothing is dropped silently: only an alert Alertmanager refuses as invalid
// (400) when posted alone is dropped, counted and logged with the reason;
// every other failure is retried with backoff and counted as failed.
import type { Logger } from '../../common/logger.js';
import { DEFAULT_BACKOFF, exchange, failureReason, loggedBody, retryDelay, type RetryBackoff } from './request.js';

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
  readonly backoff?: RetryBackoff;
  readonly log: Logger;
  readonly fetch?: typeof fetch;
}

const DEFAULT_BATCH_SIZE = 64;
/** Enough of Alertmanager's error body to say what it refused, without flooding the log. */
const MAX_LOGGED_BODY = 512;
/** Bytes of a response read at most (Alertmanager answers a post with an empty body or a short error). */
const MAX_READ_BODY = 4096;

interface Entry {
  readonly key: string;
  readonly alert: Alert;
}

type Retry = { kind: 'retry'; status?: number; error?: string; body?: string };
/** What one post got: 2xx, 400/413 (about the alerts in it), anything else (about Alertmanager), or close(). */
type Outcome = { kind: 'ok' } | { kind: 'refused'; status: number; body: string } | Retry | { kind: 'closed' };
/** What became of a batch: every alert sent or dropped, or some left for after the backoff. */
type Delivery = { kind: 'done' } | Retry | { kind: 'closed' };
const DONE: Delivery = { kind: 'done' };

/** The identity of an alert for Alertmanager: its label set, order-independent. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `<url>/api/v2/alerts`, keeping a path prefix (`http://h:9093/am/`) with or without its trailing slash. */
export function alertsEndpoint(raw: string): string {
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
    private readonly opts: { timeoutMs: number; capacity: number; batchSize: number; backoff: RetryBackoff; log: Logger; fetch: typeof fetch },
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
      const batch: Entry[] = [];
      for (const e of this.queue.values()) {
        if (batch.length === this.opts.batchSize) break;
        batch.push(e);
      }
      const result = await this.deliver(batch);
      if (result.kind === 'closed') return;
      if (result.kind === 'done') {
        if (this.failing) this.opts.log.info({ url: this.url, attempts: this.attempt + 1 }, 'alertmanager reachable again');
        this.failing = false;
        this.attempt = 0;
        continue;
      }
      if (!this.failing) {
        this.failing = true;
        this.opts.log.warn({ url: this.url, status: result.status, error: result.error, body: result.body, queued: this.queue.size }, 'alertmanager post failed, retrying with backoff');
      }
      await this.sleep(retryDelay(this.attempt++, this.opts.backoff));
    }
  }

  /**
   * Posts `batch`. Only an alert Alertmanager calls invalid (400), alone in its post, is dropped: a
   * batch refused with 400 or 413 is split in halves until the bad alert is alone, so it can't take the
   * others (resolved ones included) with it. Everything else is retried: 401/403/404 (a wrong URL or
   * credentials, fixed by a person meanwhile), 408/429/5xx, network errors, deadlines, and a single
   * alert still too large.
   */
  private async deliver(batch: readonly Entry[]): Promise<Delivery> {
    const outcome = await this.post(batch);
    switch (outcome.kind) {
      case 'closed':
        return outcome;
      case 'ok':
        this.sent += batch.length;
        this.remove(batch);
        return DONE;
      case 'retry':
        this.failed += batch.length;
        return outcome;
      case 'refused': {
        if (batch.length > 1) return this.split(batch, outcome.status);
        this.failed++;
        if (outcome.status === 413) return { kind: 'retry', status: 413, body: outcome.body };
        this.dropped++;
        this.remove(batch);
        this.opts.log.error({ url: this.url, status: outcome.status, labels: batch[0]!.alert.labels, body: outcome.body }, 'alertmanager refused an alert as invalid, dropping it');
        return DONE;
      }
    }
  }

  private async split(batch: readonly Entry[], status: number): Promise<Delivery> {
    this.opts.log.debug({ url: this.url, status, alerts: batch.length }, 'alertmanager refused a batch, posting it in halves');
    const mid = Math.ceil(batch.length / 2);
    const first = await this.deliver(batch.slice(0, mid));
    if (first.kind === 'closed') return first;
    // One alert too large must not hold back the rest; any other failure is the whole Alertmanager's, so
    // the rest waits for the backoff too (counted failed: it was not delivered).
    if (first.kind === 'retry' && first.status !== 413) {
      this.failed += batch.length - mid;
      return first;
    }
    const second = await this.deliver(batch.slice(mid));
    if (second.kind === 'closed') return second;
    return first.kind === 'retry' ? first : second;
  }

  /** Removes posted entries unless a newer state replaced them meanwhile (that one still has to go). */
  private remove(batch: readonly Entry[]): void {
    for (const e of batch) if (this.queue.get(e.key) === e) this.queue.delete(e.key);
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
    const ac = new AbortController();
    this.inflight = ac;
    try {
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch.map((e) => e.alert)) };
      const answer = await exchange(this.opts.fetch, this.endpoint, init, ac, this.opts.timeoutMs, MAX_READ_BODY);
      if (answer.status >= 200 && answer.status < 300) return { kind: 'ok' };
      const body = loggedBody(answer.body, answer.truncated, MAX_LOGGED_BODY);
      if (answer.status === 400 || answer.status === 413) return { kind: 'refused', status: answer.status, body };
      return { kind: 'retry', status: answer.status, body };
    } catch (e) {
      if (this.closed) return { kind: 'closed' };
      return { kind: 'retry', error: failureReason(e, ac) };
    } finally {
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
