// The simulator's walk of a sampled plan takes, round by round, the peers the
// agent's own walk (agent/peers.ts PeerWalk) takes: the same fixed peers,
// follow-ups and ring walk, across plan changes (nodes joining and leaving,
// fixed peers moving) and failures. Seeded random plans, many rounds.
import t from 'tap';
import { PeerWalk, type PeerInfo } from '../../agent/peers.js';
import type { SimPlan } from '../../sim/plan.js';
import { SimWalk } from '../../sim/walk.js';
import { mulberry32 } from '../helpers/random.js';

function plan(names: readonly string[]): SimPlan {
  return { epoch: 1, intervalMs: 5000, timeoutMs: 1000, kinds: [0], peers: names.map((name, index) => ({ name, index, podIp: '192.0.2.1', nodeIp: '198.51.100.1' })), dns: [], bytes: 0 };
}
const info = (name: string): PeerInfo => ({ nodeName: name, podIps: ['192.0.2.1'], nodeIps: ['198.51.100.1'], zone: 'z', responderPort: 9402 });

t.test('SimWalk takes the peers PeerWalk takes, round after round, across plans and failures', async (t) => {
  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = mulberry32(seed);
    const int = (n: number) => Math.floor(rnd() * n);
    let names = Array.from({ length: 5 + int(60) }, (_, i) => `n-${i}`);
    let nextName = names.length;
    const self = names[int(names.length)]!;
    const ref = new PeerWalk(self);
    const sim = new SimWalk(self);
    let p = plan(names);
    const set = () => {
      const peersPerRound = 1 + int(Math.max(1, names.length / 2));
      const fixed = Array.from({ length: int(Math.min(6, peersPerRound)) }, () => int(names.length + 2) - 1); // a few out of range too
      const followMax = int(peersPerRound + 1);
      ref.setPlan(names.map(info), { peersPerRound, fixed, followMax });
      sim.setPlan(p, { peersPerRound, fixed, followMax });
    };
    set();
    for (let round = 0; round < 60; round++) {
      if (rnd() < 0.1) {
        // A plan change: nodes leave (never this one) or join, in ring order.
        if (rnd() < 0.5 && names.length > 4) names = names.filter((n) => n === self || rnd() > 0.2);
        else names.splice(int(names.length + 1), 0, `n-${nextName++}`);
        p = plan(names);
        set();
      }
      const want = ref.next().map((x) => x.nodeName);
      const got = sim.next().map((i) => p.peers[i]!.name);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        t.same(got, want, `seed ${seed}, round ${round}`);
        return;
      }
      compared++;
      // Some peers fail this round: both are told the same.
      for (const name of want) {
        const ok = rnd() > 0.15;
        ref.observe(name, ok);
        sim.observe(p.peers.findIndex((x) => x.name === name), ok);
      }
      if (sim.following !== ref.following) {
        t.equal(sim.following, ref.following, `seed ${seed}, round ${round}: peers followed up`);
        return;
      }
    }
  }
  t.equal(compared, 40 * 60, 'every round of every seed compared');
});

t.test('a walk of a plan that does not list this node starts at the first peer', async (t) => {
  const sim = new SimWalk('elsewhere');
  const p = plan(['a', 'b', 'c', 'd']);
  sim.setPlan(p, { peersPerRound: 3, fixed: [3], followMax: 0 });
  t.same(sim.next().map((i) => p.peers[i]!.name), ['d', 'a', 'b']);
  t.same(sim.next().map((i) => p.peers[i]!.name), ['d', 'c', 'a']);
});
