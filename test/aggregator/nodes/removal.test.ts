// Removing a node reaches every store: the registry frees its index, the
// matrix drops its row and column (over every slot), DNS its row, CNI its
// snapshot; an unknown name touches nothing.
import t from 'tap';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { nodeRemover } from '../../../aggregator/nodes/removal.js';

t.test('a known node leaves every store; an unknown one touches none', async (t) => {
  const nodes = new NodeRegistry();
  for (const [i, name] of ['node-a', 'node-b', 'node-c'].entries()) nodes.upsert({ name, zone: 'z1', podIPs: [`192.0.2.${i + 1}`], nodeIPs: [], responderPort: 9402 }, 0);
  const calls: string[] = [];
  const remove = nodeRemover({
    nodes,
    matrix: { removeNode: (index, slots) => calls.push(`matrix ${index}/${slots}`) },
    dns: { removeNode: (index) => calls.push(`dns ${index}`) },
    cni: { remove: (name) => calls.push(`cni ${name}`) },
  });
  t.equal(remove('node-b'), true);
  t.same(calls, ['matrix 1/3', 'dns 1', 'cni node-b']);
  t.equal(nodes.get('node-b'), undefined);
  t.same(nodes.list().map((n) => n.name), ['node-a', 'node-c']);
  t.equal(remove('node-b'), false, 'twice: unknown now');
  t.equal(remove('node-z'), false);
  t.equal(calls.length, 3, 'no store touched for an unknown node');
});
