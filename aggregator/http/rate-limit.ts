// The HTTP rate limit: @fastify/rate-limit keys each request by client (the
// IPv4 address, or the IPv6 /64, which is what one host or household gets) and
// this module's store counts weighted requests in a one-minute window per
// client: --http-rate-limit units a minute, a request costing its route's
// weight. Expensive answers weigh more, so one client cannot monopolize the
// aggregator with full matrices while lighter calls still fit in the budget.
import rateLimit, { type CreateRateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What one request costs, in requests of --http-rate-limit; routes not listed cost 1. 0: never limited. */
export const ROUTE_WEIGHTS: Readonly<Record<string, number>> = {
  // The kubelet's probes: a noisy neighbour on the node's address must not fail them.
  '/healthz': 0,
  '/readyz': 0,
  // Computed per request (nodes × servers) / read from the whole matrix once per evaluation.
  '/api/v1/dns': 2,
  '/api/v1/matrix/zones': 2,
};
/** A cell object per node pair: ~115 MB at 1,000 nodes. */
export const FULL_MATRIX_WEIGHT = 10;
/** A letter per pair, objects for the pairs that are not ok. */
export const COMPACT_MATRIX_WEIGHT = 2;

/** Never limited, whatever the limit. */
export const UNLIMITED_ROUTES: ReadonlySet<string> = new Set(Object.keys(ROUTE_WEIGHTS).filter((r) => ROUTE_WEIGHTS[r] === 0));

export function requestWeight(route: string | undefined, query: unknown): number {
  if (route === '/api/v1/matrix') return (query as { format?: unknown } | undefined)?.format === 'compact' ? COMPACT_MATRIX_WEIGHT : FULL_MATRIX_WEIGHT;
  return (route !== undefined ? ROUTE_WEIGHTS[route] : undefined) ?? 1;
}

interface Window {
  start: number;
  used: number;
  /** A request was refused in this window (so it is logged once per window). */
  refused: boolean;
}

export interface WindowOptions {
  readonly now: () => number;
  /** Most clients tracked at once; past it the least recently seen is forgotten (and starts afresh). */
  readonly maxClients: number;
  /** The first refusal of a client in its window. */
  readonly onFirstRefusal?: (client: string) => void;
}

/**
 * Weighted requests per client in fixed windows. A request that does not fit
 * what is left is refused and takes nothing, so a client over the limit for a
 * full matrix can still make lighter calls with what remains. O(1) per
 * request: a Map in least-recently-used order.
 */
export class WeightedWindows {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly o: WindowOptions) {}

  get clients(): number {
    return this.windows.size;
  }

  /** Takes `weight` from `client`'s window: `current` is its use with this request, over `max` when refused. */
  take(client: string, weight: number, windowMs: number, max: number): { current: number; ttl: number } {
    const now = this.o.now();
    let w = this.windows.get(client);
    if (w) this.windows.delete(client);
    if (!w || now - w.start >= windowMs) w = { start: now, used: 0, refused: false };
    this.windows.set(client, w);
    if (this.windows.size > this.o.maxClients) this.windows.delete(this.windows.keys().next().value!);
    const ttl = w.start + windowMs - now;
    // A weight over the whole limit would never pass: it costs the limit at most.
    const cost = Math.min(weight, max);
    if (w.used + cost <= max) {
      w.used += cost;
      return { current: w.used, ttl };
    }
    if (!w.refused) {
      w.refused = true;
      this.o.onFirstRefusal?.(client);
    }
    return { current: w.used + cost, ttl };
  }
}

/** @fastify/rate-limit's store interface over shared windows; each child (one per weight) takes its weight. */
function storeOver(windows: WeightedWindows) {
  return class WeightedStore {
    private readonly weight: number;
    constructor(params: { weight?: number } = {}) {
      this.weight = params.weight ?? 1;
    }
    incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
      cb(null, windows.take(key, this.weight, timeWindow, max));
    }
    child(params: { weight?: number }): WeightedStore {
      return new WeightedStore(params);
    }
  };
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

export interface RateLimitOptions extends WindowOptions {
  readonly perMinute: number;
}

/** Registers @fastify/rate-limit on `app` (no route hooks: the guard calls it first thing) and returns the check. */
export async function addRateLimit(app: FastifyInstance<any, any, any, any, any>, o: RateLimitOptions): Promise<(req: FastifyRequest) => Promise<RateDecision>> {
  const windows = new WeightedWindows(o);
  await app.register(rateLimit, {
    global: false,
    max: o.perMinute,
    timeWindow: 60_000,
    // The default key: the IPv4 address (also when IPv4-mapped), the IPv6 /64.
    ipv6Subnet: 64,
    store: storeOver(windows) as unknown as CreateRateLimitOptions['store'],
  });
  const byWeight = new Map<number, ReturnType<FastifyInstance['createRateLimit']>>();
  return async (req) => {
    const weight = requestWeight(req.routeOptions.url, req.query);
    if (weight === 0) return { allowed: true };
    let check = byWeight.get(weight);
    if (!check) {
      // The store's child for this weight; `weight` rides along in the options the plugin merges.
      check = app.createRateLimit({ weight } as CreateRateLimitOptions);
      byWeight.set(weight, check);
    }
    const r = await check(req);
    if (r.isAllowed || !r.isExceeded) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, r.ttlInSeconds) };
  };
}
