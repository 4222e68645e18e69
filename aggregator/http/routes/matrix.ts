// GET /api/v1/matrix and /api/v1/matrix/zones: bodies of the last evaluation,
// built once per evaluation and form (evaluation-cache.ts), with an ETag.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { CompactSnapshot, MatrixSnapshot } from '../../matrix/query.js';
import type { CellView } from '../../matrix/store.js';
import { zoneSummary } from '../../matrix/zones.js';
import { iso, type ApiDeps } from '../app.js';
import { replyCached } from '../cached-reply.js';
import { errorResponses } from '../errors.js';
import type { EvaluationCache } from '../evaluation-cache.js';
import { CompactMatrixResponse, MatrixQuerystring, MatrixResponse, ZonesQuerystring, ZonesResponse, type MatrixFormat } from '../schemas.js';
import { parseFamily, parseKind } from './params.js';

export function cellBody(c: CellView) {
  return {
    status: c.status,
    lossRatio: c.lossRatio,
    lossSamples: c.lossSamples,
    lossSpanSeconds: c.lossSpanMs / 1000,
    windowSpanSeconds: c.windowSpanMs / 1000,
    rttP50Ms: c.rttP50Ms,
    rttP99Ms: c.rttP99Ms,
    lastOutcome: c.lastOutcome,
    since: iso(c.since),
    samples: c.samples,
  };
}

function header(m: { kind: MatrixSnapshot['kind']; family: MatrixSnapshot['family'] }, windowMs: number, now: number) {
  return { kind: m.kind, family: m.family, windowSeconds: windowMs / 1000, generatedAt: new Date(now).toISOString() };
}

export function fullMatrixBody(m: MatrixSnapshot, windowMs: number, now: number) {
  return {
    ...header(m, windowMs, now),
    nodes: m.nodes.map((n) => n.name),
    cells: m.cells.map((row) => row.map((c) => (c === null ? null : cellBody(c)))),
    summary: m.summary,
  };
}

/**
 * One letter per cell, objects only where there is something to read: a
 * healthy 1,000-node matrix is ~1 MB, not ~100. Written as JSON bytes here
 * rather than an object for JSON.stringify: details keyed by row and column
 * index made objects with sparse integer keys, slow to build and to serialize
 * (~30 ms of a 1,000-node body). The same bytes as JSON.stringify would give:
 * keys in the same order, details in ascending row and column order (the
 * order of compact()); rows are letters only, nothing to escape.
 */
export function compactMatrixJson(m: CompactSnapshot, windowMs: number, now: number): Buffer {
  const { kind, family, ...rest } = header(m, windowMs, now);
  const head = JSON.stringify({ kind, family, format: 'compact' as const, ...rest, nodes: m.nodes.map((n) => n.name) });
  const parts = [head.slice(0, -1), ',"rows":['];
  m.rows.forEach((row, s) => parts.push(s === 0 ? '"' : ',"', row, '"'));
  parts.push('],"details":{');
  let first = true;
  for (const [s, row] of m.details) {
    const cells: string[] = [];
    for (const [d, c] of row) cells.push(`"${d}":${JSON.stringify(cellBody(c))}`);
    parts.push(`${first ? '' : ','}"${s}":{${cells.join(',')}}`);
    first = false;
  }
  parts.push(`},"summary":${JSON.stringify(m.summary)}}`);
  return joinBytes(parts);
}

/**
 * The parts in one Buffer, never one string of the whole body: a string of
 * megabytes is a large object in the old generation, garbage that brings the
 * next mark-compact closer (one in a request adds tens of ms at 1,000 nodes).
 */
function joinBytes(parts: readonly string[]): Buffer {
  let bytes = 0;
  for (const p of parts) bytes += Buffer.byteLength(p);
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const p of parts) at += out.write(p, at);
  return out;
}

export function zonesBody(m: CompactSnapshot, windowMs: number, now: number) {
  const nodesPerZone = new Map<string, number>();
  for (const n of m.nodes) nodesPerZone.set(n.zone, (nodesPerZone.get(n.zone) ?? 0) + 1);
  return {
    ...header(m, windowMs, now),
    zones: [...nodesPerZone].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, nodes]) => ({ name, nodes })),
    pairs: zoneSummary(m).map((p) => ({ srcZone: p.srcZone, dstZone: p.dstZone, pairs: p.pairs, counts: { ...p.counts } })),
  };
}

const NOT_MODIFIED = Type.Null({ description: 'Not Modified: If-None-Match names the ETag of this body, which stays until the next evaluation' });

export interface MatrixRouteOptions extends ApiDeps {
  readonly cache: EvaluationCache;
}

export const matrixRoutes: FastifyPluginAsync<MatrixRouteOptions> = async (app, o) => {
  const serialize = (body: unknown) => Buffer.from(JSON.stringify(body));
  app.get(
    '/api/v1/matrix',
    {
      schema: {
        summary: 'The node-pair connectivity matrix for one probe kind (row = source, column = target)',
        description:
          'As of the last evaluation: built at the first request after it, then the same body (and ETag) until the next one; If-None-Match with that ETag is answered 304. format=compact gives a status letter per cell and cell objects only for the cells that are not ok.',
        querystring: MatrixQuerystring,
        response: { 200: Type.Union([MatrixResponse, CompactMatrixResponse]), 304: NOT_MODIFIED, ...errorResponses('INVALID_KIND', 'INVALID_FAMILY', 'INVALID_REQUEST') },
      },
    },
    async (req, reply) => {
      const q = req.query as { kind?: string; family?: string; format?: MatrixFormat };
      const kind = parseKind(q.kind, o.probeKinds);
      const family = parseFamily(q.family, o.query);
      const format = q.format ?? 'full';
      return replyCached(req, reply, {
        cache: o.cache,
        generation: o.evaluations(),
        key: `matrix.${kind}.${family}.${format}`,
        build: () => {
          const now = o.clock.now();
          return format === 'compact' ? compactMatrixJson(o.query.compact(kind, family), o.windowMs, now) : serialize(fullMatrixBody(o.query.matrix(kind, family), o.windowMs, now));
        },
      });
    },
  );
  app.get(
    '/api/v1/matrix/zones',
    {
      schema: {
        summary: 'The matrix of one probe kind folded by zone: per ordered zone pair, the cells by status',
        description: 'As of the last evaluation, with an ETag, like /api/v1/matrix.',
        querystring: ZonesQuerystring,
        response: { 200: ZonesResponse, 304: NOT_MODIFIED, ...errorResponses('INVALID_KIND', 'INVALID_FAMILY', 'INVALID_REQUEST') },
      },
    },
    async (req, reply) => {
      const q = req.query as { kind?: string; family?: string };
      const kind = parseKind(q.kind, o.probeKinds);
      const family = parseFamily(q.family, o.query);
      return replyCached(req, reply, {
        cache: o.cache,
        generation: o.evaluations(),
        key: `zones.${kind}.${family}`,
        build: () => {
          const now = o.clock.now();
          // The zone view folds letters: the details of non-ok cells are not built for it.
          return serialize(zonesBody(o.query.compact(kind, family, { details: false }), o.windowMs, now));
        },
      });
    },
  );
};
