// The verdict core under a sampled plan (docs/scaling.md): the real PlanBook
// plans above --full-mesh-max, each simulated agent follows its plan with the
// real PeerWalk (fixed peers, follow-ups, its walk round the ring), results
// go through the real ingest path, store, assessment (cells on their cadence,
// nodes and zones on current cells), localization and findings engine, with
// suspects from each evaluation. Seeded (test/helpers/verdict-sim.ts):
// - background loss pages nobody, though most cells are probed every ~20 rounds;
// - a dead node is one NodeUnreachable within the stated time, nothing else;
// - a zone partition is one ZonePartition;
// - a blocked pair is PairUnreachable though its cell is probed every ~20 rounds.
import t from 'tap';
import { independentLoss, VerdictSim } from '../../helpers/verdict-sim.js';

/** 300 nodes in 3 zones, 16 peers a round: a pair is probed every ⌈(299 − f) / (16 − f)⌉ ≈ 23 rounds. */
const SAMPLED = { fullMeshMax: 200, peersPerRound: 16, minProbers: 3, suspectProbersMax: 64 };
const NODES = 300;

function sim(seed: number, judgeOnCadence = true) {
  return new VerdictSim({ nodes: NODES, zones: 3, seed, sampled: SAMPLED, judgeOnCadence });
}

t.test('0.5 % background loss: no finding, with a pair probed every ~23 rounds (300 nodes × 4 kinds, 16 peers a round)', async (t) => {
  const s = sim(11);
  s.fault = independentLoss(0.005);
  const rounds = 720; // an hour at the 5 s interval
  for (let r = 0; r < rounds; r++) s.round();
  t.ok(s.plans!.isSampled, 'the plan is sampled');
  t.ok(s.plans!.cadence().maxGapRounds >= 20, `a pair is probed every ${s.plans!.cadence().maxGapRounds} rounds at most`);
  t.equal(s.results, rounds * NODES * SAMPLED.peersPerRound * 4, 'each agent probed 16 peers × 4 kinds a round');
  t.ok(s.store.trackedCells > 0.9 * NODES * (NODES - 1) * 4, `nearly every pair has a cell by now (${s.store.trackedCells})`);
  t.same([...s.seen.values()].map((f) => `${f.kind} ${JSON.stringify(f.labels)}`), [], 'no finding was ever pending or firing');
  t.equal(s.suspects!.names.size, 0, 'and no suspect');
});

/** A node dies after 60 rounds: the round its NodeUnreachable fires (-1: not within 12), and the sim. */
function deadNode(judgeOnCadence: boolean) {
  const s = sim(12, judgeOnCadence);
  s.fault = independentLoss(0.005);
  for (let r = 0; r < 60; r++) s.round();
  const dead = s.names[123]!;
  s.disconnect(dead);
  s.fault = (src, dst, kind, random) => (dst === dead ? 'timeout' : independentLoss(0.005)(src, dst, kind, random));
  let firingAt = -1;
  for (let r = 1; r <= 12 && firingAt < 0; r++) {
    const f = s.round();
    if (f.some((x) => x.kind === 'NodeUnreachable' && x.labels.node === dead && x.state === 'firing')) firingAt = r;
  }
  return { s, dead, firingAt };
}

t.test('a dead node (every path times out, its agent gone) is one NodeUnreachable within 3 rounds + --finding-for, nothing else', async (t) => {
  const { s, dead, firingAt } = deadNode(true);
  // --finding-for is 2 intervals here: pending once most of its current column fails, firing 2 rounds later.
  t.ok(firingAt > 0 && firingAt <= 3 + 2, `NodeUnreachable{node=${dead}} firing after ${firingAt} rounds`);
  t.ok(s.suspects!.names.has(dead), 'it is a suspect: its column is probed by many');
  const others = [...s.seen.values()].filter((f) => !(f.kind === 'NodeUnreachable' && f.labels.node === dead) && f.kind !== 'AgentMissing');
  t.same(others.map((f) => `${f.kind} ${JSON.stringify(f.labels)}`), [], 'one cause, one finding');
  // Judged on every cell instead, as the full mesh is: the ~300 cells of its column probed before it died
  // still say ok, and "most of its column fails" waits for the walks to come round.
  const control = deadNode(false);
  t.ok(control.firingAt < 0 || control.firingAt > firingAt + 3, `judged on every cell: ${control.firingAt < 0 ? 'not firing within 12 rounds' : `firing after ${control.firingAt} rounds`}`);
});

t.test('a zone partition is one ZonePartition', async (t) => {
  const s = sim(13);
  for (let r = 0; r < 40; r++) s.round();
  const zone = (n: string) => s.node(n).zone;
  s.fault = (src, dst) => ((zone(src) === 'zone-1' && zone(dst) === 'zone-2') || (zone(src) === 'zone-2' && zone(dst) === 'zone-1') ? 'timeout' : 'ok');
  let firing: string[] = [];
  let at = -1;
  for (let r = 1; r <= 10 && at < 0; r++) {
    firing = s.round().filter((x) => x.state === 'firing').map((x) => `${x.kind} ${JSON.stringify(x.labels)}`);
    if (firing.length > 0) at = r;
  }
  t.ok(at > 0 && at <= 3 + 2, `firing after ${at} rounds`);
  t.match(firing, [/^ZonePartition .*"src_zone":"zone-1".*"dst_zone":"zone-2"/]);
  t.equal(firing.length, 1, 'and nothing else');
});

t.test('a blocked pair (refused) is PairUnreachable, though its cell is probed every ~23 rounds; it clears when unblocked', async (t) => {
  const s = sim(14);
  for (let r = 0; r < 30; r++) s.round();
  const [a, b] = [s.names[10]!, s.names[200]!];
  s.fault = (src, dst, kind) => (src === a && dst === b && kind === 'tcp' ? 'refused' : 'ok');
  const gap = s.plans!.cadence().maxGapRounds;
  let at = -1;
  for (let r = 1; r <= gap + 6 && at < 0; r++) if (s.round().some((x) => x.kind === 'PairUnreachable' && x.state === 'firing')) at = r;
  t.ok(at > 0, `PairUnreachable firing after ${at} rounds (a pair is probed at least every ${gap})`);
  t.same([...s.seen.values()].map((f) => `${f.kind} ${f.labels.src}>${f.labels.dst}`), [`PairUnreachable ${a}>${b}`]);
  s.fault = () => 'ok';
  let cleared = -1;
  for (let r = 1; r <= 8 && cleared < 0; r++) if (s.round().length === 0) cleared = r;
  t.ok(cleared > 0 && cleared <= 4, `cleared ${cleared} rounds after (followed up every round while it failed)`);
});

t.test('an agent away 30 s on a healthy node: no critical finding; its column probed by many meanwhile', async (t) => {
  const s = sim(15);
  s.fault = independentLoss(0.005);
  for (let r = 0; r < 40; r++) s.round();
  const node = s.names[77]!;
  s.disconnect(node);
  let suspected = false;
  for (let r = 0; r < 6; r++) {
    s.round();
    suspected ||= s.suspects!.names.has(node);
  }
  t.ok(suspected, 'a suspect while its agent is away');
  s.connect(node);
  for (let r = 0; r < 6; r++) s.round();
  t.same([...s.seen.values()].filter((f) => f.severity === 'critical').map((f) => `${f.kind} ${JSON.stringify(f.labels)}`), [], 'no critical finding at any time');
});
