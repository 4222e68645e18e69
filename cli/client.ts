// The CLI's only way to an aggregator: its HTTP API, every call with a deadline.
export class ApiError extends Error {
  constructor(
    message: string,
    /** Exit code the CLI should use. */
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  readonly server: string;
  readonly token?: string;
  readonly timeoutMs: number;
}

export const EXIT = { ok: 0, problems: 1, usage: 2, unreachable: 3 } as const;

export class ApiClient {
  constructor(private readonly o: ClientOptions) {}

  async get<T>(path: string): Promise<T> {
    const url = new URL(path, this.o.server.endsWith('/') ? this.o.server : `${this.o.server}/`).toString();
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}) },
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms (timeout)` : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new ApiError(`cannot reach ${url}: ${why}`, EXIT.unreachable);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiError(`${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 120)}`, EXIT.unreachable);
    }
    if (!res.ok) {
      const message = (body as { message?: unknown }).message;
      throw new ApiError(`${url}: HTTP ${res.status}${typeof message === 'string' ? `: ${message}` : ''}`, EXIT.unreachable);
    }
    return body as T;
  }
}
