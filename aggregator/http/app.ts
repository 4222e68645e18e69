// The HTTP API, built by a factory so tests use app.inject() and real servers
// alike. One plugin per route group; every error leaves through one handler in
// the shape of the error catalogue.
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { FindingsEngine } from '../findings/engine.js';
import type { MatrixQuery } from '../matrix/query.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { RemoveNode } from '../nodes/removal.js';
import { ApiError, apiError, ErrorBody } from './errors.js';
import { addGuard, type HttpRefuseReason } from './guard.js';
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
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorBody);
  // Before swagger and the routes: its onRoute hook documents the guard's errors on each route.
  addGuard(app, {
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

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err.validation) e = apiError('INVALID_REQUEST', err.message);
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
  await app.register(matrixRoutes, deps);
  await app.register(pairRoutes, deps);
  await app.register(findingRoutes, deps);
  await app.register(dnsRoutes, deps);
  await app.register(cniRoutes, deps);
  await app.register(policyRoutes, deps);
  await app.register(metricsRoutes, deps);
  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  return app;
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
