// Cell status: every branch of decideStatus, thresholds at their boundary.
import t from 'tap';
import { decideStatus, type CellFacts, type StatusThresholds } from '../../../aggregator/matrix/status.js';

const th: StatusThresholds = { degradedLoss: 0.05, failingLoss: 0.5, degradedRttMs: 50, staleAfterMs: 15_000 };
const healthy: CellFacts = { samples: 12, lastOutcome: 'ok', lastAgeMs: 1_000, lossRatio: 0, rttP50Ms: 0.4 };

t.test('no data is unknown', async (t) => {
  t.same(decideStatus({ ...healthy, lastOutcome: null }, th), { status: 'unknown', reason: 'no probe results yet' });
  t.same(decideStatus({ ...healthy, samples: 0 }, th), { status: 'unknown', reason: 'no probe results yet' });
  t.same(decideStatus({ samples: 0, lastOutcome: null, lastAgeMs: Infinity, lossRatio: null, rttP50Ms: null }, th).status, 'unknown');
});

t.test('stale data is unknown, whatever it said; the boundary is not stale', async (t) => {
  t.equal(decideStatus({ ...healthy, lastAgeMs: 15_000 }, th).status, 'ok', 'exactly staleAfter: still fresh');
  const stale = decideStatus({ ...healthy, lastAgeMs: 15_001 }, th);
  t.equal(stale.status, 'unknown');
  t.equal(stale.reason, 'no result for 15s (stale after 15s): is the source agent running?');
  t.equal(decideStatus({ ...healthy, lastOutcome: 'timeout', lossRatio: 1, lastAgeMs: 60_000 }, th).status, 'unknown', 'a stale failure is unknown, not failing');
  t.match(decideStatus({ ...healthy, lastAgeMs: 90_400 }, th).reason, /^no result for 90s /);
});

t.test('a failed last probe is failing, whatever the loss', async (t) => {
  for (const outcome of ['timeout', 'refused', 'unreachable', 'reset', 'mtu_exceeded', 'error'] as const) {
    const v = decideStatus({ ...healthy, lastOutcome: outcome, lossRatio: 1 / 12 }, th);
    t.equal(v.status, 'failing', outcome);
    t.equal(v.reason, `last probe: ${outcome}; loss 8.3% in window`);
  }
  t.equal(decideStatus({ ...healthy, lastOutcome: 'timeout', lossRatio: null }, th).reason, 'last probe: timeout; loss 0.0% in window', 'no loss figure reads as 0');
});

t.test('loss at or above the failing threshold is failing even if the last probe passed', async (t) => {
  const at = decideStatus({ ...healthy, lossRatio: 0.5 }, th);
  t.same(at, { status: 'failing', reason: 'loss 50.0% ≥ 50.0%' });
  t.equal(decideStatus({ ...healthy, lossRatio: 0.9 }, th).status, 'failing');
  t.equal(decideStatus({ ...healthy, lossRatio: 0.4999 }, th).status, 'degraded', 'just below: degraded');
});

t.test('loss at or above the degraded threshold is degraded', async (t) => {
  t.same(decideStatus({ ...healthy, lossRatio: 0.05 }, th), { status: 'degraded', degradedBy: 'loss', reason: 'loss 5.0% ≥ 5.0%' });
  t.equal(decideStatus({ ...healthy, lossRatio: 0.0499 }, th).status, 'ok', 'just below: ok');
  t.equal(decideStatus({ ...healthy, lossRatio: null }, th).status, 'ok', 'no loss figure reads as 0');
});

t.test('a zero degraded threshold means any loss, not every cell', async (t) => {
  const zero = { ...th, degradedLoss: 0 };
  t.equal(decideStatus({ ...healthy, lossRatio: 0 }, zero).status, 'ok');
  t.equal(decideStatus({ ...healthy, lossRatio: 0.01 }, zero).status, 'degraded');
});

t.test('a zero failing threshold means any loss, not every cell', async (t) => {
  const zero = { ...th, degradedLoss: 0, failingLoss: 0 };
  t.equal(decideStatus({ ...healthy, lossRatio: 0 }, zero).status, 'ok');
  t.equal(decideStatus({ ...healthy, lossRatio: 0.01 }, zero).status, 'failing');
});

t.test('RTT p50 above the latency threshold is degraded; at it is ok', async (t) => {
  t.equal(decideStatus({ ...healthy, rttP50Ms: 50 }, th).status, 'ok');
  t.same(decideStatus({ ...healthy, rttP50Ms: 50.001 }, th), { status: 'degraded', degradedBy: 'latency', reason: 'RTT p50 50.00 ms > 50 ms' });
  t.same(decideStatus({ ...healthy, rttP50Ms: 123.456 }, th), { status: 'degraded', degradedBy: 'latency', reason: 'RTT p50 123.46 ms > 50 ms' });
  t.equal(decideStatus({ ...healthy, rttP50Ms: null }, th).status, 'ok', 'no RTT (e.g. every ok sample left the window) is not degraded');
  t.equal(decideStatus({ ...healthy, rttP50Ms: 0.001 }, { ...th, degradedRttMs: 0 }).status, 'degraded', 'threshold 0: any RTT');
});

t.test('loss is judged before latency', async (t) => {
  t.match(decideStatus({ ...healthy, lossRatio: 0.1, rttP50Ms: 500 }, th), { reason: /^loss 10.0%/, degradedBy: 'loss' });
  t.equal(decideStatus({ ...healthy, lossRatio: 0.6, rttP50Ms: 500 }, th).status, 'failing');
});

t.test('all good is ok', async (t) => {
  t.same(decideStatus(healthy, th), { status: 'ok', reason: 'last probe ok, loss and latency under thresholds' });
  t.equal(decideStatus({ ...healthy, samples: 1 }, th).status, 'ok');
});
