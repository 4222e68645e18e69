import type { FastifyPluginAsync } from 'fastify';
import type { Finding } from '../../findings/finding.js';
import { iso, type ApiDeps } from '../app.js';
import { apiError, errorResponses } from '../errors.js';
import { FindingParams, FindingSchema, FindingsQuerystring, FindingsResponse } from '../schemas.js';

export function findingBody(f: Finding) {
  return {
    id: f.id,
    kind: f.kind,
    severity: f.severity,
    state: f.state,
    labels: { ...f.labels },
    annotations: { summary: f.summary, description: f.description, runbook_url: f.runbookUrl },
    summary: f.summary,
    description: f.description,
    since: iso(f.since)!,
    firingSince: iso(f.firingSince),
    resolvedAt: iso(f.resolvedAt),
  };
}

export const findingRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.addSchema(FindingSchema);
  app.get(
    '/api/v1/findings',
    {
      schema: {
        summary: 'What is wrong now: the firing findings, the same set that is sent to Alertmanager',
        description: 'state=pending lists conditions inside --finding-for; state=all lists both.',
        querystring: FindingsQuerystring,
        response: { 200: FindingsResponse, ...errorResponses('INVALID_REQUEST') },
      },
    },
    async (req) => {
      const q = req.query as { state?: 'firing' | 'pending' | 'all'; kind?: string };
      const state = q.state ?? 'firing';
      const list = [...(state !== 'pending' ? deps.findings.firing() : []), ...(state !== 'firing' ? deps.findings.pending() : [])];
      return {
        evaluatedAt: iso(deps.evaluatedAt()),
        findings: list.filter((f) => q.kind === undefined || f.kind === q.kind).map(findingBody),
      };
    },
  );
  app.get(
    '/api/v1/findings/:id',
    {
      schema: {
        summary: 'One finding, current or recently resolved (the generatorURL of its alert)',
        params: FindingParams,
        response: { 200: FindingSchema, ...errorResponses('FINDING_NOT_FOUND', 'INVALID_REQUEST') },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const f = deps.findings.get(id);
      if (!f) throw apiError('FINDING_NOT_FOUND', id);
      return findingBody(f);
    },
  );
};
