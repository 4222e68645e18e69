// One resource kept in step with the API server: list (in pages), then watch from the list's
// resourceVersion, resume each watch from the last resourceVersion seen (events or BOOKMARKs),
// relist on 410 Gone, and back off with jitter after errors. Objects are reduced to what netmatrix
// reads as they arrive (list pages and watch events alike); the store holds only that.
import type { KubeConfig, Watch } from '@kubernetes/client-node';
import type { Logger } from '../../common/logger.js';
import type { Backoff } from './backoff.js';
import type { WatchKubeConfig } from './kubeconfig.js';
import { getListPage, KubeApiError, type ListPage, type ListQuery } from './list.js';
import { objectKey, type WireObject } from './objects.js';

export { KubeApiError } from './list.js';

export interface ResourceSpec<T> {
  /** The plural name RBAC uses: 'nodes'. */
  readonly resource: string;
  /** The API group, '' for core. */
  readonly group: string;
  /** The namespace the list and watch are limited to; null for cluster scope or all namespaces. */
  readonly namespace: string | null;
  /** The collection's path, for list and watch: '/api/v1/nodes'. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** An object in wire form (a list item, a watch event's object) to what is kept of it. */
  readonly reduce: (o: WireObject) => T;
}

/** One request of a list: the library's KubeConfig and the page getter (list.ts; a test may wrap it). */
export type PageGetter = (path: string, query: ListQuery, signal: AbortSignal) => Promise<ListPage>;

export function pageGetter(kc: KubeConfig): PageGetter {
  return (path, query, signal) => getListPage(kc, path, query, signal);
}

export interface ResourceStats {
  /** Lists completed (each of one or more pages). */
  lists: number;
  /** List requests answered (pages), the first page of each list included. */
  pages: number;
  /** Continue tokens the server no longer had (410 on a page after the first): the list started over. */
  continueExpired: number;
  watches: number;
  /** Watches started again after one ended without an error (server close, disconnect, silence). */
  reconnects: number;
  /** 410 Gone answers (HTTP or a watch ERROR event), each followed by a relist. */
  gone: number;
  errors: number;
  events: number;
  bookmarks: number;
  /** Watches ended by us because they stayed silent past timeoutSeconds + slack. */
  silentWatches: number;
}

export interface ResourceState {
  readonly resource: string;
  readonly synced: boolean;
  readonly error?: string;
}

export interface ReflectorDeps {
  readonly watch: Watch;
  readonly watchConfig: WatchKubeConfig;
  readonly getPage: PageGetter;
  readonly log: Logger;
  readonly backoff: Backoff;
  /** Items asked per list request (`limit`). */
  readonly listPageSize: number;
  /** Deadline of one list request: this much, plus listTimeoutPerObjectMs for each object expected (below). */
  readonly listTimeoutMs: number;
  /**
   * Added to a list request's deadline per object the list is expected to hold: the most of the objects
   * stored, the last list's size and what the pages so far say (received + remainingItemCount). An API
   * server that ignores `limit` (the watch cache with resourceVersion=0) sends the whole list at once.
   */
  readonly listTimeoutPerObjectMs: number;
  /** A list request's deadline never exceeds this; it doubles after each list that ran out of time. */
  readonly listTimeoutMaxMs: number;
  /** Asked of the server; it ends the watch after this long, and we reconnect. */
  readonly watchTimeoutSeconds: number;
  /** How long past watchTimeoutSeconds a silent watch is given before we end it ourselves. */
  readonly watchSlackMs: number;
  /** A watch that ends this soon with no event is retried after a backoff, not at once. */
  readonly minWatchMs: number;
  readonly onChange: () => void;
  readonly onState: (s: ResourceState) => void;
}

type WatchEnd = 'closed' | 'gone' | 'silent' | 'stopped';

function statusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  const e = err as { statusCode?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode; // the library's Watch
  return undefined;
}

function reasonOf(err: unknown): string {
  return (err as Error | null)?.message?.split('\n')[0] ?? String(err);
}

/**
 * Where a list starts (docs/kubernetes.md "Lists"). `cache`: resourceVersion=0, any version the API
 * server's watch cache has, for the first list, when nothing has been seen that it could be older
 * than. `notOlderThan`: the last resourceVersion seen with resourceVersionMatch=NotOlderThan, for a
 * relist after a watch expired, so the view never goes back in time. `consistent`: no
 * resourceVersion, the most recent state, after a list whose resourceVersion the server refused (410).
 */
type ListFrom = 'cache' | 'notOlderThan' | 'consistent';

/** A list started over: a continue token expired (410 on a later page). */
class ContinueExpired extends Error {}

export class Reflector<T> {
  /** What is kept of each object, by namespace/name: the reduced form only. */
  readonly objects = new Map<string, T>();
  readonly stats: ResourceStats = { lists: 0, pages: 0, continueExpired: 0, watches: 0, reconnects: 0, gone: 0, errors: 0, events: 0, bookmarks: 0, silentWatches: 0 };
  /** The last resourceVersion seen: where the next watch resumes. */
  resourceVersion = '';
  /** A list has completed at least once. */
  synced = false;
  lastError: string | undefined;

  private stopped = false;
  private loop: Promise<void> | undefined;
  private listAbort: AbortController | undefined;
  private endWatch: ((why: 'silent' | 'stopped') => void) | undefined;
  private wake: (() => void) | undefined;
  /** A list is due (at start, after 410 Gone); the watch resumes from resourceVersion otherwise. */
  private needList = true;
  private listFrom: ListFrom = 'cache';
  /** Objects in the last completed list: part of the next list's deadline. */
  private lastListSize = 0;
  /** Lists in a row that ran out of time: each doubles the next one's deadline. */
  private listTimeouts = 0;
  /** 410s in a row with no watch event between them: past the first, relists wait a backoff. */
  private goneInARow = 0;

  constructor(
    readonly spec: ResourceSpec<T>,
    private readonly deps: ReflectorDeps,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listAbort?.abort();
    this.deps.watchConfig.close();
    this.endWatch?.('stopped');
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log, backoff } = this.deps;
    while (!this.stopped) {
      let verb: 'list' | 'watch' = 'list';
      try {
        if (this.needList) await this.relist();
        if (this.stopped) break;
        verb = 'watch';
        const started = Date.now();
        const eventsBefore = this.stats.events + this.stats.bookmarks;
        const end = await this.watchOnce();
        if (end === 'stopped' || this.stopped) break;
        const quiet = this.stats.events + this.stats.bookmarks === eventsBefore;
        if (!quiet) this.goneInARow = 0;
        if (end === 'gone') {
          await this.gone('watch');
          continue;
        }
        this.stats.reconnects++;
        log.debug({ resource: this.spec.resource, end, resourceVersion: this.resourceVersion }, 'kubernetes watch ended, resuming');
        // A server that closes every watch at once would otherwise be hammered in a tight loop.
        if (quiet && Date.now() - started < this.deps.minWatchMs) await this.sleep(backoff.next());
        else backoff.reset();
      } catch (err) {
        if (this.stopped) break;
        const status = statusOf(err);
        if (status === 410) {
          // A list whose resourceVersion is gone (an API server that ignores resourceVersionMatch
          // reads NotOlderThan as Exact): the next one asks for the most recent state.
          if (verb === 'list') this.listFrom = 'consistent';
          await this.gone(verb);
          continue;
        }
        this.stats.errors++;
        const delayMs = backoff.next();
        const where = this.spec.namespace === null ? 'cluster-wide' : `in namespace ${this.spec.namespace}`;
        const what = `${this.spec.resource}${this.spec.group ? `.${this.spec.group}` : ''}`;
        if (status === 403) {
          this.lastError = `forbidden: RBAC does not allow "${verb}" on ${what} ${where}`;
          log.error({ resource: this.spec.resource, group: this.spec.group, namespace: this.spec.namespace, verb, status, reason: reasonOf(err), retryInMs: delayMs }, 'kubernetes API forbidden: grant this verb on this resource to the aggregator');
        } else {
          this.lastError = `${verb} ${what} ${where} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${reasonOf(err)}`;
          log.warn({ resource: this.spec.resource, verb, status, reason: reasonOf(err), retryInMs: delayMs }, 'kubernetes API request failed, retrying');
        }
        this.deps.onState({ resource: this.spec.resource, synced: this.synced, error: this.lastError });
        await this.sleep(delayMs);
      }
    }
  }

  /**
   * 410 Gone: relist. After a watch, at once the first time, and after a backoff when watches keep
   * expiring with nothing delivered in between (a relist each time would hammer the API server).
   */
  private async gone(verb: 'list' | 'watch'): Promise<void> {
    this.stats.gone++;
    this.needList = true;
    let delayMs = 0;
    if (verb === 'watch') {
      this.listFrom = 'notOlderThan';
      this.goneInARow++;
      if (this.goneInARow > 1) delayMs = this.deps.backoff.next();
    }
    if (verb === 'watch') this.deps.log.info({ resource: this.spec.resource, retryInMs: delayMs }, 'kubernetes watch expired (410 Gone), relisting');
    else this.deps.log.info({ resource: this.spec.resource }, 'kubernetes list resourceVersion expired (410 Gone), listing the most recent state');
    if (delayMs > 0) await this.sleep(delayMs);
  }

  /** The query of a list's first page. */
  private firstPageQuery(): ListQuery {
    const q: Record<string, string | number | undefined> = { limit: this.deps.listPageSize, labelSelector: this.spec.labelSelector, fieldSelector: this.spec.fieldSelector };
    if (this.listFrom === 'notOlderThan' && this.resourceVersion !== '') {
      q['resourceVersion'] = this.resourceVersion;
      q['resourceVersionMatch'] = 'NotOlderThan';
    } else if (this.listFrom !== 'consistent') q['resourceVersion'] = '0';
    return q;
  }

  /** The deadline of one list request, for `expected` objects. */
  private listDeadlineMs(expected: number): number {
    const { listTimeoutMs, listTimeoutPerObjectMs, listTimeoutMaxMs } = this.deps;
    const ms = (listTimeoutMs + listTimeoutPerObjectMs * expected) * 2 ** Math.min(this.listTimeouts, 16);
    return Math.min(listTimeoutMaxMs, ms);
  }

  /** One list request with its deadline; a deadline that passes is a KubeApiError naming it. */
  private async page(query: ListQuery, expected: number): Promise<ListPage> {
    const ctrl = new AbortController();
    this.listAbort = ctrl;
    const deadlineMs = this.listDeadlineMs(expected);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, deadlineMs);
    try {
      const page = await this.deps.getPage(this.spec.path, query, ctrl.signal);
      this.stats.pages++;
      return page;
    } catch (err) {
      if (timedOut) {
        this.listTimeouts++;
        throw new KubeApiError(`no answer within ${deadlineMs} ms`, undefined, 'list');
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.listAbort = undefined;
    }
  }

  /**
   * The whole list, page by page (limit/continue), each item reduced as its page arrives; it replaces
   * the store at the end, so anything deleted while we were not watching disappears. A continue token
   * that expired (410 on a later page) starts the list over once at once; a second time in the same
   * list it is an error (backoff, counted).
   */
  private async relist(): Promise<void> {
    let restarted = false;
    for (;;) {
      try {
        await this.listOnce();
        return;
      } catch (err) {
        if (!(err instanceof ContinueExpired) || this.stopped) throw err;
        this.stats.continueExpired++;
        this.deps.log.info({ resource: this.spec.resource, restarted }, 'kubernetes list continue token expired (410 Gone), listing again from the first page');
        if (restarted) throw new KubeApiError('the continue token expired twice in one list', undefined, 'list');
        restarted = true;
      }
    }
  }

  private async listOnce(): Promise<void> {
    const next = new Map<string, T>();
    let query = this.firstPageQuery();
    let resourceVersion = '';
    let remaining = 0;
    let pages = 0;
    for (;;) {
      const expected = Math.max(this.objects.size, this.lastListSize, next.size + remaining, pages === 0 ? 0 : this.deps.listPageSize);
      let page: ListPage;
      try {
        page = await this.page(query, expected);
      } catch (err) {
        if (pages > 0 && statusOf(err) === 410) throw new ContinueExpired((err as Error).message);
        throw err;
      }
      if (this.stopped) return;
      pages++;
      for (const item of page.items) {
        const o = item as WireObject;
        next.set(objectKey(o), this.spec.reduce(o));
      }
      if (pages === 1) resourceVersion = page.resourceVersion;
      remaining = page.remainingItemCount ?? 0;
      if (page.continue === '') break;
      // Later pages carry the token only: it holds the resourceVersion and where the list stopped.
      query = { limit: this.deps.listPageSize, continue: page.continue, labelSelector: this.spec.labelSelector, fieldSelector: this.spec.fieldSelector };
    }
    this.objects.clear();
    for (const [k, v] of next) this.objects.set(k, v);
    this.lastListSize = next.size;
    this.resourceVersion = resourceVersion;
    this.needList = false;
    this.listFrom = 'notOlderThan';
    this.listTimeouts = 0;
    this.stats.lists++;
    const firstSync = !this.synced;
    this.synced = true;
    this.lastError = undefined;
    // Not while watches keep expiring: the relists after them keep backing off.
    if (this.goneInARow === 0) this.deps.backoff.reset();
    this.deps.log.debug({ resource: this.spec.resource, items: next.size, pages, resourceVersion, firstSync }, 'kubernetes list done');
    this.deps.onState({ resource: this.spec.resource, synced: true });
    this.deps.onChange();
  }

  /** Stores what is kept of an object; false when that is what was kept already (a change netmatrix does not read). */
  private put(o: WireObject): boolean {
    const key = objectKey(o);
    const reduced = this.spec.reduce(o);
    const old = this.objects.get(key);
    this.objects.set(key, reduced);
    return old === undefined || JSON.stringify(old) !== JSON.stringify(reduced);
  }

  /** One watch request, from this.resourceVersion until it ends; rejects on an error. */
  private watchOnce(): Promise<WatchEnd> {
    const { watch, watchConfig, watchTimeoutSeconds, watchSlackMs } = this.deps;
    this.stats.watches++;
    return new Promise<WatchEnd>((resolve, reject) => {
      let finished = false;
      let endedBy: WatchEnd | undefined;
      let failure: unknown;
      let controller: AbortController | undefined;
      let silence: NodeJS.Timeout | undefined;

      const abort = (): void => {
        if (controller) controller.abort();
        // Still waiting for the response headers: the library has not handed out its controller yet.
        else watchConfig.destroyConnections();
      };
      const finish = (err: unknown): void => {
        if (finished) return;
        finished = true;
        clearTimeout(silence);
        this.endWatch = undefined;
        if (this.stopped || endedBy === 'stopped') return resolve('stopped');
        if (endedBy === 'gone' || statusOf(err) === 410) return resolve('gone');
        if (endedBy === 'silent') return resolve('silent');
        if (failure !== undefined) return reject(failure);
        if (err !== null && err !== undefined && (err as Error).name !== 'AbortError') return reject(err);
        resolve('closed');
      };
      const armSilence = (): void => {
        clearTimeout(silence);
        silence = setTimeout(() => {
          this.stats.silentWatches++;
          this.deps.log.warn({ resource: this.spec.resource, silentMs: watchTimeoutSeconds * 1000 + watchSlackMs }, 'kubernetes watch silent past its timeout, restarting it');
          this.endWatch?.('silent');
        }, watchTimeoutSeconds * 1000 + watchSlackMs);
      };
      this.endWatch = (why) => {
        endedBy ??= why;
        abort();
        // A request still waiting for headers ends through its own callback once its socket is
        // destroyed; resolving here too keeps stop() from depending on that.
        if (!controller) finish(null);
      };

      const onEvent = (type: string, obj: unknown): void => {
        if (finished || endedBy !== undefined) return;
        armSilence();
        const o = obj as WireObject;
        let changed = false;
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            changed = this.put(o);
            break;
          case 'DELETED':
            changed = this.objects.delete(objectKey(o));
            break;
          case 'BOOKMARK':
            this.stats.bookmarks++;
            this.resourceVersion = o.metadata?.resourceVersion ?? this.resourceVersion;
            return;
          case 'ERROR': {
            const status = obj as { code?: unknown; message?: unknown };
            if (status.code === 410) endedBy = 'gone';
            else failure = new KubeApiError(typeof status.message === 'string' ? status.message : 'watch ERROR event', typeof status.code === 'number' ? status.code : undefined, 'watch');
            abort();
            return;
          }
          default:
            this.deps.log.debug({ resource: this.spec.resource, type }, 'kubernetes watch event of unknown type ignored');
            return;
        }
        this.stats.events++;
        this.resourceVersion = o.metadata?.resourceVersion ?? this.resourceVersion;
        if (changed) this.deps.onChange();
      };

      armSilence();
      const query: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: watchTimeoutSeconds,
        labelSelector: this.spec.labelSelector,
        fieldSelector: this.spec.fieldSelector,
      };
      watch.watch(this.spec.path, query, onEvent, finish).then(
        (ctrl) => {
          if (finished) return void ctrl.abort();
          controller = ctrl;
          if (this.lastError !== undefined && endedBy === undefined) {
            this.lastError = undefined;
            this.deps.onState({ resource: this.spec.resource, synced: this.synced });
          }
          if (endedBy !== undefined) ctrl.abort();
        },
        (err: unknown) => finish(err ?? new Error('watch failed')),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
