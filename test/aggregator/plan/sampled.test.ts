// The sampled plan's guarantees, checked by simulating rounds: the layout the
// aggregator computes (aggregator/plan/sampled.ts) followed the way agents
// follow it (agent/peers.ts PeerWalk: fixed peers every round, a walk round
// the ring), over random node sets, uneven zones, suspects and churn
// (fast-check, seeded, a bounded number of runs). The agents' rounds are not
// in step: each starts its walk a random number of rounds in.
import t from 'tap';
import fc from 'fast-check';
import { PeerWalk, type PeerInfo } from '../../../agent/peers.js';
import { fixedCapOf, ringOrder, sampledLayout, walkPeriod, type RingNode, type SampledLayout, type SamplingSettings } from '../../../aggregator/plan/sampled.js';

const SEED = 17_2026;

interface Cluster {
  readonly nodes: RingNode[];
  readonly settings: SamplingSettings;
  readonly suspects: string[];
  /** Rounds each agent's walk has run before the simulation looks. */
  readonly phases: number[];
}

/** Zone weights make zones uneven: one zone may hold most nodes. */
const clusterArb = (o: { maxNodes: number; maxZones: number }) =>
  fc
    .record({
      n: fc.integer({ min: 2, max: o.maxNodes }),
      weights: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: o.maxZones }),
      k: fc.integer({ min: 4, max: 64 }),
      m: fc.integer({ min: 1, max: 3 }),
      c: fc.integer({ min: 1, max: 300 }),
      suspectShare: fc.constantFrom(0, 0, 0.01, 0.05),
      salt: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .chain((r) =>
      fc.record({
        base: fc.constant(r),
        zoneDraws: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: r.n, maxLength: r.n }),
        suspectDraws: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: r.n, maxLength: r.n }),
        phases: fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: r.n, maxLength: r.n }),
      }),
    )
    .map(({ base: r, zoneDraws, suspectDraws, phases }): Cluster => {
      const total = r.weights.reduce((a, b) => a + b, 0);
      const zoneOf = (x: number) => {
        let acc = 0;
        for (let z = 0; z < r.weights.length; z++) {
          acc += r.weights[z]! / total;
          if (x < acc) return z;
        }
        return r.weights.length - 1;
      };
      const nodes = zoneDraws.map((x, i) => ({ name: `node-${r.salt}-${i}`, zone: `zone-${zoneOf(x)}` }));
      const suspects = nodes.filter((_, i) => suspectDraws[i]! < r.suspectShare).map((x) => x.name);
      return { nodes, settings: { peersPerRound: r.k, minProbers: r.m, suspectProbersMax: r.c }, suspects, phases };
    });

/** The directory as the wire carries it (only what the walk reads matters). */
function directory(layout: SampledLayout): PeerInfo[] {
  return layout.order.map((x) => ({ nodeName: x.name, podIps: [], nodeIps: [], zone: x.zone, responderPort: 9402 }));
}

/** Agents following a layout, one PeerWalk each, keyed by name (they survive plan changes). */
class Agents {
  readonly walks = new Map<string, PeerWalk>();
  apply(layout: SampledLayout, k: number, phases?: (name: string) => number): void {
    const dir = directory(layout);
    layout.order.forEach((x, p) => {
      let w = this.walks.get(x.name);
      const fresh = !w;
      if (!w) this.walks.set(x.name, (w = new PeerWalk(x.name)));
      w.setPlan(dir, { peersPerRound: k, fixed: layout.fixed[p]!, followMax: layout.followMax });
      if (fresh && phases) for (let r = phases(x.name); r > 0; r--) w.next();
    });
    const names = new Set(layout.order.map((x) => x.name));
    for (const name of this.walks.keys()) if (!names.has(name)) this.walks.delete(name);
  }
  /** One round: prober → the peers it probes. */
  round(): Map<string, PeerInfo[]> {
    return new Map([...this.walks].map(([name, w]) => [name, w.next()]));
  }
}

/**
 * What the zones can carry: every node has minProbers fixed probers (a
 * circulant: m fixed peers each); a node whose probers share one zone needs
 * one from another zone, and each ordered zone pair needs an edge. A prober
 * holds at most fixedCap fixed peers, so the room is (fixedCap − m) per node.
 */
function zonesCanCarry(nodes: readonly RingNode[], s: SamplingSettings): boolean {
  const sizes = new Map<string, number>();
  for (const x of nodes) sizes.set(x.zone, (sizes.get(x.zone) ?? 0) + 1);
  const n = nodes.length;
  const m = Math.min(s.minProbers, n - 1, fixedCapOf(s.peersPerRound));
  const room = fixedCapOf(s.peersPerRound) - m;
  if (room < 1) return false;
  const Z = sizes.size;
  if (Z === 1) return true;
  for (const size of sizes.values()) {
    // Its nodes may all need a prober from the other zones, which also owe every zone pair an edge.
    if (size > (n - size) * room - Z * Z) return false;
    // It owes an edge towards every zone.
    if (size * room < Z) return false;
  }
  return true;
}

function zoneSizes(nodes: readonly RingNode[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const x of nodes) sizes.set(x.zone, (sizes.get(x.zone) ?? 0) + 1);
  return sizes;
}

t.test('every guarantee, simulated round by round, over random clusters', async (t) => {
  let runs = 0;
  let carried = 0;
  fc.assert(
    fc.property(clusterArb({ maxNodes: 240, maxZones: 7 }), (c) => {
      runs++;
      const { nodes, settings: s } = c;
      const n = nodes.length;
      const k = s.peersPerRound;
      const layout = sampledLayout(nodes, s, c.suspects);
      const pos = new Map(layout.order.map((x, p) => [x.name, p]));
      const zone = new Map(nodes.map((x) => [x.name, x.zone]));
      const sizes = zoneSizes(nodes);
      const m = Math.min(s.minProbers, n - 1, layout.fixedCap); // at most half the round
      const suspects = new Set(c.suspects);
      const canCarry = zonesCanCarry(nodes, s);
      if (canCarry) {
        carried++;
        if (layout.stats.zoneDiversityShort !== 0 || layout.stats.zonePairsShort !== 0) throw new Error(`zones can carry it, yet short: ${JSON.stringify(layout.stats)}`);
      }
      // Fixed peers never exceed the cap; never self.
      layout.fixed.forEach((f, p) => {
        if (f.length > layout.fixedCap) throw new Error(`prober ${p} has ${f.length} fixed peers (cap ${layout.fixedCap})`);
        if (f.includes(p)) throw new Error('a node probes itself');
      });

      const agents = new Agents();
      agents.apply(layout, k, (name) => c.phases[pos.get(name)!]! % 500);
      const periods = layout.order.map((_, p) => walkPeriod(n, k, layout.fixed[p]!.length));
      const maxPeriod = Math.max(...periods);
      const rounds = 2 * maxPeriod + 2;
      const last = new Int32Array(n * n).fill(-1);
      const gap = new Int32Array(n * n);
      for (let r = 0; r < rounds; r++) {
        const probers = new Map<string, Set<string>>();
        const zonePairs = new Set<string>();
        for (const [src, peers] of agents.round()) {
          const expect = Math.min(k, n - 1);
          if (peers.length !== expect) throw new Error(`round ${r}: ${src} probes ${peers.length} peers, not ${expect}`);
          if (new Set(peers.map((p) => p.nodeName)).size !== peers.length) throw new Error(`round ${r}: ${src} probes a peer twice`);
          const s0 = pos.get(src)!;
          for (const p of peers) {
            if (p.nodeName === src) throw new Error('self probed');
            (probers.get(p.nodeName) ?? probers.set(p.nodeName, new Set()).get(p.nodeName)!).add(src);
            zonePairs.add(`${zone.get(src)}>${p.zone}`);
            const d = pos.get(p.nodeName)!;
            const at = s0 * n + d;
            const since = last[at]! < 0 ? r + 1 : r - last[at]!;
            if (since > gap[at]!) gap[at] = since;
            last[at] = r;
          }
        }
        for (const x of layout.order) {
          const ps = probers.get(x.name) ?? new Set();
          if (ps.size < m) throw new Error(`round ${r}: ${x.name} probed by ${ps.size} < ${m}`);
          const otherZones = [...sizes].filter(([z, size]) => size > (z === x.zone ? 1 : 0)).length;
          const proberZones = new Set([...ps].map((p) => zone.get(p)));
          if (canCarry && otherZones >= 2 && proberZones.size < 2) throw new Error(`round ${r}: ${x.name}'s ${ps.size} probers are all in ${[...proberZones][0]}`);
          if (suspects.has(x.name) && layout.stats.suspectProbersShort === 0 && ps.size < Math.min(s.suspectProbersMax, n - 1)) {
            throw new Error(`round ${r}: suspect ${x.name} probed by ${ps.size}`);
          }
        }
        if (canCarry) {
          for (const [za, sa] of sizes) {
            for (const [zb] of sizes) {
              if (za === zb && sa < 2) continue;
              if (!zonePairs.has(`${za}>${zb}`)) throw new Error(`round ${r}: zone pair ${za}>${zb} not probed`);
            }
          }
        }
      }
      // Every ordered pair within its prober's walk period (the first visit counted from the start).
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          if (a === b) continue;
          const g = Math.max(gap[a * n + b]!, last[a * n + b]! < 0 ? rounds + 1 : rounds - last[a * n + b]!);
          if (g > periods[a]!) throw new Error(`pair ${layout.order[a]!.name}>${layout.order[b]!.name}: ${g} rounds without a probe, period ${periods[a]}`);
        }
      }
      // The slack over ⌈(N − 1) / k⌉ is what the fixed peers take: f = 0 gives the ideal.
      if (walkPeriod(n, k, 0) !== Math.ceil((n - 1) / k)) throw new Error('walkPeriod(f = 0) is not ⌈(N − 1) / k⌉');
    }),
    { seed: SEED, numRuns: 120, endOnFailure: true, includeErrorInReport: true },
  );
  t.equal(runs, 120);
  t.ok(carried > 40, `the zones could carry the guarantees in ${carried} of ${runs} runs (the checks above ran there)`);
});

t.test('churn: walks go on across plans, every pair present throughout is reached within a turn of the ring', async (t) => {
  fc.assert(
    fc.property(
      clusterArb({ maxNodes: 160, maxZones: 4 }),
      fc.array(fc.record({ join: fc.integer({ min: 0, max: 8 }), leave: fc.integer({ min: 0, max: 8 }), after: fc.integer({ min: 1, max: 12 }), suspect: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      (c, changes) => {
        const s = c.settings;
        const k = s.peersPerRound;
        let nodes = [...c.nodes];
        let next = nodes.length;
        let suspects = c.suspects;
        const agents = new Agents();
        let layout = sampledLayout(nodes, s, suspects);
        agents.apply(layout, k, (name) => (name.length * 7) % 50);
        // Per ordered pair: rounds since its last probe, and its bound so far: a turn of the ring
        // as it was when the wait began plus every node that joined since (a joined node may land
        // ahead of the walk), at the lowest walk rate seen, ⌈(N − 1 + J) / (k − f)⌉, plus one round
        // (a plan change may land inside a turn).
        const waiting = new Map<string, { since: number; n: number; joined: number; f: number }>();
        let joined = 0;
        let round = 0;
        const step = (rounds: number) => {
          const pos = new Map(layout.order.map((x, p) => [x.name, p]));
          for (let r = 0; r < rounds; r++, round++) {
            const probed = agents.round();
            for (const [src, peers] of probed) {
              const hit = new Set(peers.map((p) => p.nodeName));
              const f = layout.fixed[pos.get(src)!]!.length;
              for (const x of layout.order) {
                if (x.name === src) continue;
                const key = `${src}>${x.name}`;
                const w = waiting.get(key) ?? { since: 0, n: layout.order.length, joined, f };
                w.f = Math.max(w.f, f);
                if (hit.has(x.name)) {
                  const bound = Math.ceil((w.n - 1 + joined - w.joined) / Math.max(1, k - w.f)) + 1;
                  if (w.since + 1 > bound) throw new Error(`round ${round}: ${key} waited ${w.since + 1} rounds, bound ${bound}`);
                  waiting.set(key, { since: 0, n: layout.order.length, joined, f });
                } else {
                  w.since++;
                  waiting.set(key, w);
                }
              }
            }
          }
        };
        for (const ch of changes) {
          step(ch.after);
          const leave = new Set(nodes.slice(0, Math.min(ch.leave, nodes.length - 2)).map((x) => x.name));
          nodes = nodes.filter((x) => !leave.has(x.name));
          for (let j = 0; j < ch.join; j++) nodes.push({ name: `joined-${next++}`, zone: `zone-${next % 3}` });
          joined += ch.join;
          for (const key of [...waiting.keys()]) {
            const [a, b] = key.split('>');
            if (leave.has(a!) || leave.has(b!)) waiting.delete(key);
          }
          if (ch.suspect) suspects = nodes.filter((_, i) => i % 17 === 3).map((x) => x.name);
          layout = sampledLayout(nodes, s, suspects);
          agents.apply(layout, k);
        }
        const pos = new Map(layout.order.map((x, p) => [x.name, p]));
        step(Math.max(...layout.order.map((x) => walkPeriod(nodes.length + joined, k, layout.fixed[pos.get(x.name)!]!.length))) + 1);
        // And no pair still waiting has waited longer than its bound.
        for (const [key, w] of waiting) {
          const bound = Math.ceil((w.n - 1 + joined - w.joined) / Math.max(1, k - w.f)) + 1;
          if (w.since > bound) throw new Error(`${key} not probed for ${w.since} rounds, bound ${bound}`);
        }
      },
    ),
    { seed: SEED + 1, numRuns: 60, endOnFailure: true, includeErrorInReport: true },
  );
  t.pass('60 churn sequences');
});

t.test('fairness: every prober probes k peers a round; over a turn of the ring, no node is probed more than 1.5× or less than 0.5× the mean', async (t) => {
  const worst = { high: 0, low: Infinity };
  fc.assert(
    fc.property(clusterArb({ maxNodes: 300, maxZones: 5 }).filter((c) => c.nodes.length > 2 * c.settings.peersPerRound), (c) => {
      const s = c.settings;
      const layout = sampledLayout(c.nodes, s, []);
      const n = c.nodes.length;
      const agents = new Agents();
      const pos = new Map(layout.order.map((x, p) => [x.name, p]));
      agents.apply(layout, s.peersPerRound, (name) => c.phases[pos.get(name)!]! % 300);
      const rounds = Math.max(...layout.order.map((_, p) => walkPeriod(n, s.peersPerRound, layout.fixed[p]!.length)));
      const asTarget = new Map<string, number>();
      for (let r = 0; r < rounds; r++) for (const peers of agents.round().values()) for (const p of peers) asTarget.set(p.nodeName, (asTarget.get(p.nodeName) ?? 0) + 1);
      const loads = layout.order.map((x) => asTarget.get(x.name) ?? 0);
      const mean = loads.reduce((a, b) => a + b, 0) / n;
      const high = Math.max(...loads) / mean;
      const low = Math.min(...loads) / mean;
      worst.high = Math.max(worst.high, high);
      worst.low = Math.min(worst.low, low);
      if (high > 1.5 || low < 0.5) throw new Error(`target load from ${low.toFixed(2)} to ${high.toFixed(2)} × the mean over ${rounds} rounds`);
    }),
    { seed: SEED + 2, numRuns: 60, endOnFailure: true, includeErrorInReport: true },
  );
  t.comment(`target load over a turn: ${worst.low.toFixed(2)}–${worst.high.toFixed(2)} × the mean`);
  t.ok(worst.high <= 1.5 && worst.low >= 0.5);
});

t.test('deterministic: the same node set, settings and suspects give the same layout, whatever order they come in', async (t) => {
  fc.assert(
    fc.property(clusterArb({ maxNodes: 300, maxZones: 6 }), fc.integer(), (c, shuffleSeed) => {
      const a = sampledLayout(c.nodes, c.settings, c.suspects);
      let x = shuffleSeed >>> 0;
      const shuffled = [...c.nodes].sort(() => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) & 1 ? 1 : -1));
      const b = sampledLayout(shuffled, c.settings, [...c.suspects].reverse());
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('layouts differ');
    }),
    { seed: SEED + 3, numRuns: 60 },
  );
  t.pass();
});

t.test('the ring is stable: a node joining moves no other node', async (t) => {
  const nodes = Array.from({ length: 300 }, (_, i) => ({ name: `node-${i}`, zone: `z${i % 3}` }));
  const before = ringOrder(nodes).map((x) => x.name);
  const after = ringOrder([...nodes, { name: 'node-new', zone: 'z0' }]).map((x) => x.name).filter((x) => x !== 'node-new');
  t.same(after, before);
});

t.test('a suspect gets its whole column when it is small, the cap when it is not, spread over the zones', async (t) => {
  const nodes = Array.from({ length: 240 }, (_, i) => ({ name: `node-${i}`, zone: `z${i % 3}` }));
  const s = { peersPerRound: 64, minProbers: 3, suspectProbersMax: 256 };
  const whole = sampledLayout(nodes, s, ['node-7']);
  const p7 = whole.order.findIndex((x) => x.name === 'node-7');
  const probersOf = (l: SampledLayout, p: number) => l.fixed.flatMap((f, u) => (f.includes(p) ? [l.order[u]!] : []));
  t.equal(probersOf(whole, p7).length, 239, 'cap above the column: every other node');
  const capped = sampledLayout(nodes, { ...s, suspectProbersMax: 30 }, ['node-7']);
  const ps = probersOf(capped, capped.order.findIndex((x) => x.name === 'node-7'));
  t.equal(ps.length, 30);
  const perZone = new Map<string, number>();
  for (const x of ps) perZone.set(x.zone, (perZone.get(x.zone) ?? 0) + 1);
  t.same([...perZone.values()].sort(), [10, 10, 10], 'one zone after another');
  t.equal(capped.stats.suspectProbersShort, 0);
  // Many suspects share the room: no prober above the cap, and the shortfall is counted.
  const many = sampledLayout(nodes, { ...s, suspectProbersMax: 239 }, nodes.slice(0, 120).map((x) => x.name));
  t.ok(many.stats.maxFixed <= many.fixedCap);
  t.ok(many.stats.suspectProbersShort > 0, 'not every suspect can have its column: counted');
});

t.test('one zone, two nodes, k above N: the degenerate cases hold', async (t) => {
  const two = sampledLayout([{ name: 'a', zone: '' }, { name: 'b', zone: '' }], { peersPerRound: 64, minProbers: 3, suspectProbersMax: 10 });
  t.same(two.fixed.map((f) => f.length), [1, 1], 'each probes the other: min probers capped at N − 1');
  const one = sampledLayout([{ name: 'a', zone: 'z' }], { peersPerRound: 64, minProbers: 3, suspectProbersMax: 10 });
  t.same(one.fixed, [[]]);
});

t.test('follow-ups: failing peers come back every round until they answer, and every pair is still probed within ⌈(N − 1 − f) / (k − f − followMax)⌉ rounds', async (t) => {
  fc.assert(
    fc.property(clusterArb({ maxNodes: 200, maxZones: 4 }).filter((c) => c.settings.peersPerRound >= 8 && c.nodes.length > c.settings.peersPerRound), fc.double({ min: 0.01, max: 0.3, noNaN: true }), fc.integer({ min: 1, max: 1_000_000 }), (c, lossy, seed) => {
      const s = c.settings;
      const n = c.nodes.length;
      const k = s.peersPerRound;
      const layout = sampledLayout(c.nodes, s, []);
      const agents = new Agents();
      agents.apply(layout, k);
      const pos = new Map(layout.order.map((x, p) => [x.name, p]));
      const bound = layout.order.map((_, p) => walkPeriod(n, k, layout.fixed[p]!.length, layout.followMax));
      let x = seed >>> 0;
      const random = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      // A tenth of the nodes fail a share of their probes (lossy); the rest answer.
      const bad = new Set(layout.order.filter((_, i) => i % 10 === 3).map((y) => y.name));
      const last = new Int32Array(n * n).fill(-1);
      const failedAt = new Map<string, number>();
      const rounds = 2 * Math.max(...bound) + 2;
      for (let r = 0; r < rounds; r++) {
        for (const [src, peers] of agents.round()) {
          const names = new Set(peers.map((p) => p.nodeName));
          // A peer that failed last round (and is not fixed) is probed again this round, if the follow-up slots allow.
          const walk = agents.walks.get(src)!;
          for (const [key, at] of failedAt) {
            const [a, b] = key.split('>');
            if (a === src && at === r - 1 && !names.has(b!) && walk.following <= layout.followMax) throw new Error(`round ${r}: ${src} did not follow up ${b}`);
          }
          const sp = pos.get(src)!;
          for (const p of peers) {
            const dp = pos.get(p.nodeName)!;
            const g = last[sp * n + dp]! < 0 ? r + 1 : r - last[sp * n + dp]!;
            if (g > bound[sp]!) throw new Error(`round ${r}: ${src}>${p.nodeName} ${g} rounds apart, bound ${bound[sp]}`);
            last[sp * n + dp] = r;
            const ok = !(bad.has(p.nodeName) && random() < lossy);
            walk.observe(p.nodeName, ok);
            if (ok) failedAt.delete(`${src}>${p.nodeName}`);
            else failedAt.set(`${src}>${p.nodeName}`, r);
          }
        }
      }
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          if (a !== b && (last[a * n + b]! < 0 || rounds - last[a * n + b]! > bound[a]!)) throw new Error(`pair ${a}>${b} not probed within ${bound[a]} rounds at the end`);
        }
      }
    }),
    { seed: SEED + 4, numRuns: 40, endOnFailure: true, includeErrorInReport: true },
  );
  t.pass('40 clusters with lossy nodes');
});
