// What every HTTP request passes before its route runs, cheapest first: the
// rate limit per client (rate-limit.ts: weighted, per IPv4 address or IPv6
// /64), the URL length bound, then the API bearer token. Refusals are in the
// error catalogue's shape, counted and logged. /healthz and /readyz are never
// limited (a noisy neighbour on the node's address must not fail the kubelet's
// probes); they and /metrics stay open without the token (kubelet and
// Prometheus hold no API token). Everything else, /docs/json and unknown
// routes included, needs the token when one is set.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Logger } from '../../common/logger.js';
import { bearerToken, TokenCheck } from '../../common/tls.js';
import { apiError, ERRORS, type ApiError, type ErrorCode } from './errors.js';
import { addRateLimit, UNLIMITED_ROUTES } from './rate-limit.js';

export const HTTP_REFUSE_REASONS = ['unauthorized', 'rate_limited', 'url_too_long'] as const;
export type HttpRefuseReason = (typeof HTTP_REFUSE_REASONS)[number];

/** Open without the API token. */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);
export { UNLIMITED_ROUTES };

export interface GuardOptions {
  /** Bearer token every route but OPEN_ROUTES requires; undefined: none. */
  readonly apiToken?: string;
  /** Requests per minute per client (IPv4 address, IPv6 /64), weighted by route; undefined: no limit. */
  readonly rateLimitPerMinute?: number;
  /** Most clients the rate limit tracks at once (default 10,000). */
  readonly rateLimitClients?: number;
  /** Longest request URL (path and query) in characters. */
  readonly maxUrlLength: number;
  readonly now: () => number;
  readonly log: Logger;
  readonly onRefused?: (reason: HttpRefuseReason) => void;
}

/** Adds the guard to `app`; call before the routes are registered, so their OpenAPI entries list its errors. */
export async function addGuard(app: FastifyInstance<any, any, any, any, any>, o: GuardOptions): Promise<void> {
  const token = o.apiToken !== undefined ? new TokenCheck(o.apiToken) : undefined;
  const limit =
    o.rateLimitPerMinute !== undefined
      ? await addRateLimit(app, {
          perMinute: o.rateLimitPerMinute,
          now: o.now,
          maxClients: o.rateLimitClients ?? 10_000,
          onFirstRefusal: (client) => o.log.warn({ client, limitPerMinute: o.rateLimitPerMinute }, 'HTTP client over --http-rate-limit: refused until its minute is over'),
        })
      : undefined;

  const refuse = (reply: FastifyReply, reason: HttpRefuseReason, e: ApiError, headers: Record<string, string> = {}) => {
    o.onRefused?.(reason);
    return reply.code(e.statusCode).headers(headers).type('application/json').send(e.body());
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const route: string | undefined = req.routeOptions.url;
    if (limit) {
      const d = await limit(req);
      if (!d.allowed) return refuse(reply, 'rate_limited', apiError('RATE_LIMITED', o.rateLimitPerMinute!), { 'retry-after': String(d.retryAfterSeconds) });
    }
    if (req.url.length > o.maxUrlLength) {
      o.log.warn({ client: req.ip, length: req.url.length, limit: o.maxUrlLength }, 'HTTP request URL too long');
      return refuse(reply, 'url_too_long', apiError('URL_TOO_LONG', req.url.length, o.maxUrlLength));
    }
    if (token && !(route !== undefined && OPEN_ROUTES.has(route))) {
      const presented = bearerToken(req.headers.authorization);
      if (presented === undefined || !token.matches(presented)) {
        const why = presented === undefined ? 'missing' : 'wrong';
        // Never the header itself: a wrong token may be a right one for something else.
        o.log.warn({ client: req.ip, method: req.method, route: route ?? null, why }, 'HTTP request without a valid API token');
        const challenge = why === 'missing' ? 'Bearer realm="netmatrix"' : 'Bearer realm="netmatrix", error="invalid_token"';
        return refuse(reply, 'unauthorized', apiError('UNAUTHORIZED'), { 'www-authenticate': challenge });
      }
    }
    return undefined;
  });

  // The OpenAPI document says which routes the guard may refuse, and how.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const codes: ErrorCode[] = ['URL_TOO_LONG'];
    if (!UNLIMITED_ROUTES.has(url)) codes.push('RATE_LIMITED');
    if (!OPEN_ROUTES.has(url)) codes.push('UNAUTHORIZED');
    const response: Record<number, unknown> = {};
    for (const c of codes) response[ERRORS[c].status] = Type.Ref('Error', { description: c });
    route.schema = { ...route.schema, response: { ...response, ...(route.schema?.response as object | undefined) } };
  });
}
