// The probe scheduler with fake probers and real (short) timers. Every wait is
// for an event, with a deadline; nothing is left running.
import t, { type Test } from 'tap';
import type { ProbeSpec } from '../../agent/peers.js';
import type { ProbeOutcome, Prober, ProberRegistry, ProbeTarget } from '../../agent/probers/types.js';
import { Scheduler, slotBudgets, spreadWindow, type RoundResult, type ScheduleSpec, type SchedulerOptions } from '../../agent/scheduler.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger } from '../../common/logger.js';
import type { PairKind, ProbeKind } from '../../common/vocabulary.js';
import { logSink } from '../helpers/log-sink.js';
import { mulberry32 } from '../helpers/random.js';
import { waitFor } from '../helpers/wait.js';

function spec(kind: PairKind, node: string, ip: string): ProbeSpec {
  return { id: `${kind}/${node}/${ip}`, kind, node, ip, family: ip.includes(':') ? 'ipv6' : 'ipv4', port: 9402 };
}

function probes(kind: PairKind, n: number, net = '192.0.2'): ProbeSpec[] {
  return Array.from({ length: n }, (_, i) => spec(kind, `node-${i + 1}`, `${net}.${i + 1}`));
}

const OK: ProbeOutcome = Object.freeze({ outcome: 'ok', rttUs: 250 });

/** A prober answering after `holdMs` (0: at once), counting how many calls are in flight. */
function fakeProber(holdMs = 0, outcome: ProbeOutcome = OK) {
  const state = { calls: 0, inFlight: 0, maxInFlight: 0, targets: [] as ProbeTarget[] };
  const prober: Prober = (target) => {
    state.calls++;
    state.targets.push(target);
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    return new Promise((resolve) => {
      const finish = () => {
        state.inFlight--;
        resolve(outcome);
      };
      if (holdMs === 0) queueMicrotask(finish);
      else setTimeout(finish, holdMs);
    });
  };
  return { prober, state };
}

/** A prober that ignores its signal and only settles when the test releases it. */
function stuckProber() {
  const releases: (() => void)[] = [];
  const state = { calls: 0, signals: [] as AbortSignal[], calledAt: [] as number[] };
  const prober: Prober = (_target, signal) => {
    state.calls++;
    state.signals.push(signal);
    state.calledAt.push(performance.now());
    return new Promise((resolve) => releases.push(() => resolve(OK)));
  };
  return { prober, state, release: () => releases.splice(0).forEach((r) => r()) };
}

interface Harness {
  readonly scheduler: Scheduler;
  readonly rounds: (RoundResult & { at: number })[];
  readonly skipped: { kind: ProbeKind; reason: string; count: number }[];
  readonly probed: { kind: ProbeKind; result: ProbeOutcome }[];
  /** Resolves with the first round (seen or future) matching `pred`; rejects after `timeoutMs`. */
  round(pred?: (r: RoundResult) => boolean, timeoutMs?: number): Promise<RoundResult & { at: number }>;
}

function harness(t: Test, probers: ProberRegistry, over: Partial<SchedulerOptions> = {}): Harness {
  const rounds: (RoundResult & { at: number })[] = [];
  const skipped: { kind: ProbeKind; reason: string; count: number }[] = [];
  const probed: { kind: ProbeKind; result: ProbeOutcome }[] = [];
  const waiters = new Set<() => void>();
  const scheduler = new Scheduler({
    probers,
    clock: systemClock,
    log: silentLogger(),
    maxConcurrent: 100,
    random: () => 0,
    spreadFraction: 0,
    onRound: (r) => {
      rounds.push({ ...r, at: performance.now() });
      for (const w of [...waiters]) w();
    },
    onSkipped: (kind, reason, count) => skipped.push({ kind, reason, count }),
    onProbe: (kind, result) => probed.push({ kind, result }),
    ...over,
  });
  t.teardown(() => scheduler.stop());
  return {
    scheduler,
    rounds,
    skipped,
    probed,
    round(pred = () => true, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const r = rounds.find(pred);
          if (!r) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(r);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching round within ${timeoutMs}ms (saw ${rounds.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

t.test('one report per round, containing every probe of the plan', async (t) => {
  const icmp = fakeProber();
  const tcp = fakeProber();
  const h = harness(t, { icmp: icmp.prober, tcp: tcp.prober });
  const plan: ScheduleSpec = { probes: [...probes('icmp', 3), ...probes('tcp', 2, '198.51.100')], intervalMs: 80, timeoutMs: 40 };
  h.scheduler.setSpec(plan);
  await h.round((r) => r.round === 3);
  await h.scheduler.stop();
  t.same(h.rounds.slice(0, 3).map((r) => r.round), [1, 2, 3], 'numbered from 1');
  for (const r of h.rounds) {
    t.equal(r.results.length, 5, `round ${r.round} has every probe`);
    t.same(r.results.map((x) => x.spec.id).sort(), plan.probes.map((p) => p.id).sort());
    for (const x of r.results) {
      t.same(x.result, OK);
      t.ok(Math.abs(x.startedAt - Date.now()) < 60_000, 'startedAt is wall-clock time');
    }
  }
  t.equal(icmp.state.calls, 3 * h.rounds.length);
  t.equal(tcp.state.calls, 2 * h.rounds.length);
  t.same(icmp.state.targets[0], { node: 'node-1', ip: '192.0.2.1', family: 'ipv4', port: 9402 }, 'the prober gets the target, no more');
  t.equal(h.probed.length, 5 * h.rounds.length, 'onProbe for every probe');
  t.same(h.skipped, []);
  t.equal(h.scheduler.roundsStarted, h.rounds.length);
});

t.test('the first plan starts a round at once; rounds keep the interval', async (t) => {
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober });
  const start = performance.now();
  h.scheduler.setSpec({ probes: probes('tcp', 1), intervalMs: 100, timeoutMs: 50 });
  const first = await h.round((r) => r.round === 1);
  t.ok(first.at - start < 90, `first round after ${Math.round(first.at - start)}ms, not after an interval`);
  // Fixed cadence: round k starts on the grid start + (k−1) × interval, never before it.
  const fourth = await h.round((r) => r.round === 4);
  const sinceStart = fourth.at - start;
  t.ok(sinceStart >= 295, `round 4 after ${sinceStart.toFixed(1)}ms, not before 3 intervals`);
  t.ok(sinceStart < 700, 'and not much later');
});

t.test('spread and jitter: probes still all run, within the round', async (t) => {
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober }, { spreadFraction: 0.2, random: () => 0.5 });
  const plan = probes('tcp', 10);
  h.scheduler.setSpec({ probes: plan, intervalMs: 100, timeoutMs: 30 });
  const r = await h.round((x) => x.round === 2);
  t.equal(r.results.length, 10);
  t.same(r.results.map((x) => x.spec.id).sort(), plan.map((x) => x.id).sort());
});

t.test('a slow prober gets `timeout` at the plan\'s timeout even if it ignores its signal', async (t) => {
  const stuck = stuckProber();
  const fast = fakeProber();
  t.teardown(stuck.release);
  const h = harness(t, { http: stuck.prober, tcp: fast.prober });
  h.scheduler.setSpec({ probes: [...probes('http', 1), ...probes('tcp', 1)], intervalMs: 1_000, timeoutMs: 60 });
  const r = await h.round((x) => x.round === 1, 2_000);
  await h.scheduler.stop();
  const elapsed = r.at - stuck.state.calledAt[0]!;
  t.ok(elapsed >= 55, `reported after ${elapsed.toFixed(1)}ms, not before the timeout`);
  t.ok(elapsed < 500, 'and soon after it');
  const byKind = Object.fromEntries(r.results.map((x) => [x.spec.kind, x.result]));
  t.same(byKind.http, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  t.same(byKind.tcp, OK, 'the other probe of the round is unaffected');
  t.equal(stuck.state.signals[0]!.aborted, true, 'the prober\'s signal fired at the deadline');
});

t.test('a prober that throws is an error result, not a lost probe', async (t) => {
  const h = harness(t, { tcp: async () => Promise.reject(new Error('boom')) });
  h.scheduler.setSpec({ probes: probes('tcp', 2), intervalMs: 1_000, timeoutMs: 100 });
  const r = await h.round();
  t.same(r.results.map((x) => x.result), [
    { outcome: 'error', rttUs: 0, detail: 'prober failed' },
    { outcome: 'error', rttUs: 0, detail: 'prober failed' },
  ]);
});

t.test('concurrency never exceeds maxConcurrent', async (t) => {
  const p = fakeProber(10);
  const h = harness(t, { tcp: p.prober, http: p.prober }, { maxConcurrent: 3 });
  h.scheduler.setSpec({ probes: [...probes('tcp', 8), ...probes('http', 7, '203.0.113')], intervalMs: 2_000, timeoutMs: 500 });
  const r = await h.round((x) => x.round === 1);
  await h.scheduler.stop();
  t.equal(r.results.length, 15, 'every probe ran, in turn');
  t.equal(p.state.maxInFlight, 3, 'the limit was reached and never exceeded');
  t.same(h.skipped, []);
  t.ok(r.results.every((x) => x.result.outcome === 'ok'));
});

t.test('ICMP takes no slot: its probes share one socket', async (t) => {
  const icmp = fakeProber(30);
  const tcp = fakeProber(30);
  const h = harness(t, { icmp: icmp.prober, node: icmp.prober, tcp: tcp.prober }, { maxConcurrent: 1 });
  h.scheduler.setSpec({ probes: [...probes('icmp', 20), ...probes('node', 20, '198.51.100'), ...probes('tcp', 2, '203.0.113')], intervalMs: 1_000, timeoutMs: 200 });
  const r = await h.round((x) => x.round === 1);
  await h.scheduler.stop();
  t.equal(r.results.length, 42);
  t.equal(icmp.state.maxInFlight, 40, 'every icmp and node probe in flight at once, although maxConcurrent is 1');
  t.equal(tcp.state.maxInFlight, 1, 'tcp keeps to its slot');
  t.same([...h.scheduler.slots], [['tcp', { slots: 1, need: 1 }]], 'only tcp has a budget');
});

t.test('concurrency is shared between rounds whose probes overlap', async (t) => {
  const p = fakeProber(70);
  const h = harness(t, { tcp: p.prober }, { maxConcurrent: 2 });
  // Probes take 70 ms and rounds start every 40 ms: the next round begins while
  // the slots are still held by the previous one.
  h.scheduler.setSpec({ probes: probes('tcp', 3), intervalMs: 40, timeoutMs: 100 });
  await h.round((x) => x.round >= 3);
  await h.scheduler.stop();
  t.ok(h.scheduler.roundsStarted >= 3);
  t.equal(p.state.maxInFlight, 2, `at most 2 in flight across rounds (saw ${p.state.maxInFlight})`);
  t.ok(h.skipped.some((s) => s.reason === 'no_slot'), 'what could not get a slot was skipped, not queued forever');
});

t.test('a probe that cannot get a slot before the round\'s latest start is skipped as no_slot', async (t) => {
  const stuck = stuckProber();
  t.teardown(stuck.release);
  const h = harness(t, { tcp: stuck.prober }, { maxConcurrent: 1 });
  // Latest start = interval − timeout = 50 ms; the one slot is held for the 150 ms timeout.
  h.scheduler.setSpec({ probes: probes('tcp', 3), intervalMs: 200, timeoutMs: 150 });
  const r = await h.round((x) => x.round === 1, 2_000);
  await h.scheduler.stop();
  t.equal(stuck.state.calls >= 1, true);
  t.same(r.results.map((x) => x.spec.id), ['tcp/node-1/192.0.2.1'], 'only the probe that had the slot');
  t.equal(r.results[0]!.result.outcome, 'timeout');
  t.same(h.skipped[0], { kind: 'tcp', reason: 'no_slot', count: 2 }, 'the skipped probes reported with the round, by kind');
});

t.test('queued probes that get a slot in time do run', async (t) => {
  const p = fakeProber(5);
  const h = harness(t, { tcp: p.prober }, { maxConcurrent: 1 });
  h.scheduler.setSpec({ probes: probes('tcp', 4), intervalMs: 2_000, timeoutMs: 100 });
  const r = await h.round();
  t.equal(r.results.length, 4);
  t.same(h.skipped, []);
  t.equal(p.state.maxInFlight, 1);
});

t.test('kinds without a prober are skipped as no_prober, once per round and kind with a count', async (t) => {
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober });
  h.scheduler.setSpec({ probes: [...probes('tcp', 2), ...probes('mtu', 3), ...probes('icmp', 1, '198.51.100')], intervalMs: 60, timeoutMs: 30 });
  const r = await h.round((x) => x.round === 2);
  await h.scheduler.stop();
  t.same(r.results.map((x) => x.spec.kind), ['tcp', 'tcp'], 'the round reports what could run');
  t.same(h.skipped.slice(0, 4), [
    { kind: 'mtu', reason: 'no_prober', count: 3 },
    { kind: 'icmp', reason: 'no_prober', count: 1 },
    { kind: 'mtu', reason: 'no_prober', count: 3 },
    { kind: 'icmp', reason: 'no_prober', count: 1 },
  ]);
  t.equal(h.skipped.length, 2 * h.scheduler.roundsStarted, 'one report per round and kind');
});

t.test('a plan whose probes all lack a prober still ends its rounds', async (t) => {
  const h = harness(t, {});
  h.scheduler.setSpec({ probes: probes('icmp', 2), intervalMs: 50, timeoutMs: 20 });
  const r = await h.round((x) => x.round === 2);
  t.same(r.results, []);
  t.same(h.skipped[0], { kind: 'icmp', reason: 'no_prober', count: 2 });
});

t.test('an empty plan makes empty rounds', async (t) => {
  const h = harness(t, {});
  h.scheduler.setSpec({ probes: [], intervalMs: 50, timeoutMs: 20 });
  const r = await h.round((x) => x.round === 2);
  t.same(r.results, []);
  t.same(h.skipped, []);
});

t.test('a new plan takes effect at the next round without restarting the cadence', async (t) => {
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober });
  h.scheduler.setSpec({ probes: probes('tcp', 1), intervalMs: 60, timeoutMs: 30 });
  const first = await h.round();
  h.scheduler.setSpec({ probes: probes('tcp', 3, '203.0.113'), intervalMs: 60, timeoutMs: 30 });
  const later = await h.round((x) => x.results.length === 3);
  t.ok(later.round > first.round);
  t.same(later.results.map((x) => x.spec.ip).sort(), ['203.0.113.1', '203.0.113.2', '203.0.113.3']);
  t.same(h.rounds.map((x) => x.round), h.rounds.map((_, i) => i + 1), 'one sequence of rounds, none doubled');
});

t.test('stop() aborts probes in flight, waits for them, and no round is reported after', async (t) => {
  const baseline = timers();
  const signals: AbortSignal[] = [];
  let called!: () => void;
  const inFlight = new Promise<void>((r) => (called = r));
  // A well-behaved prober: settles as soon as its signal fires.
  const polite: Prober = (_target, signal) => {
    signals.push(signal);
    called();
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ outcome: 'timeout', rttUs: 0 }), { once: true }));
  };
  const h = harness(t, { tcp: polite });
  h.scheduler.setSpec({ probes: probes('tcp', 2), intervalMs: 5_000, timeoutMs: 4_000 });
  await inFlight;
  t.equal(h.rounds.length, 0);
  const before = performance.now();
  await h.scheduler.stop();
  t.ok(performance.now() - before < 1_000, 'stop does not wait for the probe timeout');
  t.ok(signals.length >= 1);
  t.ok(signals.every((s) => s.aborted), 'every probe in flight was aborted');
  t.equal(h.rounds.length, 0, 'the interrupted round is not reported');
  t.equal(timers(), baseline, 'no timer of the scheduler is left');
  h.scheduler.setSpec({ probes: probes('tcp', 1), intervalMs: 50, timeoutMs: 20 });
  t.equal(timers(), baseline, 'a plan after stop starts nothing');
  t.equal(h.rounds.length, 0);
});

t.test('stop() also abandons a prober that ignores its signal', async (t) => {
  const stuck = stuckProber();
  t.teardown(stuck.release);
  const baseline = timers();
  const h = harness(t, { tcp: stuck.prober });
  h.scheduler.setSpec({ probes: probes('tcp', 1), intervalMs: 5_000, timeoutMs: 4_000 });
  const deadline = Date.now() + 2_000;
  while (stuck.state.calls === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  t.equal(stuck.state.calls, 1);
  const before = performance.now();
  await h.scheduler.stop();
  t.ok(performance.now() - before < 1_000, 'stop returns without the prober');
  t.equal(stuck.state.signals[0]!.aborted, true);
  t.equal(h.rounds.length, 0);
  t.equal(timers(), baseline);
});

t.test('stop() between rounds leaves nothing scheduled', async (t) => {
  const baseline = timers();
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober });
  h.scheduler.setSpec({ probes: probes('tcp', 2), intervalMs: 100, timeoutMs: 50 });
  await h.round((x) => x.round === 2);
  await h.scheduler.stop();
  const seen = h.rounds.length;
  const calls = p.state.calls;
  t.equal(timers(), baseline, 'the next round\'s timer is gone');
  t.equal(h.rounds.length, seen);
  t.equal(p.state.calls, calls);
  await h.scheduler.stop();
  t.pass('stopping twice is harmless');
});

t.test('an onProbe that throws loses no slot, no probe and no round: counted, logged once, no unhandled rejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  const sink = logSink('error');
  const failed: string[] = [];
  const p = fakeProber(2);
  // One slot: a slot lost to the first throw would leave every later probe waiting.
  const h = harness(t, { tcp: p.prober }, {
    maxConcurrent: 1,
    log: sink.log,
    onProbe: () => {
      throw new Error('bug in onProbe');
    },
    onCallbackError: (callback) => failed.push(callback),
  });
  h.scheduler.setSpec({ probes: probes('tcp', 3), intervalMs: 100, timeoutMs: 20 });
  const r = await h.round((x) => x.round === 3);
  await h.scheduler.stop();
  t.equal(r.results.length, 3, 'round 3 has all its probes, run one after another in the one slot');
  t.same(h.skipped, [], 'nothing waited past its latest start');
  t.equal(failed.length, p.state.calls, 'every throw counted');
  t.same([...new Set(failed)], ['probe']);
  const lines = sink.lines.filter((l) => l.msg === 'scheduler callback threw: caught, probing goes on; counted, logged once per callback');
  t.equal(lines.length, 1, 'logged once');
  t.match(lines[0], { callback: 'probe', err: { message: 'bug in onProbe' } });
  await new Promise((resolve) => setImmediate(resolve));
  t.same(unhandled, [], 'no unhandled rejection');
});

t.test('an onRound that throws does not stop the rounds, with or without probes', async (t) => {
  const failed: string[] = [];
  for (const plan of [probes('tcp', 2), []]) {
    let calls = 0;
    const scheduler = new Scheduler({
      probers: { tcp: fakeProber().prober },
      clock: systemClock,
      log: silentLogger(),
      maxConcurrent: 10,
      random: () => 0,
      onRound: () => {
        calls++;
        throw new Error('bug in onRound');
      },
      onCallbackError: (callback) => failed.push(callback),
    });
    t.teardown(() => scheduler.stop());
    scheduler.setSpec({ probes: plan, intervalMs: 30, timeoutMs: 10 });
    await waitFor('three rounds', () => calls >= 3, 5_000, 5);
    await scheduler.stop();
    t.pass(`${plan.length} probes: rounds went on after onRound threw`);
  }
  t.ok(failed.length >= 6 && failed.every((c) => c === 'round'), 'counted as round');
});

t.test('slot budgets: sized from probes × timeout, shared in proportion within the bound', async (t) => {
  const counts = (o: Record<string, number>) => new Map(Object.entries(o)) as Map<ProbeKind, number>;
  // 5 s rounds, 1 s timeout, 250 ms spread: a slot fits ⌊0.95 × 4750 / 1000⌋ = 4 hanging probes.
  const defaults = { intervalMs: 5_000, timeoutMs: 1_000, spreadMs: 250 };
  t.same(Object.fromEntries(slotBudgets(counts({ tcp: 100, http: 100, icmp: 100, node: 100, dns: 9 }), { ...defaults, maxConcurrent: 128 })), {
    tcp: { slots: 25, need: 25 },
    http: { slots: 25, need: 25 },
    dns: { slots: 3, need: 3 },
  }, 'within the bound every kind gets its need; icmp and node take no slot');
  t.same(Object.fromEntries(slotBudgets(counts({ tcp: 1_000, http: 1_000, dns: 9 }), { ...defaults, maxConcurrent: 128 })), {
    tcp: { slots: 64, need: 250 },
    http: { slots: 63, need: 250 },
    dns: { slots: 1, need: 3 },
  }, 'over it, shares of the 128 in proportion to need');
  t.same(Object.fromEntries(slotBudgets(counts({ tcp: 10, http: 10, dns: 10 }), { ...defaults, maxConcurrent: 2 })), {
    tcp: { slots: 1, need: 3 },
    http: { slots: 1, need: 3 },
    dns: { slots: 1, need: 3 },
  }, 'at least one slot per kind');
  t.same(slotBudgets(counts({ tcp: 7 }), { intervalMs: 1_000, timeoutMs: 900, spreadMs: 50, maxConcurrent: 128 }).get('tcp'), { slots: 7, need: 7 }, 'a timeout near the interval: one probe per slot and round');
  t.equal(spreadWindow(5_000, 1_000, 0.05), 250);
  t.equal(spreadWindow(1_000, 990, 0.05), 10, 'never past the latest start');
});

t.test('the order rotates: no probe is always first or last', async (t) => {
  const p = fakeProber();
  const h = harness(t, { tcp: p.prober }, { random: mulberry32(16), maxConcurrent: 1 });
  h.scheduler.setSpec({ probes: probes('tcp', 5), intervalMs: 40, timeoutMs: 10 });
  await h.round((x) => x.round === 8);
  await h.scheduler.stop();
  const rounds = Array.from({ length: 8 }, (_, i) => p.state.targets.slice(i * 5, i * 5 + 5).map((x) => x.ip));
  t.ok(new Set(rounds.map((r) => r[0])).size > 1, `first: ${rounds.map((r) => r[0]).join(' ')}`);
  t.ok(new Set(rounds.map((r) => r[4])).size > 1, `last: ${rounds.map((r) => r[4]).join(' ')}`);
});

t.test('a new plan drops what was kept for probes no longer in it', async (t) => {
  const p = fakeProber(0, { outcome: 'timeout', rttUs: 0 });
  const h = harness(t, { tcp: p.prober });
  h.scheduler.setSpec({ probes: probes('tcp', 20), intervalMs: 40, timeoutMs: 10 });
  await h.round((x) => x.round === 2);
  t.equal(h.scheduler.tracked, 20, 'each timed-out probe remembered for the order');
  // A rollout: the same number of peers under new names and addresses.
  h.scheduler.setSpec({ probes: probes('tcp', 20, '203.0.113').map((x) => ({ ...x, id: `${x.id}-new`, node: `${x.node}-new` })), intervalMs: 40, timeoutMs: 10 });
  t.equal(h.scheduler.tracked, 0, 'the old probes forgotten at once');
  const first = h.scheduler.roundsStarted;
  await h.round((x) => x.round === first + 2);
  await h.scheduler.stop();
  t.equal(h.scheduler.tracked, 20, 'no more than the plan');
});
