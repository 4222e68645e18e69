// Suspects: who gets its whole column probed in a sampled plan, and the
// version that moves the plan's epoch exactly when the set changes.
import t from 'tap';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { Suspects } from '../../../aggregator/plan/suspects.js';

function registry(n: number): NodeRegistry {
  const nodes = new NodeRegistry();
  for (let i = 1; i <= n; i++) {
    nodes.upsert({ name: `node-${i}`, zone: '', podIPs: [`192.0.2.${i}`], nodeIPs: [], responderPort: 9402 }, 0);
    nodes.get(`node-${i}`)!.agent.connected = true;
  }
  return nodes;
}

t.test('node findings, pair findings towards a node, an agent away and NotReady make suspects; a held set moves no version', async (t) => {
  const nodes = registry(6);
  const s = new Suspects(30_000);
  t.notOk(s.update(0, nodes.list(), []), 'nothing wrong: no change');
  t.equal(s.version, 0);
  t.ok(s.update(1_000, nodes.list(), [{ kind: 'NodeUnreachable', labels: { node: 'node-1' } }, { kind: 'PairUnreachable', labels: { src: 'node-5', dst: 'node-2' } }, { kind: 'ZonePartition', labels: { src_zone: 'a', dst_zone: 'b' } }]));
  t.same([...s.names].sort(), ['node-1', 'node-2'], 'the node, and the pair\'s target; a zone finding names no node');
  t.equal(s.version, 1);
  nodes.get('node-3')!.agent.connected = false;
  nodes.get('node-3')!.agent.disconnectedAt = 1_500;
  nodes.get('node-4')!.kube = { ready: false, unschedulable: false, podCidrs: [], internalIPs: [], zone: '' };
  t.ok(s.update(2_000, nodes.list(), [{ kind: 'NodeUnreachable', labels: { node: 'node-1' } }]));
  t.same([...s.names].sort(), ['node-1', 'node-2', 'node-3', 'node-4']);
  t.notOk(s.update(3_000, nodes.list(), [{ kind: 'NodeUnreachable', labels: { node: 'node-1' } }]), 'node-2 is held: no change, no new epoch');
  t.equal(s.version, 2);
});

t.test('a suspect clears after the hold; a node that left is dropped at once', async (t) => {
  const nodes = registry(3);
  const s = new Suspects(10_000);
  s.update(0, nodes.list(), [{ kind: 'PacketLoss', labels: { node: 'node-1' } }, { kind: 'PacketLoss', labels: { src: 'node-2', dst: 'node-3' } }]);
  t.same([...s.names], ['node-1'], 'pair loss names no suspect');
  t.notOk(s.update(10_000, nodes.list(), []), 'within the hold');
  t.ok(s.update(10_001, nodes.list(), []), 'cleared after it');
  t.same([...s.names], []);
  s.update(20_000, nodes.list(), [{ kind: 'AgentStale', labels: { node: 'node-2' } }]);
  nodes.remove('node-2');
  t.ok(s.update(20_001, nodes.list(), []), 'gone with its node');
  t.equal(s.names.size, 0);
  t.notOk(s.update(20_002, nodes.list(), [{ kind: 'NodeUnreachable', labels: { node: 'node-9' } }]), 'a node not in the set is no suspect');
});

t.test('an agent away is a suspect for --agent-grace; one that never connected, or AgentMissing, is not', async (t) => {
  const nodes = registry(3);
  const s = new Suspects(5_000, 60_000);
  nodes.get('node-1')!.agent.connected = false; // never connected (a Node without an agent): disconnectedAt null
  nodes.get('node-2')!.agent.connected = false;
  nodes.get('node-2')!.agent.disconnectedAt = 10_000;
  s.update(20_000, nodes.list(), [{ kind: 'AgentMissing', labels: { node: 'node-1' } }]);
  t.same([...s.names], ['node-2'], 'the agent that went away, not the one never there');
  s.update(69_999, nodes.list(), []);
  t.same([...s.names], ['node-2'], 'within the grace');
  s.update(70_000 + 5_001, nodes.list(), []);
  t.same([...s.names], [], 'past the grace and the hold: AgentMissing says the rest');
});
