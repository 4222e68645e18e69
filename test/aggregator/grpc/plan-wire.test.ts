// A plan encoded once is exactly what grpc-js would have encoded per write,
// and decodes to the plan; the server's serializer lets it through unchanged.
import t from 'tap';
import { encodePlan, isEncoded, planToWire } from '../../../aggregator/grpc/plan-wire.js';
import type { PlanContent } from '../../../aggregator/plan/plans.js';
import { loadProto } from '../../../proto/load.js';

const PLAN: PlanContent = {
  epoch: 1_700_000_000_123,
  peers: [
    { nodeName: 'node-a', podIps: ['192.0.2.1', '2001:db8::1'], nodeIps: ['198.51.100.1'], zone: 'zone-1', responderPort: 9402 },
    { nodeName: 'node-b', podIps: ['192.0.2.2'], nodeIps: [], zone: '', responderPort: 19402 },
  ],
  kinds: ['icmp', 'tcp', 'node'],
  intervalMs: 5_000,
  timeoutMs: 1_000,
  dns: {
    servers: [{ name: 'service', role: 'service', address: '', port: 53 }, { name: 'dns-a', role: 'replica', address: '10.244.0.5', port: 53 }],
    questions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A' }, { name: 'example.internal', type: 'AAAA' }],
    nxZone: 'cluster.local',
    tcpCheck: true,
  },
};

const connect = loadProto().netmatrix.v1.Collector.service.Connect;

t.test('the encoding is the per-write one, byte for byte, and decodes to the plan', async (t) => {
  const bytes = encodePlan(PLAN);
  t.ok(Buffer.isBuffer(bytes), 'a Buffer, as grpc-js needs');
  t.ok(bytes.equals(connect.responseSerialize({ plan: planToWire(PLAN) })));
  const back = connect.responseDeserialize(bytes);
  t.match(back, {
    msg: 'plan',
    plan: {
      epoch: 1_700_000_000_123,
      peers: [
        { nodeName: 'node-a', podIps: ['192.0.2.1', '2001:db8::1'], nodeIps: ['198.51.100.1'], zone: 'zone-1', responderPort: 9402 },
        { nodeName: 'node-b', podIps: ['192.0.2.2'], nodeIps: [], zone: '', responderPort: 19402 },
      ],
      kinds: ['PROBE_KIND_ICMP', 'PROBE_KIND_TCP', 'PROBE_KIND_NODE'],
      intervalMs: 5_000,
      timeoutMs: 1_000,
      dnsServers: [
        { name: 'service', address: '', port: 53, role: 'DNS_ROLE_SERVICE' },
        { name: 'dns-a', address: '10.244.0.5', port: 53, role: 'DNS_ROLE_REPLICA' },
      ],
      dnsQuestions: [{ name: 'kubernetes.default.svc.cluster.local', type: 'DNS_TYPE_A' }, { name: 'example.internal', type: 'DNS_TYPE_AAAA' }],
      dnsNxZone: 'cluster.local',
      dnsTcpCheck: true,
    },
  });
});

t.test('only encoded bytes pass the serializer through', async (t) => {
  t.ok(isEncoded(encodePlan(PLAN)));
  t.notOk(isEncoded({ ack: { sequence: 1 } }));
  t.notOk(isEncoded({ plan: planToWire(PLAN) }));
});

t.test('a sampled plan: the directory encoded once per epoch, each agent\'s Sampling part after it; it decodes as the whole plan does', async (t) => {
  // 300 peers, so the plan's length takes a multi-byte varint.
  const peers = Array.from({ length: 300 }, (_, i) => ({ nodeName: `node-${i}`, podIps: [`192.0.2.${i % 250}`], nodeIps: [`198.51.100.${i % 250}`], zone: `zone-${i % 3}`, responderPort: 9402 }));
  const base: PlanContent = { ...PLAN, peers };
  const a: PlanContent = { ...base, sampling: { peersPerRound: 64, fixed: [3, 17, 299], followMax: 16 } };
  const b: PlanContent = { ...base, sampling: { peersPerRound: 64, fixed: [], followMax: 16 } };
  for (const plan of [a, b, a]) {
    const bytes = encodePlan(plan);
    const whole = connect.responseSerialize({ plan: planToWire(plan) });
    t.same(connect.responseDeserialize(bytes), connect.responseDeserialize(whole), 'decodes as the plan encoded whole');
    t.equal(bytes.length, whole.length, 'the same size: the same fields, in another order');
  }
  const back = connect.responseDeserialize(encodePlan(b)) as { plan: { sampling: unknown; peers: unknown[] } };
  t.same(back.plan.sampling, { peersPerRound: 64, fixed: [], followMax: 16 }, 'no fixed peers: the part is still there');
  t.equal(back.plan.peers.length, 300);
  // A new epoch with the same peers array is encoded anew.
  const later = connect.responseDeserialize(encodePlan({ ...a, epoch: PLAN.epoch + 1 })) as { plan: { epoch: number } };
  t.equal(Number(later.plan.epoch), PLAN.epoch + 1);
  const full = connect.responseDeserialize(encodePlan(base)) as { plan: { sampling: unknown } };
  t.equal(full.plan.sampling, null, 'a full-mesh plan has none');
});
