// `npm run bench -- verdicts`: the verdict core under seeded random loss,
// through the real ingest path, store, localization and findings engine
// (test/helpers/verdict-sim.ts). Prints, per loss rate, the share of cell
// evaluations that are ok / degraded / failing against the documented model
// (docs/architecture.md "Cell status"), the time to name 10 % loss on one
// node, the time to fire a blocked pair under 2 % background loss, and the
// findings raised by 0.5 % background loss in a simulated day.
import { independentLoss, measureShares, VerdictSim, type Fault } from '../test/helpers/verdict-sim.js';

export async function verdictsBenchmark(): Promise<void> {
  console.log('verdicts: per-cell shares under independent loss (6 nodes × 4 kinds, 5 s interval, 60 s window, 5 min loss window; 300 rounds after a full loss window)');
  console.log('  loss     ok       degraded failing  | model: ok       degraded failing');
  for (const p of [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]) {
    const { measured: sum, model: m } = measureShares(p);
    const f = (x: number) => x.toFixed(4).padEnd(8);
    console.log(`  ${(p * 100).toFixed(1).padStart(4)} %   ${f(sum.ok)} ${f(sum.degraded)} ${f(sum.failing)} |        ${f(m.ok)} ${f(m.degraded)} ${f(m.failing)}`);
  }

  for (const nodes of [6, 40, 200]) {
    const times: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const sim = new VerdictSim({ nodes, seed: seed * 31 + nodes });
      const bad = sim.names[1]!;
      sim.fault = independentLoss(0.005);
      for (let r = 0; r < 20; r++) sim.round();
      const fault: Fault = (s, d, _k, random) => (random() < (s === bad || d === bad ? 0.1 : 0.005) ? 'timeout' : 'ok');
      sim.fault = fault;
      let found = Infinity;
      for (let r = 1; r <= 60 && found === Infinity; r++) if (sim.round().some((x) => x.kind === 'PacketLoss' && x.labels.node === bad && x.state === 'firing')) found = r * 5;
      times.push(found);
    }
    times.sort((a, b) => a - b);
    console.log(`verdicts: 10 % loss on one node of ${nodes}, named (PacketLoss firing) after ${times.join(', ')} s over 5 seeds; median ${times[2]} s = ${(times[2]! / 180).toFixed(2)} × the 180 s target`);
  }

  {
    const sim = new VerdictSim({ nodes: 200, seed: 9 });
    const [src, dst] = [sim.names[198]!, sim.names[199]!];
    const noise = independentLoss(0.02);
    sim.fault = noise;
    for (let r = 0; r < 12; r++) sim.round();
    sim.fault = (s, d, k, random) => (s === src && d === dst ? 'timeout' : noise(s, d, k, random));
    let fired = Infinity;
    for (let r = 1; r <= 12 && fired === Infinity; r++) if (sim.round().some((x) => x.kind === 'PairUnreachable' && x.labels.src === src && x.state === 'firing')) fired = r * 5;
    console.log(`verdicts: a blocked pair under 2 % background loss (200 nodes) fires after ${fired} s (target: 2 intervals + for = 20 s)`);
  }

  {
    const started = performance.now();
    const sim = new VerdictSim({ nodes: 10, seed: 42 });
    sim.fault = independentLoss(0.005);
    const rounds = (24 * 3600) / 5;
    for (let r = 0; r < rounds; r++) sim.round();
    console.log(`verdicts: 0.5 % background loss, 10 nodes × 4 kinds, one simulated day (${rounds} rounds): ${sim.seen.size} findings (target 0); ${((performance.now() - started) / 1000).toFixed(1)} s of CPU`);
  }
}
