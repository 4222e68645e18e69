// The per-stream clock offset: agent times mapped onto the aggregator's
// monotonic clock without assuming the clocks agree, and a step of the agent's
// clock (NTP, a resumed VM) told from a report that waited in a buffer.
import t from 'tap';
import { StreamClock, STEP_MS } from '../../../aggregator/nodes/stream-clock.js';

const HOUR = 3_600_000;
/** Our monotonic clock and an agent's wall clock, unrelated. */
const OURS = 50_000;
const AGENT = 1_765_000_000_000;

t.test('the offset is the smallest (receipt − send) of the recent reports: time in a buffer is not offset', async (t) => {
  const c = new StreamClock();
  t.same(c.observe(OURS + 20, AGENT), { offset: OURS + 20 - AGENT }, 'the first report: its own delta');
  t.same(c.observe(OURS + 5_010, AGENT + 5_000), { offset: OURS + 10 - AGENT }, 'a faster delivery lowers it');
  t.same(c.observe(OURS + 40_000, AGENT + 10_000), { offset: OURS + 10 - AGENT }, 'a report that sat 30 s in a buffer does not raise it, nor is it a step');
});

t.test('the estimate covers the last 16 reports: an old minimum ages out', async (t) => {
  const c = new StreamClock();
  c.observe(OURS + 1, AGENT);
  let last = { offset: NaN };
  for (let i = 1; i <= 16; i++) last = c.observe(OURS + i * 5_000 + 50, AGENT + i * 5_000);
  t.equal(last.offset, OURS + 50 - AGENT, 'after 16 more reports the 1 ms delivery is forgotten');
});

t.test('a step of ±1 h of the agent\'s clock is detected once, with its sign, and the offset follows at once', async (t) => {
  for (const step of [HOUR, -HOUR]) {
    const c = new StreamClock();
    for (let i = 0; i < 5; i++) t.equal(c.observe(OURS + i * 5_000 + 10, AGENT + i * 5_000).stepMs, undefined);
    const at = OURS + 5 * 5_000 + 10;
    const stepped = c.observe(at, AGENT + 5 * 5_000 + step);
    t.equal(stepped.stepMs, step, `the agent's clock moved by ${step / HOUR} h`);
    t.equal(stepped.offset, at - (AGENT + 5 * 5_000 + step), 'the new offset, not the minimum over the old one');
    const next = c.observe(at + 5_000, AGENT + 6 * 5_000 + step);
    t.equal(next.stepMs, undefined, 'the reports after the step are not steps again');
    t.equal(next.offset, stepped.offset);
  }
});

t.test(`a move of up to STEP_MS (${STEP_MS / 1000} s) is delivery delay, not a step`, async (t) => {
  const c = new StreamClock();
  c.observe(OURS, AGENT);
  t.equal(c.observe(OURS + 5_000 + STEP_MS, AGENT + 5_000).stepMs, undefined, 'exactly STEP_MS late: a slow delivery');
  t.equal(c.observe(OURS + 10_000 + STEP_MS + 1, AGENT + 10_000).stepMs, -(STEP_MS + 1), 'one ms more: a step back of the agent\'s clock');
});

t.test('reset forgets the estimate: the first report of a new stream is never a step', async (t) => {
  const c = new StreamClock();
  c.observe(OURS, AGENT);
  c.reset();
  t.same(c.observe(OURS + 1_000, AGENT + 5 * HOUR), { offset: OURS + 1_000 - AGENT - 5 * HOUR });
});
