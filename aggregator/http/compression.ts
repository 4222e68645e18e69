// Response compression, in one place for the two paths that use it:
// @fastify/compress for every route's answer, and the evaluation cache, which
// compresses a cached body once per evaluation and encoding instead of once
// per request. Both negotiate with the same function and compress with the
// same options, so a client gets the same bytes either way.
import negotiate from '@fastify/accept-negotiator';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip, type BrotliOptions, type ZlibOptions } from 'node:zlib';

/** What the API compresses with, in the server's order of preference on equal q-values. */
export const ENCODINGS = ['br', 'gzip'] as const;
export type ContentEncoding = (typeof ENCODINGS)[number];
export type Encoding = ContentEncoding | 'identity';

/** Smaller than this is sent as it is: headers would outweigh the saving. */
export const COMPRESS_THRESHOLD_BYTES = 1024;

// Brotli's default quality (11) takes seconds on a large matrix; 4 is
// @fastify/compress's default and compresses JSON about as well as gzip -6,
// several times faster than quality 11.
export const BROTLI_OPTIONS: BrotliOptions = { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT } };
export const GZIP_OPTIONS: ZlibOptions = { level: 6 };

/** The options of @fastify/compress, from the constants above. */
export const compressPluginOptions = {
  global: true,
  encodings: [...ENCODINGS],
  threshold: COMPRESS_THRESHOLD_BYTES,
  brotliOptions: BROTLI_OPTIONS,
  zlibOptions: GZIP_OPTIONS,
};

/**
 * The encoding for a request's Accept-Encoding, as @fastify/compress picks it
 * (q-values first, then our order; `*` and x-gzip count as gzip); identity
 * without the header or when nothing we have is acceptable.
 */
export function negotiateEncoding(acceptEncoding: string | undefined): Encoding {
  if (acceptEncoding === undefined) return 'identity';
  const header = acceptEncoding.toLowerCase().replace(/\*|x-gzip/g, 'gzip');
  return negotiate<ContentEncoding>(header, [...ENCODINGS]) ?? 'identity';
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** Compresses off the event loop (libuv's thread pool): a large matrix takes a few hundred ms. */
export function compressBody(encoding: ContentEncoding, body: Buffer): Promise<Buffer> {
  return encoding === 'br' ? brotliAsync(body, BROTLI_OPTIONS) : gzipAsync(body, GZIP_OPTIONS);
}
