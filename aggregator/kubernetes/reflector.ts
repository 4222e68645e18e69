// One resource kept in step with the API server: list, then watch from the list's resourceVersion,
// resume each watch from the last resourceVersion seen (events or BOOKMARKs), relist on 410 Gone,
// and back off with jitter after errors. The store holds objects in their wire (JSON) form.
import type { ConfigurationOptions, ObservableMiddleware, RequestContext, ResponseContext, Watch } from '@kubernetes/client-node';
// The typed API's per-call middleware returns the library's own Observable stub, which the package
// root does not re-export.
import { of } from '@kubernetes/client-node/dist/gen/rxjsStub.js';
import type { Logger } from '../../common/logger.js';
import type { Backoff } from './backoff.js';
import type { WatchKubeConfig } from './kubeconfig.js';
import { objectKey, type WireObject } from './objects.js';

export interface ResourceListing {
  readonly metadata?: { readonly resourceVersion?: string | undefined } | undefined;
  readonly items: readonly unknown[];
}

export interface ResourceSpec {
  /** The plural name RBAC uses: 'nodes'. */
  readonly resource: string;
  /** The API group, '' for core. */
  readonly group: string;
  /** The namespace the list and watch are limited to; null for cluster scope or all namespaces. */
  readonly namespace: string | null;
  readonly watchPath: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** One typed list call of the library; `options` carries the signal that ends it at its deadline. */
  readonly list: (options: ConfigurationOptions) => Promise<ResourceListing>;
  /** Typed list items back to the wire form that watch events have. */
  readonly toWire: (item: unknown) => WireObject;
}

export interface ResourceStats {
  lists: number;
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
  readonly log: Logger;
  readonly backoff: Backoff;
  readonly listTimeoutMs: number;
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

/** An error with the HTTP status the API answered, whichever way the library reported it. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly verb: 'list' | 'watch',
  ) {
    super(message);
  }
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode; // the library's Watch
  if (typeof e?.code === 'number') return e.code; // the generated API's ApiException
  return undefined;
}

function reasonOf(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  if (typeof body === 'string' && body !== '') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through to the error's own message
    }
  }
  return (err as Error | null)?.message?.split('\n')[0] ?? String(err);
}

/** Per-call options that put the list's deadline on its request (the generated API has no timeout). */
function signalMiddleware(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return of(ctx);
    },
    post: (ctx: ResponseContext) => of(ctx),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export class Reflector {
  readonly objects = new Map<string, WireObject>();
  readonly stats: ResourceStats = { lists: 0, watches: 0, reconnects: 0, gone: 0, errors: 0, events: 0, bookmarks: 0, silentWatches: 0 };
  resourceVersion = '';
  /** A list has completed at least once. */
  synced = false;
  lastError: string | undefined;

  private stopped = false;
  private loop: Promise<void> | undefined;
  private listAbort: AbortController | undefined;
  private endWatch: ((why: 'silent' | 'stopped') => void) | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly spec: ResourceSpec,
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
        if (this.resourceVersion === '') await this.relist();
        if (this.stopped) break;
        verb = 'watch';
        const started = Date.now();
        const eventsBefore = this.stats.events + this.stats.bookmarks;
        const end = await this.watchOnce();
        if (end === 'stopped' || this.stopped) break;
        if (end === 'gone') {
          this.stats.gone++;
          this.resourceVersion = '';
          log.info({ resource: this.spec.resource }, 'kubernetes watch expired (410 Gone), relisting');
          continue;
        }
        this.stats.reconnects++;
        log.debug({ resource: this.spec.resource, end, resourceVersion: this.resourceVersion }, 'kubernetes watch ended, resuming');
        const quiet = this.stats.events + this.stats.bookmarks === eventsBefore;
        // A server that closes every watch at once would otherwise be hammered in a tight loop.
        if (quiet && Date.now() - started < this.deps.minWatchMs) await this.sleep(backoff.next());
        else backoff.reset();
      } catch (err) {
        if (this.stopped) break;
        const status = statusOf(err);
        if (status === 410) {
          this.stats.gone++;
          this.resourceVersion = '';
          log.info({ resource: this.spec.resource, verb }, 'kubernetes watch expired (410 Gone), relisting');
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

  private async relist(): Promise<void> {
    const ctrl = new AbortController();
    this.listAbort = ctrl;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, this.deps.listTimeoutMs);
    this.stats.lists++;
    let listing: ResourceListing;
    try {
      listing = await this.spec.list(signalMiddleware(ctrl.signal));
    } catch (err) {
      if (timedOut) throw new KubeApiError(`no answer within ${this.deps.listTimeoutMs} ms`, undefined, 'list');
      throw err;
    } finally {
      clearTimeout(timer);
      this.listAbort = undefined;
    }
    if (this.stopped) return;
    this.objects.clear();
    for (const item of listing.items) {
      const o = this.spec.toWire(item);
      this.objects.set(objectKey(o), o);
    }
    this.resourceVersion = listing.metadata?.resourceVersion ?? '';
    const firstSync = !this.synced;
    this.synced = true;
    this.lastError = undefined;
    this.deps.backoff.reset();
    this.deps.log.debug({ resource: this.spec.resource, items: this.objects.size, resourceVersion: this.resourceVersion, firstSync }, 'kubernetes list done');
    this.deps.onState({ resource: this.spec.resource, synced: true });
    this.deps.onChange();
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
        switch (type) {
          case 'ADDED':
          case 'MODIFIED':
            this.objects.set(objectKey(o), o);
            break;
          case 'DELETED':
            this.objects.delete(objectKey(o));
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
        this.deps.onChange();
      };

      armSilence();
      const query: Record<string, string | number | boolean | undefined> = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: watchTimeoutSeconds,
        labelSelector: this.spec.labelSelector,
        fieldSelector: this.spec.fieldSelector,
      };
      watch.watch(this.spec.watchPath, query, onEvent, finish).then(
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
