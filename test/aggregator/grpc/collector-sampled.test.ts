// Sampled plans over real gRPC: above the threshold every agent gets the same
// directory followed by its own Sampling part, the directory encoded once per
// epoch; a suspect that comes is a new epoch written only to the agents whose
// part changed (its probers), the others' streams move to it without a write.
import t from 'tap';
import type { NodeIdentity } from '../../../aggregator/nodes/registry.js';
import { sampledPlanner } from '../../../aggregator/plan/planner.js';
import { sampledLayout } from '../../../aggregator/plan/sampled.js';
import { byteStream } from '../../helpers/byte-stream.js';
import { collectorServer } from '../../helpers/collector.js';
import { hello } from '../../helpers/raw-client.js';
import { waitFor } from '../../helpers/wait.js';

function node(i: number): NodeIdentity {
  return { name: `node-${String(i).padStart(3, '0')}`, zone: 'zone-1', podIPs: [`192.0.2.${i + 1}`], nodeIPs: [], responderPort: 9402 };
}

const SAMPLING = { peersPerRound: 8, minProbers: 2, suspectProbersMax: 6 };

t.test('a sampled plan per agent, the directory encoded once; a suspect is pushed to its probers only', async (t) => {
  const suspects = { version: 0, names: new Set<string>() };
  const srv = await collectorServer({ planner: sampledPlanner(20, SAMPLING), suspects });
  t.teardown(() => srv.close());
  for (let i = 0; i < 30; i++) srv.nodes.upsert(node(i), Date.now());
  t.ok(srv.plans.isSampled);
  const agents = [0, 1, 2, 3, 4, 5].map((i) => ({ i, s: byteStream(srv.address) }));
  t.teardown(() => agents.forEach((a) => a.s.close()));
  // The same identities as the registry has: their hellos change no plan.
  for (const a of agents) a.s.send({ hello: hello(node(a.i).name, node(a.i).podIPs[0]!, { zone: 'zone-1' }) });
  await Promise.all(agents.map((a) => a.s.waitForPlan((_e, p) => p.sampling !== null, 'a sampled plan')));
  const plans = agents.map((a) => a.s.lastPlan()!.plan);
  for (const p of plans) {
    t.equal(p.peers.length, 30, 'every node');
    t.same(p.peers.map((x) => x.nodeName), plans[0]!.peers.map((x) => x.nodeName), 'the same directory, in ring order');
    t.equal(p.sampling!.peersPerRound, 8);
  }
  const layout = srv.plans.layout()!;
  agents.forEach((a, j) => t.same(plans[j]!.sampling!.fixed, layout.fixed[layout.order.findIndex((x) => x.name === node(a.i).name)], `${node(a.i).name}: its own fixed peers`));

  // A suspect whose probers include some of the streaming agents and not others.
  const all = Array.from({ length: 30 }, (_, i) => node(i));
  const probersOf = (name: string) => {
    const l = sampledLayout(all, SAMPLING, [name]);
    const before = sampledLayout(all, SAMPLING, []);
    return new Set(agents.filter((a) => {
      const p = l.order.findIndex((x) => x.name === node(a.i).name);
      return l.fixed[p]!.join() !== before.fixed[before.order.findIndex((x) => x.name === node(a.i).name)]!.join();
    }).map((a) => a.i));
  };
  const candidate = all.map((x) => x.name).find((name) => {
    const n = probersOf(name).size;
    return n > 0 && n < agents.length;
  })!;
  t.ok(candidate, 'a suspect some agents probe and others do not');
  const changed = probersOf(candidate);
  const before = { ...srv.stats };
  const epoch = srv.plans.currentEpoch();
  suspects.names.add(candidate);
  suspects.version++;
  srv.collector.refresh();
  const epoch2 = srv.plans.currentEpoch();
  t.not(epoch2, epoch);
  await Promise.all(agents.filter((a) => changed.has(a.i)).map((a) => a.s.waitForPlan((e) => e === epoch2, 'the new epoch')));
  await waitFor('every stream moved to the new epoch', () => srv.stats.pushes - before.pushes + (srv.stats.unchanged - before.unchanged) === agents.length);
  t.equal(srv.stats.pushes - before.pushes, changed.size, `written to its ${changed.size} probers among the agents`);
  t.equal(srv.stats.unchanged - before.unchanged, agents.length - changed.size, 'the others moved without a write');
  for (const a of agents) if (!changed.has(a.i)) t.equal(a.s.epoch(), epoch, `${node(a.i).name} keeps the plan it has`);
  // A node joining changes the directory: every agent gets it.
  const before2 = { ...srv.stats };
  srv.nodes.upsert(node(30), Date.now());
  const epoch3 = srv.plans.currentEpoch();
  await Promise.all(agents.map((a) => a.s.waitForPlan((e) => e === epoch3, 'the new directory')));
  t.equal(srv.stats.pushes - before2.pushes, agents.length);
  t.equal(srv.stats.unchanged - before2.unchanged, 0);
});
