import type { FastifyPluginAsync } from 'fastify';
import { iso, type ApiDeps } from '../app.js';
import { errorResponses } from '../errors.js';
import { NodesResponse } from '../schemas.js';

export const nodeRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/nodes',
    { schema: { summary: 'Nodes and the state of their agents', response: { 200: NodesResponse, ...errorResponses() } } },
    async () => ({
      nodes: deps.nodes.list().map((n) => ({
        name: n.name,
        zone: n.zone,
        podIPs: [...n.podIPs],
        nodeIPs: [...n.nodeIPs],
        agent: {
          connected: n.agent.connected,
          connectedSince: n.agent.connected ? iso(n.agent.connectedSince) : null,
          lastReportAt: iso(n.agent.lastReportAt),
          version: n.agent.version,
          capabilities: [...n.agent.capabilities],
          reports: n.agent.reports,
          results: n.agent.results,
        },
        kubernetes: n.kube ? { ...n.kube, podCidrs: [...n.kube.podCidrs], internalIPs: [...n.kube.internalIPs] } : null,
      })),
    }),
  );
};
