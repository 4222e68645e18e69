// Plans as the simulator reads them: the aggregator's own encoding of a full
// mesh (aggregator/grpc/plan-wire.ts) decodes into the peers, kinds, timing
// and DNS probes it carries; a sampled plan's directory is shared between
// agents (decoded once) while each gets its own Sampling part, whatever order
// the fields come in; a plan whose timing no aggregator can have is refused.
import t from 'tap';
import { encodeMessage, encodePlan } from '../../aggregator/grpc/plan-wire.js';
import type { PlanContent } from '../../aggregator/plan/plans.js';
import type { Plan } from '../../proto/load.js';
import { PlanCache, splitPlan } from '../../sim/plan.js';

const peers = Array.from({ length: 120 }, (_, i) => ({ nodeName: `node-${i}`, podIps: [`198.18.0.${i}`], nodeIps: [`198.19.0.${i}`], zone: `zone-${i % 3}`, responderPort: 9402 }));
const index = new Map(peers.slice(0, 60).map((p, i) => [p.nodeName, i]));
const content: PlanContent = {
  epoch: 42,
  peers,
  kinds: ['icmp', 'tcp', 'node'],
  intervalMs: 5000,
  timeoutMs: 1000,
  dns: { servers: [{ name: 'service', address: '', port: 53, role: 'service' }, { name: 'dns-a', address: '10.0.0.53', port: 53, role: 'replica' }], questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' }], nxZone: 'cluster.local', tcpCheck: true },
} as PlanContent;

t.test('a full-mesh plan as the aggregator encodes it', async (t) => {
  const cache = new PlanCache(index);
  const bytes = encodePlan(content);
  t.ok(bytes.length > 4096, `a plan large enough to be shared (${bytes.length} bytes)`);
  const d = cache.decode(bytes);
  if (!('plan' in d)) return t.fail(`not a plan: ${JSON.stringify(d)}`);
  t.equal(d.sampling, null, 'no sampling part: the full mesh');
  t.equal(d.plan.epoch, 42);
  t.same([d.plan.intervalMs, d.plan.timeoutMs], [5000, 1000]);
  t.same(d.plan.kinds, [0, 1, 4], 'icmp, tcp, node as PAIR_KINDS positions');
  t.equal(d.plan.peers.length, 120);
  t.same(d.plan.peers[7], { name: 'node-7', index: 7, podIp: '198.18.0.7', nodeIp: '198.19.0.7' });
  t.equal(d.plan.peers[70]!.index, -1, 'a node the simulation does not run');
  t.same(
    d.plan.dns.map((q) => [q.server, q.address, q.name, q.nx, q.tcpCheck]),
    [
      ['service', '10.96.0.10', 'kubernetes.default.svc.cluster.local', false, false],
      ['service', '10.96.0.10', '', true, false],
      ['service', '10.96.0.10', 'kubernetes.default.svc.cluster.local', false, true],
      ['dns-a', '10.0.0.53', 'kubernetes.default.svc.cluster.local', false, false],
      ['dns-a', '10.0.0.53', '', true, false],
      ['dns-a', '10.0.0.53', 'kubernetes.default.svc.cluster.local', false, true],
    ],
    'the service server without an address is the simulated resolv.conf nameserver',
  );
  const again = cache.decode(encodePlan(content));
  t.equal('plan' in again && again.plan, d.plan, 'the same bytes on another stream: the same plan, not decoded again');
  t.same([cache.decodes, cache.hits], [1, 1]);
  const ack = cache.decode(encodeMessage({ ack: { sequence: 17 } }));
  t.same(ack, { ack: 17 });
});

t.test('a sampled plan: one directory for every agent, a sampling part each, in any field order', async (t) => {
  const cache = new PlanCache(index);
  const base = encodeMessage({ plan: { epoch: 9, peers, kinds: ['PROBE_KIND_ICMP'], intervalMs: 5000, timeoutMs: 1000 } satisfies Plan });
  const dirBytes = base.subarray(base[1]! & 0x80 ? 3 : 2); // the Plan's fields (a length of 2 varint bytes here)
  const samplingField = (fixed: number[]) => {
    const m = encodeMessage({ plan: { sampling: { peersPerRound: 16, fixed, followMax: 4 } } });
    return m.subarray(2);
  };
  const frame = (...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    const len: number[] = [];
    for (let n = body.length; ; n = Math.floor(n / 128)) {
      len.push(n >= 128 ? (n % 128) | 0x80 : n);
      if (n < 128) break;
    }
    return Buffer.concat([Buffer.from([0x0a, ...len]), body]);
  };
  t.ok(base.length > 2_000 && (base[1]! & 0x80) !== 0 && (base[2]! & 0x80) === 0, 'the test plan has a two-byte length');
  const a = cache.decode(frame(dirBytes, samplingField([1, 5])));
  const b = cache.decode(frame(samplingField([2, 3, 70]), dirBytes));
  if (!('plan' in a) || !('plan' in b)) return t.fail('not plans');
  t.same(a.sampling, { peersPerRound: 16, fixed: [1, 5], followMax: 4 });
  t.same(b.sampling, { peersPerRound: 16, fixed: [2, 3, 70], followMax: 4 }, 'sampling first: read the same');
  t.equal(a.plan, b.plan, 'one directory, decoded once');
  t.equal(cache.decodes, 1);
  t.equal(a.plan.peers.length, 120);
  const split = splitPlan(frame(dirBytes, samplingField([1])));
  t.ok(split.directory.equals(dirBytes), 'the directory is every field but sampling');
});

t.test('a plan whose timing no aggregator can have is refused, with why', async (t) => {
  const cache = new PlanCache(index);
  const d = cache.decode(encodeMessage({ plan: { epoch: 5, peers: [], kinds: ['PROBE_KIND_TCP'], intervalMs: 0, timeoutMs: 1000 } }));
  t.match(d, { refused: /^interval_out_of_range: interval 0 ms, timeout 1000 ms/, epoch: 5 });
});
