// Answers a request from the evaluation cache: the ETag names the body (this
// process, the evaluation, what the body is), so If-None-Match is answered 304
// without building anything; otherwise the body of this evaluation, in the
// encoding the client accepts, compressed once for all requests.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { COMPRESS_THRESHOLD_BYTES, negotiateEncoding } from './compression.js';
import type { EvaluationCache } from './evaluation-cache.js';

/** Tells this process's ETags from those of an earlier run, whose evaluations were numbered from 0 too. */
const INSTANCE = randomBytes(4).toString('hex');

/**
 * Weak: the same body gzipped, brotli'd or not is one representation to a
 * client revalidating, and @fastify/compress's fallback must not make a strong
 * ETag lie.
 */
export function etagOf(key: string, generation: number): string {
  return `W/"${INSTANCE}-${generation}-${key}"`;
}

/** If-None-Match with the weak comparison of RFC 9110 §13.1.2: `*` or any listed tag equal to ours, W/ ignored. */
export function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const ours = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === ours;
  });
}

export interface CachedRoute {
  readonly cache: EvaluationCache;
  /** Evaluations so far: the body's generation. */
  readonly generation: number;
  /** What the body is (kind, family, form), ETag-safe characters only. */
  readonly key: string;
  /** Builds and serializes the body; called at most once per key and evaluation while it fits the cache. */
  readonly build: () => Buffer;
}

export async function replyCached(req: FastifyRequest, reply: FastifyReply, r: CachedRoute): Promise<FastifyReply> {
  const etag = etagOf(r.key, r.generation);
  // no-cache: keep it, but ask each time; the answer is a 304 until the next evaluation.
  void reply.header('etag', etag).header('cache-control', 'no-cache').header('vary', 'accept-encoding');
  if (ifNoneMatch(req.headers['if-none-match'], etag)) return reply.code(304).send();
  const body = r.cache.get(r.key, r.generation, r.build);
  void reply.type('application/json; charset=utf-8');
  const encoding = req.headers['x-no-compression'] !== undefined ? 'identity' : negotiateEncoding(req.headers['accept-encoding']);
  // A body the cache does not hold goes out as it is, and @fastify/compress compresses it on the way.
  if (encoding === 'identity' || !body.held || body.identity.length < COMPRESS_THRESHOLD_BYTES) return reply.send(body.identity);
  const encoded = await r.cache.encoded(body, encoding);
  return reply.header('content-encoding', encoding).send(encoded);
}
