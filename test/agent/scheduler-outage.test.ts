// A big outage against the real Scheduler, with real (short) timers, the
// system clock and seeded randomness: 300 peers whose probes hang until the
// deadline (blackholed) beside 50 that answer, in a seeded plan order. With
// one FIFO pool of slots for every kind and a fixed order, the probes at the
// tail of the list never got a slot, live or dead; with a budget per kind and
// the order rotated, live peers are probed every round and dead ones in turn.
import t, { type Test } from 'tap';
import type { ProbeSpec } from '../../agent/peers.js';
import type { Prober, ProberRegistry } from '../../agent/probers/types.js';
import { Scheduler, type RoundResult, type SchedulerOptions } from '../../agent/scheduler.js';
import { systemClock } from '../../common/clock.js';
import { silentLogger } from '../../common/logger.js';
import type { PairKind } from '../../common/vocabulary.js';
import { mulberry32 } from '../helpers/random.js';
import { waitFor } from '../helpers/wait.js';

const DEAD = 300;
const LIVE = 50;
const INTERVAL_MS = 300;
const TIMEOUT_MS = 60;

/** Peer i: `dead-i` or `live-i`, on a documentation address of its own. */
function peers(seed: number): { node: string; ip: string }[] {
  const names = [...Array.from({ length: DEAD }, (_, i) => `dead-${i}`), ...Array.from({ length: LIVE }, (_, i) => `live-${i}`)];
  const random = mulberry32(seed);
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  const nets = ['192.0.2', '198.51.100', '203.0.113'];
  return names.map((node, i) => ({ node, ip: `${nets[Math.floor(i / 250)]}.${(i % 250) + 1}` }));
}

function spec(kind: PairKind, p: { node: string; ip: string }): ProbeSpec {
  return { id: `${kind}/${p.node}/${p.ip}`, kind, node: p.node, ip: p.ip, family: 'ipv4', port: 9402 };
}

/** Answers at once for `live-*` targets (or every target when `answers`); otherwise hangs until its signal fires, as a connect to a blackholed peer does. */
function prober(answers: (node: string) => boolean) {
  const state = { inFlight: 0, maxInFlight: 0 };
  const p: Prober = (target, signal) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    return new Promise((resolve) => {
      const settle = (outcome: 'ok' | 'timeout') => {
        state.inFlight--;
        resolve(outcome === 'ok' ? { outcome, rttUs: 100 } : { outcome, rttUs: 0 });
      };
      if (answers(target.node)) queueMicrotask(() => settle('ok'));
      else signal.addEventListener('abort', () => settle('timeout'), { once: true });
    });
  };
  return { prober: p, state };
}

const isLive = (node: string) => node.startsWith('live-');

async function run(t: Test, probers: ProberRegistry, probes: ProbeSpec[], rounds: number, over: Partial<SchedulerOptions> = {}) {
  const reported: RoundResult[] = [];
  const skipped: { kind: string; reason: string; count: number }[] = [];
  const scheduler = new Scheduler({
    probers,
    clock: systemClock,
    log: silentLogger(),
    maxConcurrent: 40,
    random: mulberry32(7),
    onRound: (r) => reported.push(r),
    onSkipped: (kind, reason, count) => skipped.push({ kind, reason, count }),
    ...over,
  });
  t.teardown(() => scheduler.stop());
  scheduler.setSpec({ probes, intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS });
  await waitFor(`${rounds} rounds`, () => reported.length >= rounds, rounds * INTERVAL_MS + 5_000, 10);
  await scheduler.stop();
  /** Per probe id, the rounds (1-based, among the first `rounds`) it ran in. */
  const ranIn = new Map<string, number[]>(probes.map((p) => [p.id, []]));
  for (const r of reported.slice(0, rounds)) for (const x of r.results) ranIn.get(x.spec.id)!.push(r.round);
  return { reported: reported.slice(0, rounds), ranIn, skipped, scheduler };
}

/** Ids that did not run in every window of `window` consecutive rounds among rounds 1..rounds. */
function starved(ranIn: Map<string, number[]>, ids: readonly string[], rounds: number, window: number): string[] {
  return ids.filter((id) => {
    const ran = new Set(ranIn.get(id));
    for (let first = 1; first + window - 1 <= rounds; first++) {
      if (!Array.from({ length: window }, (_, i) => first + i).some((r) => ran.has(r))) return true;
    }
    return false;
  });
}

t.test('300 blackholed peers and 50 live ones, slots for half of the dead: live every round, dead in turn', async (t) => {
  const plan = peers(16).map((p) => spec('tcp', p));
  const tcp = prober(isLive);
  const ROUNDS = 8;
  const { reported, ranIn, skipped, scheduler } = await run(t, { tcp: tcp.prober }, plan, ROUNDS);
  t.equal(tcp.state.maxInFlight <= 40, true, `at most the 40 slots in flight (saw ${tcp.state.maxInFlight})`);
  t.same([...scheduler.slots], [['tcp', { slots: 40, need: 88 }]], '350 probes of 60 ms in 300 ms need 88 slots; the bound gives 40');
  const live = plan.filter((p) => isLive(p.node)).map((p) => p.id);
  const dead = plan.filter((p) => !isLive(p.node)).map((p) => p.id);
  // Round 1 knows nothing yet: live peers that come after the slots filled with dead ones wait for round 2.
  for (const r of reported.slice(1)) {
    const missing = live.filter((id) => !ranIn.get(id)!.includes(r.round));
    t.same(missing, [], `round ${r.round}: every live peer probed`);
  }
  const notInThree = starved(ranIn, dead, ROUNDS, 3);
  t.same(notInThree.slice(0, 5), [], `every dead peer probed at least once in every 3 consecutive rounds (${notInThree.length} of ${DEAD} were not)`);
  const deadPerRound = reported.map((r) => r.results.filter((x) => !isLive(x.spec.node)).length);
  t.ok(deadPerRound.every((n) => n >= 120), `dead probes per round use the slots (${deadPerRound.join(', ')})`);
  t.ok(reported.every((r) => r.results.every((x) => x.result.outcome === (isLive(x.spec.node) ? 'ok' : 'timeout'))), 'live peers answered, dead ones timed out');
  const noSlot = skipped.filter((s) => s.reason === 'no_slot');
  t.ok(noSlot.every((s) => s.kind === 'tcp'), 'skips are counted by kind');
  const skippedInReported = noSlot.slice(0, ROUNDS).reduce((s, x) => s + x.count, 0);
  const notRun = reported.reduce((s, r) => s + plan.length - r.results.length, 0);
  t.equal(skippedInReported, notRun, 'every probe not run is counted as no_slot with its round');
  t.ok(scheduler.tracked <= plan.length, 'state kept per probe of the plan, no more');
});

t.test('a kind blackholed towards every peer does not starve another kind', async (t) => {
  // tcp answers everywhere, http hangs everywhere (a NetworkPolicy dropping
  // the responder's http port, say); per peer, tcp then http, as probeSet orders them.
  const plan = peers(61).flatMap((p) => [spec('tcp', p), spec('http', p)]);
  const tcp = prober(() => true);
  const http = prober(() => false);
  const ROUNDS = 8;
  const { reported, ranIn, scheduler } = await run(t, { tcp: tcp.prober, http: http.prober }, plan, ROUNDS);
  t.same(Object.fromEntries(scheduler.slots), { tcp: { slots: 20, need: 88 }, http: { slots: 20, need: 88 } }, 'the 40 slots shared in proportion to need');
  const tcpIds = plan.filter((p) => p.kind === 'tcp').map((p) => p.id);
  const httpIds = plan.filter((p) => p.kind === 'http').map((p) => p.id);
  for (const r of reported) {
    const missing = tcpIds.filter((id) => !ranIn.get(id)!.includes(r.round));
    t.same(missing.slice(0, 5), [], `round ${r.round}: every tcp probe ran (${missing.length} of ${tcpIds.length} did not)`);
  }
  // 20 slots × 4 runs of 60 ms per 300 ms round: 80 of the 350 hanging http probes a round.
  const notInSix = starved(ranIn, httpIds, ROUNDS, 6);
  t.same(notInSix.slice(0, 5), [], `every http probe ran at least once in every 6 consecutive rounds (${notInSix.length} of ${httpIds.length} did not)`);
  t.ok(http.state.maxInFlight <= 20, `http kept to its 20 slots (saw ${http.state.maxInFlight})`);
});

t.test('slots sized from peers × timeout: when the bound allows, every probe runs every round, the dead ones too', async (t) => {
  const plan = peers(3).map((p) => spec('tcp', p));
  const tcp = prober(isLive);
  const ROUNDS = 5;
  const { reported, skipped, scheduler } = await run(t, { tcp: tcp.prober }, plan, ROUNDS, { maxConcurrent: 128 });
  t.same([...scheduler.slots], [['tcp', { slots: 88, need: 88 }]]);
  for (const r of reported) t.equal(r.results.length, plan.length, `round ${r.round}: all ${plan.length} probes`);
  t.same(skipped, []);
  t.ok(tcp.state.maxInFlight <= 88, `in flight at most the 88 slots (saw ${tcp.state.maxInFlight})`);
});
