// The node registry: identities, change events only on real change, index
// reuse, expiry of nodes whose agent is gone.
import t from 'tap';
import { NodeRegistry, primaryFamily, type NodeIdentity } from '../../../aggregator/nodes/registry.js';

function id(name: string, over: Partial<NodeIdentity> = {}): NodeIdentity {
  return { name, zone: 'zone-1', podIPs: ['192.0.2.1'], nodeIPs: ['198.51.100.1'], responderPort: 9402, ...over };
}

function setup() {
  const nodes = new NodeRegistry();
  let events = 0;
  nodes.onChange(() => events++);
  return { nodes, events: () => events };
}

t.test('upsert adds a node with a fresh agent state', async (t) => {
  const { nodes, events } = setup();
  const rec = nodes.upsert(id('node-a'), 0);
  t.equal(rec.name, 'node-a');
  t.equal(rec.index, 0);
  t.equal(rec.zone, 'zone-1');
  t.same(rec.podIPs, ['192.0.2.1']);
  t.same(rec.nodeIPs, ['198.51.100.1']);
  t.equal(rec.responderPort, 9402);
  t.has(rec.agent, {
    connected: false,
    instanceId: '',
    version: '',
    capabilities: [],
    connectedSince: null,
    disconnectedAt: null,
    lastReportAt: null,
    highestSequence: 0,
    reports: 0,
    results: 0,
  });
  t.same(rec.agent.capabilities, []);
  t.equal(nodes.size, 1);
  t.equal(nodes.slots, 1);
  t.equal(nodes.setVersion, 1);
  t.equal(events(), 1);
  t.equal(nodes.get('node-a'), rec);
  t.equal(nodes.at(0), rec);
  t.equal(nodes.indexOf('node-a'), 0);
  t.equal(nodes.get('node-b'), undefined);
  t.equal(nodes.at(1), undefined);
  t.equal(nodes.indexOf('node-b'), undefined);
});

t.test('an identical upsert is not a change', async (t) => {
  const { nodes, events } = setup();
  const rec = nodes.upsert(id('node-a'), 0);
  // Equal content in new arrays.
  t.equal(nodes.upsert(id('node-a', { podIPs: ['192.0.2.1'], nodeIPs: ['198.51.100.1'] }), 0), rec, 'same record');
  t.equal(events(), 1);
  t.equal(nodes.setVersion, 1);
});

t.test('any change of identity is a change', async (t) => {
  const { nodes, events } = setup();
  const rec = nodes.upsert(id('node-a'), 0);
  const changes: Partial<NodeIdentity>[] = [
    { zone: 'zone-2' },
    { responderPort: 19402 },
    { podIPs: ['192.0.2.9'] },
    { podIPs: ['192.0.2.9', '2001:db8::9'] },
    { podIPs: ['2001:db8::9', '192.0.2.9'] },
    { nodeIPs: [] },
    { nodeIPs: ['198.51.100.7'] },
  ];
  let want = 1;
  let last = id('node-a');
  for (const c of changes) {
    last = { ...last, ...c };
    t.equal(nodes.upsert(last, 0), rec, 'the record is updated in place');
    want++;
    t.equal(events(), want, JSON.stringify(c));
    t.equal(nodes.setVersion, want);
    t.equal(nodes.upsert(last, 0), rec);
    t.equal(events(), want, 'repeating it is not');
  }
  t.equal(rec.zone, 'zone-2');
  t.equal(rec.responderPort, 19402);
  t.same(rec.podIPs, ['2001:db8::9', '192.0.2.9']);
  t.same(rec.nodeIPs, ['198.51.100.7']);
  t.equal(rec.index, 0, 'the index never changes');
});

t.test('upsert keeps the agent state', async (t) => {
  const { nodes } = setup();
  const rec = nodes.upsert(id('node-a'), 0);
  rec.agent.connected = true;
  rec.agent.reports = 5;
  nodes.upsert(id('node-a', { zone: 'zone-9' }), 0);
  t.equal(rec.agent.connected, true);
  t.equal(rec.agent.reports, 5);
});

t.test('list is sorted by name', async (t) => {
  const { nodes } = setup();
  for (const n of ['node-c', 'node-a', 'node-10', 'node-b', 'node-1']) nodes.upsert(id(n), 0);
  t.same(nodes.list().map((r) => r.name), ['node-1', 'node-10', 'node-a', 'node-b', 'node-c']);
  t.same(nodes.list().map((r) => r.index), [4, 2, 1, 3, 0]);
  nodes.list().pop();
  t.equal(nodes.list().length, 5, 'a copy');
});

t.test('remove frees the index for the next new node', async (t) => {
  const { nodes, events } = setup();
  nodes.upsert(id('node-a'), 0);
  nodes.upsert(id('node-b'), 0);
  nodes.upsert(id('node-c'), 0);
  t.equal(nodes.remove('node-b'), 1);
  t.equal(events(), 4);
  t.equal(nodes.size, 2);
  t.equal(nodes.slots, 3, 'slots never shrink');
  t.equal(nodes.get('node-b'), undefined);
  t.equal(nodes.at(1), undefined);
  t.equal(nodes.remove('node-b'), undefined, 'removing again: nothing');
  t.equal(nodes.remove('nope'), undefined);
  t.equal(events(), 4, 'and no event');
  const d = nodes.upsert(id('node-d'), 0);
  t.equal(d.index, 1, 'index 1 reused');
  t.equal(nodes.at(1), d);
  t.equal(nodes.slots, 3);
  t.equal(nodes.upsert(id('node-e'), 0).index, 3, 'no free index: a new one');
  const again = nodes.upsert(id('node-b'), 0);
  t.equal(again.index, 4);
  t.equal(again.agent.reports, 0, 'a node that comes back starts afresh');
});

t.test('indices are reused last-freed first', async (t) => {
  const { nodes } = setup();
  for (const n of ['a', 'b', 'c', 'd']) nodes.upsert(id(n), 0);
  nodes.remove('b');
  nodes.remove('d');
  t.equal(nodes.upsert(id('e'), 0).index, 3);
  t.equal(nodes.upsert(id('f'), 0).index, 1);
  t.equal(nodes.upsert(id('g'), 0).index, 4);
});

t.test('onChange returns an unsubscribe function', async (t) => {
  const nodes = new NodeRegistry();
  let a = 0;
  let b = 0;
  const offA = nodes.onChange(() => a++);
  nodes.onChange(() => b++);
  nodes.upsert(id('node-a'), 0);
  offA();
  nodes.upsert(id('node-b'), 0);
  t.equal(a, 1);
  t.equal(b, 2);
});

t.test('listeners see the new state', async (t) => {
  const nodes = new NodeRegistry();
  const seen: number[] = [];
  nodes.onChange(() => seen.push(nodes.size));
  nodes.upsert(id('node-a'), 0);
  nodes.upsert(id('node-b'), 0);
  nodes.remove('node-a');
  t.same(seen, [1, 2, 1]);
});

t.test('expired: disconnected agents gone since before the cutoff', async (t) => {
  const { nodes } = setup();
  const never = nodes.upsert(id('never-connected'), 0);
  const connected = nodes.upsert(id('connected'), 0);
  connected.agent.connected = true;
  connected.agent.disconnectedAt = 100; // stale field: connected wins
  const old = nodes.upsert(id('old'), 0);
  old.agent.disconnectedAt = 1_000;
  const recent = nodes.upsert(id('recent'), 0);
  recent.agent.disconnectedAt = 5_000;
  const boundary = nodes.upsert(id('boundary'), 0);
  boundary.agent.disconnectedAt = 2_000;
  t.same(nodes.expired(2_000).sort(), ['old'], 'strictly before the cutoff');
  t.same(nodes.expired(2_001).sort(), ['boundary', 'old']);
  t.same(nodes.expired(10_000).sort(), ['boundary', 'old', 'recent']);
  t.same(nodes.expired(0), []);
  t.equal(never.agent.disconnectedAt, null, 'a node whose agent never connected does not expire');
});

t.test('primaryFamily is the family of the first pod IP', async (t) => {
  t.equal(primaryFamily(['192.0.2.1', '2001:db8::1']), 'ipv4');
  t.equal(primaryFamily(['2001:db8::1', '192.0.2.1']), 'ipv6');
  t.equal(primaryFamily([]), 'ipv4');
});
