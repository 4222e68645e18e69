// The loop-delay meter's two counters: the loop's active time and the
// thread's CPU plus run-queue wait (schedstat), read from a fixture file where
// the value must be exact and from the kernel's where it must be real.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LoopDelayMeter, SCHEDSTAT } from '../../agent/loop-delay.js';
import { skipUnlessCi } from '../helpers/ci.js';
import { canRun } from '../helpers/child.js';

function fixture(t: { teardown(fn: () => void): void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-schedstat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'schedstat');
  writeFileSync(file, text);
  return file;
}

t.test('schedstat: CPU time plus run-queue wait, in ms, from its first two fields', async (t) => {
  const m = new LoopDelayMeter(fixture(t, '1234567890 987654321 42\n'));
  t.teardown(() => m.close());
  t.ok(m.schedstat, 'read');
  t.equal(m.mark().busy, (1_234_567_890 + 987_654_321) / 1e6);
});

t.test('a schedstat that is missing or not two numbers: the loop\'s active time alone', async (t) => {
  for (const [what, path] of [
    ['missing', join(tmpdir(), 'netmatrix-no-such-dir', 'schedstat')],
    ['one field', fixture(t, '1234\n')],
    ['words', fixture(t, 'cpu wait slices\n')],
    ['empty', fixture(t, '')],
  ] as const) {
    const m = new LoopDelayMeter(path);
    t.notOk(m.schedstat, `${what}: not used`);
    t.ok(Number.isNaN(m.mark().busy), `${what}: no busy time`);
    m.close();
  }
  const none = new LoopDelayMeter(null);
  t.notOk(none.schedstat, 'null: not read');
});

t.test('unavailable: the larger of the two differences, never negative', async (t) => {
  const m = new LoopDelayMeter(null);
  const at = (active: number, busy: number) => ({ at: 0, active, busy });
  t.equal(m.unavailable(at(10, 100), at(15, 140)), 40, 'a starved thread: the run-queue wait, which the loop counts as idle');
  t.equal(m.unavailable(at(10, 100), at(70, 110)), 60, 'a synchronous sleep: the loop\'s active time, no CPU');
  t.equal(m.unavailable(at(10, NaN), at(25, NaN)), 15, 'without schedstat: the active time');
  t.equal(m.unavailable(at(10, 100), at(10, 100)), 0);
});

const procSkip = skipUnlessCi(canRun('cat', [SCHEDSTAT]) ? false : `no ${SCHEDSTAT} (not Linux, or a kernel without CONFIG_SCHED_INFO)`);

t.test('on this kernel: a busy loop shows in both counters', { skip: procSkip }, async (t) => {
  const m = new LoopDelayMeter();
  t.teardown(() => m.close());
  t.ok(m.schedstat, `${SCHEDSTAT} is read`);
  const from = m.mark();
  const until = performance.now() + 50;
  while (performance.now() < until);
  const to = m.mark();
  t.ok(to.active - from.active >= 50, `active time ${(to.active - from.active).toFixed(1)} ms for a 50 ms busy loop`);
  // CPU time is kept by the scheduler tick: the running thread's may lag by one (4 ms at HZ=250).
  t.ok(to.busy - from.busy >= 40, `CPU plus wait ${(to.busy - from.busy).toFixed(1)} ms`);
  t.ok(m.unavailable(from, to) >= 50, 'unavailable: at least the busy loop');
});
