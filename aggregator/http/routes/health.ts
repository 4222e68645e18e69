import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../app.js';
import { apiError, errorResponses } from '../errors.js';
import { HealthResponse, ReadyResponse } from '../schemas.js';

export const healthRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/healthz', { schema: { summary: 'Liveness: the process serves HTTP', response: { 200: HealthResponse } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { summary: 'Readiness: the gRPC server accepts agents', response: { 200: ReadyResponse, ...errorResponses('NOT_READY') } } },
    async () => {
      const why = deps.notReady();
      if (why !== undefined) throw apiError('NOT_READY', why);
      const nodes = deps.nodes.list();
      return { status: 'ready', agentsConnected: nodes.filter((n) => n.agent.connected).length, nodes: nodes.length };
    },
  );
};
