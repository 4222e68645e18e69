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
