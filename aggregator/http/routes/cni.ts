import type { FastifyPluginAsync } from 'fastify';
import type { CniAssessment, CniNodeReport } from '../../cni/assess.js';
import { iso, type ApiDeps } from '../app.js';
import { apiError, errorResponses } from '../errors.js';
import { CniNodeParams, CniNodeResponse, CniResponse } from '../schemas.js';

function nodeBody(r: CniNodeReport) {
  return { ...r, receivedAt: iso(r.receivedAt), pools: r.pools.map((p) => ({ ...p })) };
}

export function cniBody(a: CniAssessment) {
  const { at, conditions: _, nodes, ...rest } = a;
  return { generatedAt: iso(at)!, ...rest, nodes: nodes.map(nodeBody) };
}

export const cniRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/cni',
    {
      schema: {
        summary: 'CNI on every node: effective config hash and drift groups, plugin binaries, IP pool use, pod CIDR overlaps',
        description: 'The last evaluation\'s comparison of the latest snapshot of each node while it is current (no snapshot, node or pod CIDR changed, none went stale), else compared again (docs/findings.md). A node\'s full diff against the majority: GET /api/v1/cni/{node}.',
        response: { 200: CniResponse },
      },
    },
    async () => cniBody(deps.cni().assessment),
  );
  app.get(
    '/api/v1/cni/:node',
    {
      schema: {
        summary: 'One node\'s CNI config against the majority\'s, as a readable diff',
        params: CniNodeParams,
        response: { 200: CniNodeResponse, ...errorResponses('NODE_NOT_FOUND', 'INVALID_REQUEST') },
      },
    },
    async (req) => {
      const { node } = req.params as { node: string };
      const d = deps.cni().detail(node);
      if (!d) throw apiError('NODE_NOT_FOUND', node);
      return { ...d, node: nodeBody(d.report) };
    },
  );
};
