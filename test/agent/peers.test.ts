// The agent's side of a plan: taking itself out of the peers, diffing peer
// lists and expanding them into the probes of a round.
import t from 'tap';
import { diffPeers, PeerWalk, planPeers, probeSet, type PeerInfo, type ProbeSetOptions } from '../../agent/peers.js';
import { CidrSet, parseCidr } from '../../common/cidr.js';
import type { AddressFamily, PairKind } from '../../common/vocabulary.js';

function peer(name: string, over: Partial<PeerInfo> = {}): PeerInfo {
  return { nodeName: name, podIps: ['192.0.2.1'], nodeIps: ['198.51.100.1'], zone: 'zone-1', responderPort: 9402, ...over };
}

const DOCS = new CidrSet(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].map((c) => parseCidr(c)!));
const BOTH = (): readonly AddressFamily[] => ['ipv4', 'ipv6'];

function options(over: Partial<ProbeSetOptions> = {}): ProbeSetOptions {
  return { kinds: ['icmp', 'tcp', 'node'], available: new Set<PairKind>(['icmp', 'tcp', 'http', 'mtu', 'node']), allowed: DOCS, families: BOTH, ...over };
}

t.test('planPeers: the agent takes itself out of a plan that lists every node', async (t) => {
  const all = [peer('a'), peer('b'), peer('c'), peer('d')];
  t.same(planPeers(all, 'b', 10), { peers: [peer('a'), peer('c'), peer('d')], over: 0 });
  t.same(planPeers(all, 'x', 10).peers.map((p) => p.nodeName), ['a', 'b', 'c', 'd'], 'a plan without this node (a per-agent plan) is taken whole');
  t.same(planPeers([peer('a')], 'a', 10), { peers: [], over: 0 }, 'alone in the cluster: nothing to probe');
});

t.test('planPeers: --max-peers counts peers, not the agent itself', async (t) => {
  const all = [peer('a'), peer('b'), peer('c'), peer('d')];
  t.same(planPeers(all, 'a', 3), { peers: [peer('b'), peer('c'), peer('d')], over: 0 }, 'self first in the list does not take a place');
  t.same(planPeers(all, 'c', 2), { peers: [peer('a'), peer('b')], over: 1 });
  t.same(planPeers(all, 'd', 1).peers.map((p) => p.nodeName), ['a']);
});

t.test('diffPeers: added, removed, changed', async (t) => {
  const before = [peer('a'), peer('b'), peer('c'), peer('d')];
  const after = [peer('a'), peer('b', { zone: 'zone-2' }), peer('d'), peer('e'), peer('f')];
  t.same(diffPeers(before, after), { added: ['e', 'f'], removed: ['c'], changed: ['b'] });
});

t.test('diffPeers: nothing changed', async (t) => {
  t.same(diffPeers([peer('a'), peer('b')], [peer('b'), peer('a')]), { added: [], removed: [], changed: [] }, 'order of peers does not matter');
  t.same(diffPeers([], []), { added: [], removed: [], changed: [] });
});

t.test('diffPeers: from and to nothing', async (t) => {
  t.same(diffPeers([], [peer('a'), peer('b')]), { added: ['a', 'b'], removed: [], changed: [] });
  t.same(diffPeers([peer('a'), peer('b')], []), { added: [], removed: ['a', 'b'], changed: [] });
});

t.test('diffPeers: every field of a peer counts', async (t) => {
  const base = peer('a', { podIps: ['192.0.2.1', '2001:db8::1'], nodeIps: ['198.51.100.1'] });
  const changes: Partial<PeerInfo>[] = [
    { zone: 'zone-2' },
    { responderPort: 9403 },
    { podIps: ['192.0.2.2', '2001:db8::1'] },
    { podIps: ['2001:db8::1', '192.0.2.1'] },
    { podIps: ['192.0.2.1'] },
    { nodeIps: [] },
    { nodeIps: ['198.51.100.1', '2001:db8:1::1'] },
  ];
  for (const c of changes) t.same(diffPeers([base], [{ ...base, ...c }]).changed, ['a'], JSON.stringify(c));
  t.same(diffPeers([base], [{ ...base, podIps: [...base.podIps] }]).changed, [], 'equal content, new arrays');
});

t.test('probeSet: kinds × IPs, node kind on node IPs', async (t) => {
  const peers = [peer('b', { podIps: ['192.0.2.2', '2001:db8::2'], nodeIps: ['198.51.100.2'], responderPort: 19402 }), peer('c', { podIps: ['192.0.2.3'], nodeIps: ['198.51.100.3', '2001:db8:1::3'] })];
  const s = probeSet(peers, options());
  t.same(
    s.probes.map((p) => p.id),
    [
      'icmp/b/192.0.2.2',
      'icmp/b/2001:db8::2',
      'tcp/b/192.0.2.2',
      'tcp/b/2001:db8::2',
      'node/b/198.51.100.2',
      'icmp/c/192.0.2.3',
      'tcp/c/192.0.2.3',
      'node/c/198.51.100.3',
      'node/c/2001:db8:1::3',
    ],
  );
  t.same(s.probes[1], { id: 'icmp/b/2001:db8::2', kind: 'icmp', node: 'b', ip: '2001:db8::2', family: 'ipv6', port: 19402 });
  t.same(s.probes[4], { id: 'node/b/198.51.100.2', kind: 'node', node: 'b', ip: '198.51.100.2', family: 'ipv4', port: 19402 });
  t.equal(new Set(s.probes.map((p) => p.id)).size, s.probes.length, 'ids are unique');
  t.same(s.notAllowed, []);
  t.equal(s.unavailable, 0);
});

t.test('probeSet: only the families a kind\'s prober supports', async (t) => {
  const peers = [peer('b', { podIps: ['192.0.2.2', '2001:db8::2'], nodeIps: ['198.51.100.2', '2001:db8:1::2'] })];
  const s = probeSet(peers, options({ families: (k) => (k === 'icmp' || k === 'node' ? ['ipv4'] : ['ipv4', 'ipv6']) }));
  t.same(s.probes.map((p) => p.id), ['icmp/b/192.0.2.2', 'tcp/b/192.0.2.2', 'tcp/b/2001:db8::2', 'node/b/198.51.100.2']);
  t.equal(s.unavailable, 0, 'an unsupported family is not counted as unavailable');
  const none = probeSet(peers, options({ families: () => [] }));
  t.same(none.probes, []);
});

t.test('probeSet: kinds this agent lacks are counted, not probed', async (t) => {
  const peers = [peer('b', { podIps: ['192.0.2.2', '2001:db8::2'] }), peer('c')];
  const s = probeSet(peers, options({ kinds: ['icmp', 'tcp', 'node'], available: new Set<PairKind>(['tcp']) }));
  t.same(s.probes.map((p) => p.id), ['tcp/b/192.0.2.2', 'tcp/b/2001:db8::2', 'tcp/c/192.0.2.1']);
  t.equal(s.unavailable, 3 + 2, 'icmp to 3 pod IPs and node to 2 node IPs');
  t.same(s.unavailableByKind, { icmp: 3, node: 2 }, 'by kind');
  t.same(s.refusedByKind, {});
});

t.test('probeSet: addresses outside the allowed CIDRs are listed once, never probed', async (t) => {
  const peers = [
    peer('b', { podIps: ['10.0.0.2', '192.0.2.2'], nodeIps: ['8.8.8.8'] }),
    peer('c', { podIps: ['10.0.0.2'], nodeIps: ['198.51.100.3'] }), // the same disallowed IP again
  ];
  const s = probeSet(peers, options());
  t.same(s.probes.map((p) => p.id), ['icmp/b/192.0.2.2', 'tcp/b/192.0.2.2', 'node/c/198.51.100.3']);
  t.same([...s.notAllowed].sort(), ['10.0.0.2', '8.8.8.8'], 'each address once, although several probes would go to it');
  t.equal(s.refused, 5, 'probes not sent per round: icmp and tcp to 10.0.0.2 from each peer, node to 8.8.8.8');
  t.same(s.refusedByKind, { icmp: 2, tcp: 2, node: 1 }, 'by kind');
  for (const p of s.probes) t.ok(DOCS.contains(p.ip), `${p.ip} allowed`);
});

t.test('probeSet: an empty allow-list probes nothing', async (t) => {
  const s = probeSet([peer('b')], options({ allowed: new CidrSet([]) }));
  t.same(s.probes, []);
  t.same(s.notAllowed, ['192.0.2.1', '198.51.100.1']);
  t.equal(s.refused, 3, 'icmp, tcp and node');
});

t.test('probeSet: unparseable addresses are skipped', async (t) => {
  const s = probeSet([peer('b', { podIps: ['not-an-ip', '192.0.2.2'], nodeIps: [''] })], options());
  t.same(s.probes.map((p) => p.id), ['icmp/b/192.0.2.2', 'tcp/b/192.0.2.2']);
  t.same(s.notAllowed, []);
  t.equal(s.unavailable, 0);
});

t.test('probeSet: no peers, no kinds', async (t) => {
  const none = { probes: [], notAllowed: [], refused: 0, unavailable: 0, refusedByKind: {}, unavailableByKind: {} };
  t.same(probeSet([], options()), none);
  t.same(probeSet([peer('b')], options({ kinds: [] })), none);
});

t.test('PeerWalk: fixed peers every round, the walk round the ring from after itself, continuing by name when the plan changes', async (t) => {
  const dir = (names: string[]): PeerInfo[] => names.map((nodeName) => ({ nodeName, podIps: [], nodeIps: [], zone: '', responderPort: 9402 }));
  const w = new PeerWalk('c');
  const ring = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  w.setPlan(dir(ring), { peersPerRound: 3, fixed: [0], followMax: 1 });
  const names = () => w.next().map((p) => p.nodeName);
  t.same(names(), ['a', 'd', 'e'], 'the fixed peer, then from after itself');
  t.same(names(), ['a', 'f', 'g']);
  // The next peer (h) leaves and x joins in its place: the walk goes on at the first old peer after h
  // still there (b); x, new, is reached on the next turn (the churn bound counts it).
  w.setPlan(dir(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'x']), { peersPerRound: 3, fixed: [0], followMax: 1 });
  t.same(names(), ['a', 'b', 'd'], 'on at b, round the ring to d');
  // Other fixed peers: b becomes fixed, a leaves the fixed set and rejoins the walk.
  w.setPlan(dir(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'x']), { peersPerRound: 3, fixed: [1], followMax: 1 });
  t.same(names(), ['b', 'e', 'f'], 'on at e, where it was');
  t.same(names(), ['b', 'g', 'x'], 'x in its turn');
  t.same(names(), ['b', 'a', 'd'], 'a, no longer fixed, in its place');
  // A failure is followed up the next round (one slot), before the walk.
  w.observe('d', false);
  w.observe('e', false);
  t.equal(w.following, 2);
  t.same(names(), ['b', 'd', 'e'], 'd followed up; e is next in the walk anyway');
  w.observe('d', true);
  t.same(names(), ['b', 'e', 'f'], 'd answered; e still failing, followed up');
  w.observe('e', true);
  t.equal(w.following, 0);
  w.observe('zz', false);
  t.equal(w.following, 0, 'a node not in the walk is not followed');
  // Itself not listed (a plan for another node): the walk is the whole ring.
  const lost = new PeerWalk('nobody');
  lost.setPlan(dir(['a', 'b']), { peersPerRound: 5, fixed: [], followMax: 0 });
  t.same(lost.next().map((p) => p.nodeName), ['a', 'b'], 'a round larger than the ring: each peer once');
});
