// The HTTP API, built by a factory so tests use app.inject() and real servers
// alike. One plugin per route group; every error leaves through one handler in
// the shape of the error catalogue.
import compress from '@fastify/compress';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { PairKind } from '../../common/vocabulary.js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { FindingsEngine } from '../findings/engine.js';
import type { MatrixQuery } from '../matrix/query.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { RemoveNode } from '../nodes/removal.js';
import { registerCacheMetrics } from './cache-metrics.js';
import { compressPluginOptions } from './compression.js';
import { ApiError, apiError, ErrorBody } from './errors.js';
import { EvaluationCache } from './evaluation-cache.js';
import { addGuard, type HttpRefuseReason } from './guard.js';
import { NoQuerystring } from './schemas.js';
import type { CniAssessment, CniNodeDetail } from '../cni/assess.js';
import type { DnsAssessment } from '../dns/assess.js';
import type { PolicyView } from '../kubernetes/apply.js';
import { cniRoutes } from './routes/cni.js';
import { policyRoutes } from './routes/policies.js';
import { dnsRoutes } from './routes/dns.js';
import { findingRoutes } from './routes/findings.js';
import { healthRoutes } from './routes/health.js';
import { matrixRoutes } from './routes/matrix.js';
import { metricsRoutes } from './routes/metrics.js';
import { nodeRoutes } from './routes/nodes.js';
import { pairRoutes } from './routes/pairs.js';

export interface ApiDeps {
  readonly nodes: NodeRegistry;
  /** Removes a node from the registry and every store (DELETE /api/v1/nodes/{name}). */
  readonly removeNode: RemoveNode;
  readonly query: MatrixQuery;
  readonly findings: FindingsEngine;
  /** DNS health now (GET /api/v1/dns). */
  readonly dns: () => DnsAssessment;
  /** CNI now (GET /api/v1/cni, /api/v1/cni/{node}). */
  readonly cni: () => { readonly assessment: CniAssessment; detail(node: string): CniNodeDetail | undefined };
  /** NetworkPolicies from the Kubernetes API, matched against the agent pods. */
  readonly networkPolicies: () => { readonly kubernetes: boolean; readonly agentPods: { readonly namespace: string; readonly labels: Readonly<Record<string, string>> }; readonly policies: readonly PolicyView[] };
  /** When the last evaluation ran (ms), null before the first. */
  readonly evaluatedAt: () => number | null;
  /** Evaluations so far: a body cached for one is served until the next (the ETag's sequence number). */
  readonly evaluations: () => number;
  /** --probe-kinds: the matrix's default kind is the first of icmp, tcp, http, node planned. */
  readonly probeKinds: readonly PairKind[];
  /** Bound of the evaluation cache (bodies and compressed variants); default RESPONSE_CACHE_BYTES. */
  readonly responseCacheBytes?: number;
  readonly clock: Clock;
  readonly windowMs: number;
  readonly registry: Registry;
  readonly log: Logger;
  /** undefined when ready, else why not. */
  readonly notReady: () => string | undefined;
  readonly version: string;
  /** Bearer token every route but /healthz, /readyz and /metrics requires; undefined: the API is open and read-only. */
  readonly apiToken?: string;
  /** Requests per minute per client address; undefined: no limit. */
  readonly rateLimitPerMinute?: number;
  /** Called for every request the guard refuses (for metrics). */
  readonly onRefused?: (reason: HttpRefuseReason) => void;
}

/** Longest request URL, path and query: a few node names and parameters fit many times over. */
export const MAX_URL_LENGTH = 2048;

/**
 * Bytes of response bodies (and their compressed variants) kept for the
 * current evaluation. At 1,000 nodes a full matrix is 127 MB of JSON and a
 * healthy compact form 1 MB (npm run bench -- matrix-api): this keeps every
 * compact form and zone summary and one full form of a cluster that large;
 * past it, bodies are rebuilt per request and the bound hit is counted.
 */
export const RESPONSE_CACHE_BYTES = 256 * 1024 * 1024;

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

export async function buildApp(deps: ApiDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }),
    // Scrapes and UI polling would flood the log; errors are logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A path parameter is a node name (a DNS-1123 subdomain, at most 253 characters) or a finding id.
    routerOptions: { maxParamLength: 253 },
    // Node's default, stated: request line and headers together; the guard bounds the URL tighter.
    http: { maxHeaderSize: 16 * 1024 },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    // Close keep-alive sockets on shutdown so Ctrl-C is prompt.
    forceCloseConnections: true,
    // Fastify's default (removeAdditional: true) silently drops a query parameter
    // the schema does not name: ?fromat=compact would answer the full form.
    // Refused instead, naming it (the error handler below).
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorBody);
  // Every route refuses query parameters it does not name; a route without any gets an empty schema.
  app.addHook('onRoute', (route) => {
    if (route.schema?.querystring === undefined) route.schema = { ...route.schema, querystring: NoQuerystring };
  });
  const cache = new EvaluationCache({
    maxBytes: deps.responseCacheBytes ?? RESPONSE_CACHE_BYTES,
    onBoundHit: boundHitLogger(deps.log.child({ component: 'http' }), deps.responseCacheBytes ?? RESPONSE_CACHE_BYTES),
  });
  registerCacheMetrics(deps.registry, cache);
  // Before swagger and the routes: its onRoute hook documents the guard's errors on each route.
  await addGuard(app, {
    ...(deps.apiToken !== undefined ? { apiToken: deps.apiToken } : {}),
    ...(deps.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: deps.rateLimitPerMinute } : {}),
    ...(deps.onRefused ? { onRefused: deps.onRefused } : {}),
    maxUrlLength: MAX_URL_LENGTH,
    now: () => deps.clock.now(),
    log: deps.log.child({ component: 'http' }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'netmatrix aggregator API', version: deps.version, description: 'Node-pair connectivity matrix and what is wrong with the cluster network. Read-only, except DELETE /api/v1/nodes/{name}, which needs the API token.' },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });

  // Before the routes: it adds its hooks to each route registered after it.
  await app.register(compress, compressPluginOptions);

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.validation) e = apiError('INVALID_REQUEST', validationMessage(err, req.routeOptions.schema?.querystring));
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) e = apiError('INVALID_REQUEST', err.message);
    else {
      req.log.error({ err, url: req.url }, 'request failed');
      e = apiError('INTERNAL');
    }
    void reply.status(e.statusCode).type('application/json').send(e.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = apiError('ROUTE_NOT_FOUND', req.method, req.url.split('?')[0] ?? req.url);
    void reply.status(e.statusCode).send(e.body());
  });

  await app.register(healthRoutes, deps);
  await app.register(nodeRoutes, deps);
  await app.register(matrixRoutes, { ...deps, cache });
  await app.register(pairRoutes, deps);
  await app.register(findingRoutes, deps);
  await app.register(dnsRoutes, deps);
  await app.register(cniRoutes, deps);
  await app.register(policyRoutes, deps);
  await app.register(metricsRoutes, deps);
  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  return app;
}

/** Names the parameter ajv found unknown, and the ones the route takes; other validation errors as ajv words them. */
function validationMessage(err: FastifyError, querystring: unknown): string {
  const v = err.validation?.[0];
  const unknown = (v?.params as { additionalProperty?: unknown } | undefined)?.additionalProperty;
  if (err.validationContext === 'querystring' && v?.keyword === 'additionalProperties' && typeof unknown === 'string') {
    const known = Object.keys((querystring as { properties?: object } | undefined)?.properties ?? {});
    return `unknown query parameter ${JSON.stringify(unknown)}: ${known.length === 0 ? 'this route takes none' : `expected ${known.join(', ')}`}`;
  }
  return err.message;
}

/** Logs the first time the cache's bound is hit; the metric counts every time. */
function boundHitLogger(log: Logger, maxBytes: number) {
  let logged = false;
  return (action: string, key: string, bytes: number) => {
    if (logged) return;
    logged = true;
    log.warn({ action, body: key, bytes, maxBytes }, 'HTTP response cache bound hit: bodies are rebuilt per request (counted in netmatrix_http_response_cache_bound_hits_total)');
  };
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
