// One HTTP exchange with Alertmanager, as the sender and the read-back both
// need it: a deadline that covers the response body too, a bounded body, and
// an abort the caller owns (close() uses it). Also the retry delay they share.

export interface Answer {
  readonly status: number;
  /** At most maxBytes of the body (UTF-8), the rest cancelled. */
  readonly body: string;
  readonly truncated: boolean;
}

export interface RetryBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: RetryBackoff = { initialMs: 500, maxMs: 30_000 };

/** Exponential, with jitter in [delay/2, delay] so members of a fleet don't retry in step. */
export function retryDelay(attempt: number, backoff: RetryBackoff, random: () => number = Math.random): number {
  const d = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempt, 30));
  return d / 2 + (random() * d) / 2;
}

/**
 * `fetch` with `ac` aborted after `timeoutMs` (reason: a "timed out" error). The caller keeps `ac` to
 * abort on close. Reading stops at `maxBytes`: the rest of the body is cancelled, which also releases
 * the connection.
 */
export async function exchange(fetchFn: typeof fetch, url: string, init: RequestInit, ac: AbortController, timeoutMs: number, maxBytes: number): Promise<Answer> {
  // An own timer rather than AbortSignal.timeout: that one can't be cleared and would outlive close().
  const deadline = setTimeout(() => ac.abort(new Error(`timed out after ${timeoutMs}ms`)), timeoutMs);
  deadline.unref();
  try {
    const res = await fetchFn(url, { ...init, signal: ac.signal });
    const { body, truncated } = await readBounded(res, maxBytes);
    return { status: res.status, body, truncated };
  } finally {
    clearTimeout(deadline);
  }
}

async function readBounded(res: Response, maxBytes: number): Promise<{ body: string; truncated: boolean }> {
  if (!res.body) return { body: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        size = maxBytes;
        await reader.cancel();
        return { body: Buffer.concat(chunks).toString('utf8'), truncated: true };
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return { body: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** Why a request failed, in one line: the abort reason (deadline) or the error and its cause (ECONNREFUSED …). */
export function failureReason(e: unknown, ac: AbortController): string {
  const reason: unknown = ac.signal.aborted ? ac.signal.reason : e;
  const cause = (reason as { cause?: { message?: unknown } }).cause?.message;
  return [(reason as Error).message, cause].filter((s) => typeof s === 'string' && s !== '').join(': ');
}

/** Enough of an error body to say what went wrong, without flooding the log. */
export function loggedBody(body: string, truncated: boolean, max = 512): string {
  return body.length > max || truncated ? `${body.slice(0, max)}…` : body;
}
