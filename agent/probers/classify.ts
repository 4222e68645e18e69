// Socket errors → outcomes, in one place (docs/architecture.md lists the map).
import type { Outcome } from '../../common/vocabulary.js';

const BY_CODE = new Map<string, Outcome>([
  ['ECONNREFUSED', 'refused'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EHOSTDOWN', 'unreachable'],
  ['ENETDOWN', 'unreachable'],
  ['ECONNRESET', 'reset'],
  ['EPIPE', 'reset'],
  ['ETIMEDOUT', 'timeout'],
  ['EMSGSIZE', 'mtu_exceeded'],
]);

// raw-socket reports only the errno text (strerror), without a code.
const BY_TEXT: [RegExp, Outcome][] = [
  [/message too long/i, 'mtu_exceeded'],
  [/no route to host|network is unreachable|host is down|network is down/i, 'unreachable'],
];

export function outcomeFromError(err: unknown): { outcome: Outcome; detail: string } {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const outcome = (code === undefined ? BY_TEXT.find(([re]) => re.test(message))?.[1] : BY_CODE.get(code)) ?? 'error';
  return { outcome, detail: (code ?? message).slice(0, 120) };
}
