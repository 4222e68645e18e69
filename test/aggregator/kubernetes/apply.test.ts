// What the aggregator does with the API's view: nodes in the registry, DNS
// servers from EndpointSlices, NetworkPolicies matched against the agent pods,
// and what the findings then say (AgentMissing after the grace, NotReady).
import t from 'tap';
import { applyKubeNodes, dnsServersFromKube, kubeNamesDnsServers, policyViews, selectorMatches } from '../../../aggregator/kubernetes/apply.js';
import type { KubeNode } from '../../../aggregator/kubernetes/objects.js';
import { NodeRegistry } from '../../../aggregator/nodes/registry.js';
import { localize } from '../../../aggregator/localize/localize.js';
import { Cluster, STALE } from '../localize/cluster-fixture.js';

const node = (name: string, over: Partial<KubeNode> = {}): KubeNode => ({ name, internalIPs: [`10.0.0.${name.length}`], zone: 'zone-a', podCidrs: ['10.244.1.0/24'], ready: true, unschedulable: false, ...over });

t.test('nodes: the API adds nodes before their agents, fills what agents lack, removes what it no longer lists', async (t) => {
  const r = new NodeRegistry();
  const agentOnly = r.upsert({ name: 'node-x', zone: '', podIPs: ['192.0.2.9'], nodeIPs: [], responderPort: 9402 }, 0);
  agentOnly.agent.connected = true;
  const withAgent = r.upsert({ name: 'node-a', zone: '', podIPs: ['192.0.2.1'], nodeIPs: [], responderPort: 9500 }, 0);
  t.same(applyKubeNodes(r, [node('node-a', { zone: 'zone-b', internalIPs: ['10.0.0.1'] }), node('node-b', { ready: false })], 1_000), []);
  t.match(r.get('node-a'), { zone: 'zone-b', podIPs: ['192.0.2.1'], nodeIPs: ['10.0.0.1'], responderPort: 9500, kube: { ready: true, podCidrs: ['10.244.1.0/24'] } }, 'the agent\'s pod IPs and port stay; zone and node IP come from the API');
  t.equal(r.get('node-a'), withAgent);
  t.match(r.get('node-b'), { podIPs: [], nodeIPs: ['10.0.0.6'], responderPort: 9402, knownSince: 1_000, kube: { ready: false } }, 'a node without an agent yet');
  t.equal(r.get('node-x')!.kube, null, 'an agent-only node has no Kubernetes info');
  // node-b deleted in Kubernetes; node-a too, but its agent is connected.
  withAgent.agent.connected = true;
  t.same(applyKubeNodes(r, [], 2_000), ['node-b'], 'only the node without a connected agent leaves');
  t.equal(r.get('node-a')!.kube, null);
});

t.test('DNS servers from the Service and its ready endpoints; NodeLocal entries kept', async (t) => {
  const { servers, dropped } = dnsServersFromKube(
    {
      clusterIPs: ['10.96.0.10', 'fd00::a'],
      port: 53,
      endpoints: [
        { name: 'coredns-abc', address: '10.244.1.5', ready: true, node: 'node-a' },
        { name: 'coredns-def', address: '10.244.2.7', ready: false, node: 'node-b' },
        { name: 'coredns-abc', address: '10.244.3.9', ready: true, node: 'node-c' },
      ],
    },
    [{ name: 'service', role: 'service', address: '', port: 53 }, { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10', port: 53 }],
  );
  t.same(servers, [
    { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10', port: 53 },
    { name: 'service', role: 'service', address: '10.96.0.10', port: 53 },
    { name: 'service-1', role: 'service', address: 'fd00::a', port: 53 },
    { name: 'coredns-abc', role: 'replica', address: '10.244.1.5', port: 53 },
    { name: 'coredns-abc-10.244.3.9', role: 'replica', address: '10.244.3.9', port: 53 },
  ]);
  t.equal(dropped, 0);
  const many = dnsServersFromKube({ clusterIPs: ['10.96.0.10'], port: 53, endpoints: Array.from({ length: 70 }, (_, i) => ({ name: `coredns-${i}`, address: `10.244.9.${i + 1}`, ready: true, node: null })) }, []);
  t.equal(many.servers.length, 64, 'a plan carries at most 64 servers');
  t.equal(many.dropped, 7, 'the rest are counted');
});

t.test('a missing DNS Service keeps the configured service=auto; which --dns-servers the API may fill', async (t) => {
  const auto = { name: 'service', role: 'service' as const, address: '', port: 53 };
  const { servers } = dnsServersFromKube({ clusterIPs: [], port: 53, endpoints: [] }, [auto]);
  t.same(servers, [auto], 'no cluster IP: the service column stays, each agent asks its resolv.conf nameserver');
  t.ok(kubeNamesDnsServers([auto]), 'the default');
  t.ok(kubeNamesDnsServers([auto, { name: 'nodelocal', role: 'nodelocal', address: '169.254.20.10', port: 53 }]), 'service=auto with NodeLocal');
  t.notOk(kubeNamesDnsServers([auto, { name: 'coredns-a', role: 'replica', address: '10.244.1.5', port: 53 }]), 'replicas given by hand');
  t.notOk(kubeNamesDnsServers([{ ...auto, address: '10.96.0.10' }]), 'a service address given by hand');
  t.notOk(kubeNamesDnsServers([]), 'none: no DNS probes');
});

t.test('label selectors as Kubernetes reads them, and policies that select the agents first', async (t) => {
  const labels = { 'app.kubernetes.io/name': 'netmatrix-agent', tier: 'infra' };
  t.ok(selectorMatches({}, labels), 'an empty selector selects every pod');
  t.ok(selectorMatches({ matchLabels: { tier: 'infra' } }, labels));
  t.notOk(selectorMatches({ matchLabels: { tier: 'web' } }, labels));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['infra', 'ops'] }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['infra'] }] }, labels));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }] }, labels), 'an unknown operator never claims a match');
  const views = policyViews(
    [
      { namespace: 'default', name: 'deny-all', podSelector: {}, policyTypes: ['Ingress'], spec: {} },
      { namespace: 'netmatrix', name: 'web-only', podSelector: { matchLabels: { tier: 'web' } }, policyTypes: ['Ingress'], spec: {} },
      { namespace: 'netmatrix', name: 'default-deny', podSelector: {}, policyTypes: ['Ingress', 'Egress'], spec: {} },
    ],
    { namespace: 'netmatrix', labels },
  );
  t.same(views.map((v) => [v.namespace, v.name, v.selectsAgents]), [
    ['netmatrix', 'default-deny', true],
    ['default', 'deny-all', false],
    ['netmatrix', 'web-only', false],
  ]);
});

t.test('findings: a listed node without an agent is AgentMissing only after the grace; NotReady is said', async (t) => {
  const c = new Cluster();
  const [a1, a2, a3] = c.add('n', 3);
  const ghost = c.nodes.upsert({ name: 'ghost', zone: 'zone-a', podIPs: [], nodeIPs: ['10.0.0.9'], responderPort: 9402 }, c.clock.monotonic());
  ghost.kube = { ready: true, unschedulable: false, podCidrs: [], internalIPs: ['10.0.0.9'], zone: 'zone-a' };
  const findings = () => localize(c.assess(), { staleAfterMs: STALE, latencyThresholdMs: 50, degradedLoss: 0.05, agentGraceMs: 60_000 }).conditions;
  c.run(3, () => 'ok');
  t.notOk(findings().some((x) => x.kind === 'AgentMissing'), 'within the grace: nothing');
  c.clock.advance(60_000);
  c.run(1, () => 'ok');
  const missing = findings().find((x) => x.kind === 'AgentMissing');
  t.match(missing, { subject: { node: 'ghost' }, description: /Kubernetes lists ghost .* but no netmatrix agent on it has connected/ });
  // A dead node the API reports NotReady.
  const n3 = c.nodes.get(a3!)!;
  n3.kube = { ready: false, unschedulable: false, podCidrs: [], internalIPs: [], zone: 'zone-a' };
  c.run(3, (_s, d) => (d === a3 ? 'timeout' : 'ok'));
  const un = findings().find((x) => x.kind === 'NodeUnreachable');
  t.match(un, { subject: { node: a3 }, summary: /is NotReady and unreachable/, description: /Kubernetes reports .* NotReady/ });
  t.ok(a1 && a2);
});
