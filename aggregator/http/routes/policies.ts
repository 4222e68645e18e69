import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../app.js';
import { NetworkPoliciesResponse } from '../schemas.js';

export const policyRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/networkpolicies',
    {
      schema: {
        summary: 'NetworkPolicies in the cluster, those selecting the agent pods first (kept for diagnosis)',
        description: 'From the Kubernetes API (--kubernetes). A policy that selects the agent pods restricts their probes: a failing matrix cell may be a policy, not the network.',
        response: { 200: NetworkPoliciesResponse },
      },
    },
    async () => deps.networkPolicies(),
  );
};
