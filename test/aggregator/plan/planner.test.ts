// Planners: the full mesh is one shared list (every node, self included), and
// what a node ends up probing under any planner never includes itself.
import t from 'tap';
import { fullMeshPlanner, targetsOf, type PerAgentPlanner } from '../../../aggregator/plan/planner.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';

function registry(names: string[]): NodeRegistry {
  const nodes = new NodeRegistry();
  names.forEach((name, i) => nodes.upsert({ name, zone: '', podIPs: [`192.0.2.${i + 1}`], nodeIPs: [], responderPort: 9402 }, 0));
  return nodes;
}

t.test('the full mesh is shared: one list of every node, in the given order', async (t) => {
  const nodes = registry(['node-c', 'node-a', 'node-b', 'node-d']);
  const list = nodes.list();
  t.equal(fullMeshPlanner.scope, 'shared');
  t.equal(fullMeshPlanner.name, 'full-mesh');
  t.same(fullMeshPlanner.peers(list, 1).map((p) => p.name), ['node-a', 'node-b', 'node-c', 'node-d'], 'self included: each agent skips itself');
});

t.test('targetsOf: every other node, never self', async (t) => {
  const nodes = registry(['node-c', 'node-a', 'node-b', 'node-d']);
  const list = nodes.list();
  for (const self of list) {
    const peers = targetsOf(fullMeshPlanner, self, list, 1);
    t.same(peers.map((p) => p.name), list.filter((n) => n !== self).map((n) => n.name), self.name);
    t.notOk(peers.includes(self));
  }
  t.same(targetsOf(fullMeshPlanner, nodes.get('node-a')!, list, 1).map((p) => p.name), ['node-b', 'node-c', 'node-d']);
});

t.test('a single node has no targets; self is recognised by name', async (t) => {
  const nodes = registry(['node-a']);
  t.same(targetsOf(fullMeshPlanner, nodes.get('node-a')!, nodes.list(), 1), []);
  const other = registry(['node-a', 'node-b']);
  // A record of the same name from another registry is still "self".
  t.same(targetsOf(fullMeshPlanner, nodes.get('node-a')!, other.list(), 1).map((p) => p.name), ['node-b']);
});

t.test('a per-agent planner decides each node\'s peers itself', async (t) => {
  const ring: PerAgentPlanner = {
    name: 'ring',
    scope: 'per-agent',
    peersFor: (self, nodes) => {
      const i = nodes.findIndex((n) => n.name === self.name);
      return [nodes[(i + 1) % nodes.length]!];
    },
  };
  const nodes = registry(['n1', 'n2', 'n3']);
  t.same(nodes.list().map((n) => targetsOf(ring, n, nodes.list(), 1).map((p) => p.name)), [['n2'], ['n3'], ['n1']]);
});

t.test('deterministic: the same node set gives the same list, whatever order it was learnt in', async (t) => {
  const a = registry(['n3', 'n1', 'n2']);
  const b = registry(['n2', 'n3', 'n1']);
  t.same(
    fullMeshPlanner.peers(a.list(), 1).map((p) => p.name),
    fullMeshPlanner.peers(b.list(), 1).map((p) => p.name),
  );
});
