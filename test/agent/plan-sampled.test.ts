// A sampled plan followed end to end on the agent: PlanFollower's schedule run
// by the real Scheduler with a fake prober and short real timers. Each round
// probes the fixed peers and the next peers of the walk; a peer that failed is
// probed again the next round; over a turn of the ring every peer is probed.
import t from 'tap';
import { createAgentMetrics } from '../../agent/metrics.js';
import { PlanFollower } from '../../agent/plan.js';
import type { Prober, ProbeTarget } from '../../agent/probers/types.js';
import { Scheduler, type RoundResult } from '../../agent/scheduler.js';
import { CidrSet, parseCidr } from '../../common/cidr.js';
import { systemClock } from '../../common/clock.js';
import type { Plan__Output } from '../../proto/load.js';
import { logSink } from '../helpers/log-sink.js';
import { waitFor } from '../helpers/wait.js';

t.test('every round: the fixed peers and the walk\'s next ones; a failure followed up; every peer within a turn', async (t) => {
  const peers = Array.from({ length: 20 }, (_, i) => ({ nodeName: `node-${i}`, podIps: [`192.0.2.${i + 1}`], nodeIps: [], zone: '', responderPort: 9402 }));
  const plan: Plan__Output = {
    epoch: 1,
    peers,
    kinds: ['PROBE_KIND_TCP'],
    intervalMs: 100,
    timeoutMs: 40,
    dnsServers: [],
    dnsQuestions: [],
    dnsNxZone: '',
    dnsTcpCheck: false,
    // node-0 is this agent; node-7 is probed every round.
    sampling: { peersPerRound: 4, fixed: [7], followMax: 1 },
  };
  // node-12 refuses its first probe only.
  let refused = false;
  const prober: Prober = async (target: ProbeTarget) => {
    if (target.node === 'node-12' && !refused) {
      refused = true;
      return { outcome: 'refused', rttUs: 0 };
    }
    return { outcome: 'ok', rttUs: 100 };
  };
  const metrics = createAgentMetrics();
  const follower = new PlanFollower({
    nodeName: 'node-0',
    maxPeers: 1_000,
    allowed: new CidrSet([parseCidr('192.0.2.0/24')!]),
    available: new Set(['tcp']),
    families: () => ['ipv4'],
    resolver: undefined,
    metrics,
    log: logSink('warn').log,
  });
  const rounds: string[][] = [];
  const scheduler = new Scheduler({
    probers: { tcp: prober },
    clock: systemClock,
    log: logSink('warn').log,
    maxConcurrent: 16,
    spreadFraction: 0,
    random: () => 0,
    onRound: (r: RoundResult) => {
      rounds.push(r.results.map((x) => x.spec.node).sort());
      follower.report(r);
    },
  });
  t.teardown(() => scheduler.stop());
  scheduler.setSpec(follower.follow(plan)!);
  await waitFor('8 rounds', () => rounds.length >= 8, 10_000);
  await scheduler.stop();
  for (const r of rounds) {
    t.equal(r.length, 4, 'four peers a round');
    t.ok(r.includes('node-7'), 'the fixed peer every round');
    t.notOk(r.includes('node-0'), 'never itself');
  }
  const at12 = rounds.findIndex((r) => r.includes('node-12'));
  t.ok(at12 >= 0 && rounds[at12 + 1]!.includes('node-12'), 'refused once: probed again the next round');
  const seen = new Set(rounds.slice(0, 7).flat());
  t.equal(seen.size, 19, 'every other node within a turn: ⌈18 / 3⌉ = 6 rounds, plus the follow-up\'s');
  t.equal(scheduler.tracked <= 4, true, 'what it keeps per probe is this round\'s');
});
