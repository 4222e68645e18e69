// Socket errors → outcomes, in one place (docs/architecture.md lists the map).
import type { Outcome } from '../../common/vocabulary.js';

const BY_CODE: Record<string, Outcome> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ETIMEDOUT: 'timeout',
  EMSGSIZE: 'mtu_exceeded',
};

export function outcomeFromError(err: unknown): { outcome: Outcome; detail: string } {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // raw-socket reports errno text ("Message too long") without a code.
  const outcome = (code && BY_CODE[code]) || (/message too long/i.test(message) ? 'mtu_exceeded' : /no route to host/i.test(message) ? 'unreachable' : 'error');
  return { outcome, detail: (code ?? message).slice(0, 120) };
}
