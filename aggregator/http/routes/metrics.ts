import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../app.js';

export const metricsRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics of the aggregator', hide: false } }, async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(body);
  });
};
