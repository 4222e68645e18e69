// The aggregator with --kubernetes on against a fake API server (real HTTP,
// the real client library): Nodes appear before any agent, the DNS Service and
// its EndpointSlices become the plan's DNS servers, NetworkPolicies are listed
// with those selecting the agents first, a deleted Node leaves; with `on` and
// no reachable API the aggregator does not start.
import t from 'tap';
import { hello, rawStream } from '../../helpers/raw-client.js';
import { testAggregator } from '../../helpers/aggregator.js';
import { makeEndpointSlice, makeNetworkPolicy, makeNode, makeService, startFakeKubeApi } from '../../helpers/fake-kube-api.js';
import { waitFor } from '../../helpers/wait.js';

const fake = await startFakeKubeApi();
t.teardown(() => fake.close());
fake.add('nodes', makeNode('node-a', { ips: ['10.0.0.1'], zone: 'zone-1', podCIDRs: ['10.244.0.0/24'] }));
fake.add('nodes', makeNode('node-b', { ips: ['10.0.0.2'], zone: 'zone-2', podCIDRs: ['10.244.1.0/24'], ready: false }));
fake.add('services', makeService('kube-system', 'kube-dns', ['10.96.0.10']));
fake.add('endpointslices', makeEndpointSlice('kube-system', 'kube-dns-x1', 'kube-dns', [
  { ip: '10.244.0.5', pod: 'coredns-1', node: 'node-a', ready: true },
  { ip: '10.244.1.5', pod: 'coredns-2', node: 'node-b', ready: true },
]));
fake.add('networkpolicies', makeNetworkPolicy('netmatrix', 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] }));
fake.add('networkpolicies', makeNetworkPolicy('shop', 'web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'] }));
// As deploy/ ships them: selected by the agent pods' labels (the aggregator's default --agent-labels).
fake.add('networkpolicies', makeNetworkPolicy('netmatrix', 'netmatrix-agent', { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'netmatrix', 'app.kubernetes.io/component': 'agent' } }, policyTypes: ['Ingress', 'Egress'] }));
fake.add('networkpolicies', makeNetworkPolicy('netmatrix', 'netmatrix-aggregator', { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'netmatrix', 'app.kubernetes.io/component': 'aggregator' } }, policyTypes: ['Ingress'] }));

const agg = await testAggregator({ kubernetes: 'on', kubeconfig: fake.kubeconfigPath, 'dns-servers': 'service=auto', 'agent-grace': '1s', 'probe-interval': '1s', 'probe-timeout': '500ms' });
t.teardown(() => agg.stop());

t.test('Nodes from the API, before any agent, with Ready, zone and pod CIDRs', async (t) => {
  const body = await waitFor('both Nodes', async () => {
    const b = (await agg.app.inject('/api/v1/nodes')).json() as { nodes: { name: string; zone: string; nodeIPs: string[]; agent: { connected: boolean }; kubernetes: { ready: boolean; podCidrs: string[] } | null }[] };
    return b.nodes.length === 2 && b;
  }, 10_000, 50);
  t.match(body.nodes, [
    { name: 'node-a', zone: 'zone-1', nodeIPs: ['10.0.0.1'], agent: { connected: false }, kubernetes: { ready: true, podCidrs: ['10.244.0.0/24'] } },
    { name: 'node-b', zone: 'zone-2', kubernetes: { ready: false } },
  ]);
});

t.test('the DNS servers of the plan come from the Service and its EndpointSlices', async (t) => {
  const dns = await waitFor('three DNS servers', async () => {
    const d = (await agg.app.inject('/api/v1/dns')).json() as { servers: { name: string; role: string; address: string }[] };
    return d.servers.length === 3 && d;
  }, 10_000, 50);
  t.same(dns.servers.map((s) => [s.name, s.role, s.address]), [['service', 'service', '10.96.0.10'], ['coredns-1', 'replica', '10.244.0.5'], ['coredns-2', 'replica', '10.244.1.5']]);
  const s = rawStream(agg.grpcAddress);
  t.teardown(() => s.close());
  s.send({ hello: hello('node-a', '127.0.0.61') });
  const plan = (await s.next((m) => m.plan != null)).plan!;
  t.same(plan.dnsServers.map((x) => [x.name, x.address]), [['service', '10.96.0.10'], ['coredns-1', '10.244.0.5'], ['coredns-2', '10.244.1.5']], 'an agent gets them in its plan');
  // A replica goes away: the next plan says so.
  fake.modify('endpointslices', makeEndpointSlice('kube-system', 'kube-dns-x1', 'kube-dns', [{ ip: '10.244.0.5', pod: 'coredns-1', node: 'node-a', ready: true }]));
  const next = (await s.next((m) => m.plan != null && m.plan.dnsServers.length === 2)).plan!;
  t.same(next.dnsServers.map((x) => x.name), ['service', 'coredns-1']);
  t.not(Number(next.epoch), Number(plan.epoch), 'under a new epoch');
});

t.test('NodeLocal DNSCache in --dns-servers stays beside the servers of the EndpointSlices', async (t) => {
  const withNodeLocal = await testAggregator({ kubernetes: 'on', kubeconfig: fake.kubeconfigPath, 'dns-servers': 'service=auto,nodelocal=169.254.20.10', 'probe-interval': '1s', 'probe-timeout': '500ms' });
  t.teardown(() => withNodeLocal.stop());
  const dns = await waitFor('service, NodeLocal and the replica', async () => {
    const d = (await withNodeLocal.app.inject('/api/v1/dns')).json() as { servers: { name: string; role: string; address: string }[] };
    return d.servers.length === 3 && d;
  }, 10_000, 50);
  t.same(dns.servers.map((s) => [s.name, s.role, s.address]), [['service', 'service', '10.96.0.10'], ['nodelocal', 'nodelocal', '169.254.20.10'], ['coredns-1', 'replica', '10.244.0.5']]);
});

t.test('a DNS Service that does not exist leaves service=auto in the plan, and says so', async (t) => {
  const lines: string[] = [];
  const { default: pino } = await import('pino');
  const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const wrong = await testAggregator({ kubernetes: 'on', kubeconfig: fake.kubeconfigPath, 'dns-servers': 'service=auto', 'dns-service': 'kube-system/no-such-dns' }, log);
  t.teardown(() => wrong.stop());
  await waitFor('the warning', async () => lines.some((l) => l.includes('check --dns-service')), 10_000, 50);
  const d = (await wrong.app.inject('/api/v1/dns')).json() as { servers: { name: string; role: string; address: string }[] };
  t.same(d.servers.map((s) => [s.name, s.role, s.address]), [['service', 'service', 'auto']], 'agents still ask their resolv.conf nameserver');
});

t.test('the watch is visible in the metrics', async (t) => {
  const m = (await agg.app.inject('/metrics')).body;
  t.match(m, /netmatrix_kubernetes_watch_total\{resource="nodes",what="list"\} [1-9]/);
  t.match(m, /netmatrix_dns_servers_dropped 0/);
});

t.test('NetworkPolicies, those selecting the agents first: by the empty selector or by the agent pods\' labels', async (t) => {
  const p = (await agg.app.inject('/api/v1/networkpolicies')).json() as { kubernetes: boolean; policies: { namespace: string; name: string; selectsAgents: boolean }[] };
  t.equal(p.kubernetes, true);
  t.same(p.policies.map((x) => [x.namespace, x.name, x.selectsAgents]), [
    ['netmatrix', 'default-deny', true],
    ['netmatrix', 'netmatrix-agent', true],
    ['netmatrix', 'netmatrix-aggregator', false],
    ['shop', 'web', false],
  ]);
});

t.test('a Node without an agent is AgentMissing after the grace; a deleted Node leaves', async (t) => {
  await waitFor('AgentMissing for node-b', async () => {
    agg.evaluate();
    const f = (await agg.app.inject('/api/v1/findings?state=all&kind=AgentMissing')).json() as { findings: { labels: Record<string, string>; description: string }[] };
    return f.findings.find((x) => x.labels.node === 'node-b');
  }, 10_000, 100);
  fake.remove('nodes', 'node-b');
  await waitFor('node-b gone', async () => !((await agg.app.inject('/api/v1/nodes')).json() as { nodes: { name: string }[] }).nodes.some((n) => n.name === 'node-b'), 10_000, 50);
  t.pass('node-b left the matrix');
});

t.test('--kubernetes on without a reachable API: the aggregator does not start', async (t) => {
  const dead = await startFakeKubeApi();
  dead.hang('all', ['list', 'watch']);
  const path = dead.kubeconfigPath;
  await t.rejects(
    testAggregator({ kubernetes: 'on', kubeconfig: path }).then(async (a) => {
      await a.stop();
    }),
    /--kubernetes on: kubernetes: not synced within/,
  );
  await dead.close();
});
