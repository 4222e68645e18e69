import type { FastifyPluginAsync } from 'fastify';
import { PAIR_KINDS } from '../../../common/vocabulary.js';
import { iso, type ApiDeps } from '../app.js';
import { apiError, errorResponses } from '../errors.js';
import { PairParams, PairQuerystring, PairResponse } from '../schemas.js';
import { cellBody } from './matrix.js';
import { parseFamily } from './params.js';

export const pairRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/pairs/:src/:dst',
    {
      schema: {
        summary: 'One pair in detail: every probe kind, recent samples, status and why',
        params: PairParams,
        querystring: PairQuerystring,
        response: { 200: PairResponse, ...errorResponses('NODE_NOT_FOUND', 'INVALID_FAMILY', 'INVALID_REQUEST') },
      },
    },
    async (req) => {
      const { src, dst } = req.params as { src: string; dst: string };
      const srcNode = deps.nodes.get(src);
      if (!srcNode) throw apiError('NODE_NOT_FOUND', src);
      const dstNode = deps.nodes.get(dst);
      if (!dstNode) throw apiError('NODE_NOT_FOUND', dst);
      const family = parseFamily((req.query as { family?: string }).family, deps.query);
      const now = deps.clock.now();
      const p = deps.query.pair(srcNode, dstNode, family);
      const kinds: Record<string, unknown> = {};
      for (const k of PAIR_KINDS) {
        const d = p.kinds[k];
        kinds[k] = {
          ...cellBody(d.cell),
          reason: d.cell.reason,
          targetIp: d.targetIp,
          lastAt: iso(d.cell.lastAt),
          recent: d.samples.map((s) => ({ at: new Date(s.at).toISOString(), outcome: s.outcome, rttMs: s.outcome === 'ok' ? s.rttUs / 1000 : null, loopDelayed: s.loopDelayed })),
        };
      }
      return { src, dst, family, windowSeconds: deps.windowMs / 1000, generatedAt: new Date(now).toISOString(), kinds };
    },
  );
};
