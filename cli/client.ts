// The CLI's only way to an aggregator: its HTTP API, every call with a deadline,
// every failure mapped to one line and an exit code.
import { formatDuration } from '../common/duration.js';
import { VERSION } from '../common/version.js';
import { isErrorBody } from './api-types.js';
import { printable } from './terminal.js';

/** The exit codes `netmatrix --help` documents. */
export const EXIT = {
  /** the command worked and nothing is failing */
  ok: 0,
  /** the command worked and something is failing (a failing cell, a disconnected agent) */
  problems: 1,
  /** unknown command or option, bad value */
  usage: 2,
  /** the aggregator could not be reached in time, answered an error, or did not answer the API */
  unreachable: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class ApiError extends Error {
  constructor(
    /** One line: the URL and why. */
    message: string,
    readonly url: string,
    /** Why, for programs: the network error code ("ECONNREFUSED", "timeout"), or the API's error code. */
    readonly reason: string,
    /** HTTP status when the server answered. */
    readonly httpStatus?: number,
    readonly exitCode: ExitCode = EXIT.unreachable,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  /** Base URL of the API; may carry a path prefix (kubectl proxy, an ingress). */
  readonly server: string;
  readonly token?: string;
  /** Deadline of each call, from the request until the whole body has arrived. */
  readonly timeoutMs: number;
}

export interface GetOptions<T> {
  /** Cancels the call early (a sibling call failed); the deadline applies regardless. */
  readonly signal?: AbortSignal;
  /** Checks the body's shape; a body that fails it is an error (exit 3), not a crash while rendering. */
  readonly accept?: (body: unknown) => body is T;
  /** What the body should be, for the error line ("a matrix"). */
  readonly what?: string;
}

export class ApiClient {
  readonly base: URL;

  constructor(private readonly o: ClientOptions) {
    const base = new URL(o.server);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.base = base;
  }

  /** `path` is resolved below the server's own path, so `--server http://host/prefix` keeps its prefix. */
  url(path: string): string {
    return new URL(path.replace(/^\/+/, ''), this.base).toString();
  }

  async get<T>(path: string, opts: GetOptions<T> = {}): Promise<T> {
    return this.call('GET', path, opts);
  }

  /** The one change the API allows (forgetting a node); the same deadline, errors and body check as get. */
  async delete<T>(path: string, opts: GetOptions<T> = {}): Promise<T> {
    return this.call('DELETE', path, opts);
  }

  private async call<T>(method: 'GET' | 'DELETE', path: string, opts: GetOptions<T>): Promise<T> {
    const url = this.url(path);
    const deadline = AbortSignal.timeout(this.o.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          'user-agent': `netmatrix-cli/${VERSION}`,
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
        },
        signal,
      });
      // Inside the deadline too: a server may send headers and then stall.
      text = await res.text();
    } catch (e) {
      const reason = deadline.aborted ? 'timeout' : opts.signal?.aborted ? 'cancelled' : networkReason(e);
      const why = reason === 'timeout' ? `timeout: no complete answer within ${formatDuration(this.o.timeoutMs)} (--timeout)` : reason;
      throw new ApiError(`cannot reach ${url}: ${why}`, url, reason);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      if (isErrorBody(body)) {
        const hint = res.status === 401 ? ' (set --token or NETMATRIX_API_TOKEN)' : '';
        throw new ApiError(`${url}: HTTP ${res.status} ${printable(body.code)}: ${printable(body.message)}${hint}`, url, body.code, res.status);
      }
      // Not the API's error shape: a proxy, a load balancer, another server. Its HTML is no help on one line.
      throw new ApiError(`${url}: HTTP ${res.status} ${printable(res.statusText)}`.trimEnd(), url, `HTTP ${res.status}`, res.status);
    }
    if (body === undefined || (opts.accept && !opts.accept(body))) {
      const what = opts.what ?? 'the expected JSON';
      throw new ApiError(`${url}: HTTP ${res.status} but the body is not ${what}: is this a netmatrix aggregator?`, url, 'unexpected body', res.status);
    }
    return body as T;
  }
}

/** The socket-level cause fetch wraps ("fetch failed" says nothing): ECONNREFUSED, ENOTFOUND, ECONNRESET... */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } | undefined;
  const code = cause?.code ?? cause?.errors?.find((x) => typeof x.code === 'string')?.code;
  if (typeof code === 'string') return code;
  if (typeof cause?.message === 'string') return printable(cause.message);
  return printable((e as Error).message ?? String(e));
}
