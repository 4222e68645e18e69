import t from 'tap';
import { outcomeFromError } from '../../../agent/probers/classify.js';

t.test('socket errors map to outcomes', (t) => {
  const cases: [string, string][] = [
    ['ECONNREFUSED', 'refused'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['EHOSTDOWN', 'unreachable'],
    ['ENETDOWN', 'unreachable'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ETIMEDOUT', 'timeout'],
    ['EMSGSIZE', 'mtu_exceeded'],
    ['EACCES', 'error'],
  ];
  for (const [code, outcome] of cases) {
    const err = Object.assign(new Error(`connect ${code} 192.0.2.1:9402`), { code });
    t.same(outcomeFromError(err), { outcome, detail: code }, code);
  }
  t.end();
});

t.test('raw-socket errors carry only text', (t) => {
  t.same(outcomeFromError(new Error('Message too long')), { outcome: 'mtu_exceeded', detail: 'Message too long' });
  t.same(outcomeFromError(new Error('No route to host')), { outcome: 'unreachable', detail: 'No route to host' });
  t.equal(outcomeFromError('x'.repeat(500)).detail.length, 120, 'detail is bounded');
  t.equal(outcomeFromError(undefined).outcome, 'error');
  t.end();
});
