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
  t.same(outcomeFromError(new Error('Network is unreachable')), { outcome: 'unreachable', detail: 'Network is unreachable' });
  t.same(outcomeFromError(new Error('Operation not permitted')), { outcome: 'error', detail: 'Operation not permitted' }, 'a local firewall DROP (EPERM)');
  t.equal(outcomeFromError(Object.assign(new Error('Message too long'), { code: 'ERR_X' })).outcome, 'error', 'a code wins over the text');
  t.equal(outcomeFromError(Object.assign(new Error('x'), { code: 'constructor' })).outcome, 'error', 'codes are looked up, not indexed');
  t.equal(outcomeFromError(null).outcome, 'error');
  t.equal(outcomeFromError('x'.repeat(500)).detail.length, 120, 'detail is bounded');
  t.equal(outcomeFromError(undefined).outcome, 'error');
  t.end();
});
