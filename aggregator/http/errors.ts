// Every error the HTTP API can return, in one catalogue: a stable code, the
// HTTP status, and how the message is built. Routes throw ApiError; the app's
// error handler renders every error (ours, validation, 404, unexpected) in the
// one shape of ErrorBody. A test checks this catalogue against /docs/json.
import { Type, type Static } from 'typebox';

export const ERRORS = {
  NODE_NOT_FOUND: { status: 404, message: (name: string) => `no node named ${JSON.stringify(name)}` },
  INVALID_KIND: { status: 400, message: (kind: string, valid: readonly string[]) => `unknown probe kind ${JSON.stringify(kind)}: expected one of ${valid.join(', ')}` },
  INVALID_FAMILY: { status: 400, message: (family: string) => `unknown address family ${JSON.stringify(family)}: expected ipv4 or ipv6` },
  FINDING_NOT_FOUND: { status: 404, message: (id: string) => `no current or recently resolved finding with id ${JSON.stringify(id)}` },
  INVALID_REQUEST: { status: 400, message: (detail: string) => `invalid request: ${detail}` },
  ROUTE_NOT_FOUND: { status: 404, message: (method: string, url: string) => `no route ${method} ${url}` },
  READ_ONLY: { status: 403, message: () => 'the API is read-only: this aggregator has no API token; start it with --api-token-file (or NETMATRIX_API_TOKEN) to allow changes, and send that token as "Authorization: Bearer <token>"' },
  NODE_AGENT_CONNECTED: { status: 409, message: (name: string) => `the agent of ${JSON.stringify(name)} is connected, so the node is not gone and would come straight back: stop its agent first, or wait until it disconnects` },
  NODE_IN_KUBERNETES: { status: 409, message: (name: string) => `the Kubernetes API lists ${JSON.stringify(name)}: delete the Node object (kubectl delete node ${name}) and it leaves at once` },
  UNAUTHORIZED: { status: 401, message: () => 'this API needs "Authorization: Bearer <token>" with the aggregator\'s API token' },
  URL_TOO_LONG: { status: 414, message: (length: number, limit: number) => `request URL of ${length} characters exceeds the limit of ${limit}` },
  RATE_LIMITED: { status: 429, message: (perMinute: number) => `more than ${perMinute} requests per minute from this address: retry after the Retry-After seconds` },
  NOT_READY: { status: 503, message: (why: string) => `not ready: ${why}` },
  INTERNAL: { status: 500, message: () => 'internal error (logged on the aggregator)' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

const PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  414: 'URI Too Long',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Unsafe<ErrorCode>(Type.Union(ERROR_CODES.map((c) => Type.Literal(c)))),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'Error', additionalProperties: false },
);
export type ErrorBodyT = Static<typeof ErrorBody>;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERRORS[code].status;
  }
  body(): ErrorBodyT {
    return { statusCode: this.statusCode, code: this.code, error: PHRASES[this.statusCode] ?? 'Error', message: this.message };
  }
}

/** Builds an ApiError from the catalogue: apiError('NODE_NOT_FOUND', name). */
export function apiError<C extends ErrorCode>(code: C, ...args: Parameters<(typeof ERRORS)[C]['message']>): ApiError {
  const build = ERRORS[code].message as (...a: unknown[]) => string;
  return new ApiError(code, build(...args));
}

/** The response schemas a route declares for the errors it may return (for OpenAPI). */
export function errorResponses(...codes: ErrorCode[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const c of [...codes, 'INTERNAL' as const]) {
    const status = ERRORS[c].status;
    const existing = out[status] as { description: string } | undefined;
    out[status] = Type.Ref('Error', { description: existing ? `${existing.description}, ${c}` : c });
  }
  return out;
}
