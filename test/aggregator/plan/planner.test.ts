// The full-mesh planner: every other node, in the registry's order.
import t from 'tap';
import { fullMeshPlanner } from '../../../aggregator/plan/planner.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';

function registry(names: string[]): NodeRegistry {
  const nodes = new NodeRegistry();
  names.forEach((name, i) => nodes.upsert({ name, zone: '', podIPs: [`192.0.2.${i + 1}`], nodeIPs: [], responderPort: 9402 }, 0));
  return nodes;
}

t.test('every other node, never self, in the given order', async (t) => {
  const nodes = registry(['node-c', 'node-a', 'node-b', 'node-d']);
  const list = nodes.list();
  for (const self of list) {
    const peers = fullMeshPlanner.peersFor(self, list);
    t.same(peers.map((p) => p.name), list.filter((n) => n !== self).map((n) => n.name), self.name);
    t.notOk(peers.includes(self));
  }
  t.same(fullMeshPlanner.peersFor(nodes.get('node-a')!, list).map((p) => p.name), ['node-b', 'node-c', 'node-d']);
  t.equal(fullMeshPlanner.name, 'full-mesh');
});

t.test('a single node has no peers; self is recognised by name', async (t) => {
  const nodes = registry(['node-a']);
  t.same(fullMeshPlanner.peersFor(nodes.get('node-a')!, nodes.list()), []);
  const other = registry(['node-a', 'node-b']);
  // A record of the same name from another registry is still "self".
  t.same(fullMeshPlanner.peersFor(nodes.get('node-a')!, other.list()).map((p) => p.name), ['node-b']);
});

t.test('deterministic: the same input gives the same plan', async (t) => {
  const a = registry(['n3', 'n1', 'n2']);
  const b = registry(['n2', 'n3', 'n1']);
  t.same(
    fullMeshPlanner.peersFor(a.get('n1')!, a.list()).map((p) => p.name),
    fullMeshPlanner.peersFor(b.get('n1')!, b.list()).map((p) => p.name),
  );
});
