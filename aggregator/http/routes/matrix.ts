import type { FastifyPluginAsync } from 'fastify';
import type { CellView } from '../../matrix/store.js';
import { iso, type ApiDeps } from '../app.js';
import { errorResponses } from '../errors.js';
import { MatrixQuerystring, MatrixResponse } from '../schemas.js';
import { parseFamily, parseKind } from './params.js';

export function cellBody(c: CellView) {
  return {
    status: c.status,
    lossRatio: c.lossRatio,
    rttP50Ms: c.rttP50Ms,
    rttP99Ms: c.rttP99Ms,
    lastOutcome: c.lastOutcome,
    since: iso(c.since),
    samples: c.samples,
  };
}

export const matrixRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/v1/matrix',
    {
      schema: {
        summary: 'The node-pair connectivity matrix for one probe kind (row = source, column = target)',
        querystring: MatrixQuerystring,
        response: { 200: MatrixResponse, ...errorResponses('INVALID_KIND', 'INVALID_FAMILY', 'INVALID_REQUEST') },
      },
    },
    async (req) => {
      const q = req.query as { kind?: string; family?: string };
      const kind = parseKind(q.kind);
      const family = parseFamily(q.family, deps.query);
      const now = deps.clock.now();
      const m = deps.query.matrix(kind, family, now);
      return {
        kind,
        family,
        windowSeconds: deps.windowMs / 1000,
        generatedAt: new Date(now).toISOString(),
        nodes: m.nodes.map((n) => n.name),
        cells: m.cells.map((row) => row.map((c) => (c === null ? null : cellBody(c)))),
        summary: m.summary,
      };
    },
  );
};
