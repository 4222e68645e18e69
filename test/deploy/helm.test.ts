// deploy/helm/netmatrix with the real helm (scripts/fetch-k8s-tools.mjs):
// helm lint, helm template validated like the kustomize output, the values
// schema, and the chart's defaults equivalent to deploy/base (and the chart
// with HA + TLS + token + Operator equivalent to deploy/overlays/production):
// the same kinds, names and namespaces, and the same objects field by field
// once Helm's own labels are removed (test/helpers/k8s-validate.ts comparable()).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/child.js';
import { agentSelectorProblems, comparable, deployProblems, envOf, k8sTools, kustomize, one, packageVersion, run, helmTemplate, validateAll } from '../helpers/k8s-validate.js';

const CHART = 'deploy/helm/netmatrix';
const PRODUCTION = ['--set', 'aggregator.replicas=2', '--set', 'tls.enabled=true', '--set', 'token.secretName=netmatrix-token', '--set', 'prometheusOperator.enabled=true'];

t.test('helm lint', async (t) => {
  for (const args of [[], PRODUCTION]) {
    const r = await run(k8sTools().helm, ['lint', '--strict', CHART, ...args]);
    t.equal(r.code, 0, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
    t.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

t.test('Chart version and appVersion are package.json version', async (t) => {
  const chart = parse(readFileSync(join(repoRoot, CHART, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
  t.equal(chart.version, packageVersion);
  t.equal(chart.appVersion, packageVersion);
});

const NODE_PROBES = ['--set', 'networkPolicy.nodeCidrs={198.51.100.0/24}'];
const API_TOKEN = ['--set', 'api.tokenSecret=netmatrix-api-token'];
const CASES: [string, string[], { replicas: number; tls: boolean; nodeCidrs?: string[]; apiToken?: boolean }][] = [
  ['api token', API_TOKEN, { replicas: 1, tls: false, apiToken: true }],
  ['defaults', [], { replicas: 1, tls: false }],
  ['node probes', NODE_PROBES, { replicas: 1, tls: false, nodeCidrs: ['198.51.100.0/24'] }],
  ['ha', ['--set', 'aggregator.replicas=3'], { replicas: 3, tls: false }],
  ['production', PRODUCTION, { replicas: 2, tls: true }],
];
for (const [name, args, want] of CASES) {
  t.test(`helm template: ${name}`, async (t) => {
    const objects = await helmTemplate(CHART, args);
    t.same(await validateAll(objects), [], 'every object is valid against its schema');
    t.same(deployProblems(objects, want), [], 'security and wiring requirements');
  });
}

t.test('the chart\'s defaults render what deploy/base does', async (t) => {
  const helm = comparable(await helmTemplate(CHART));
  const base = comparable(await kustomize('deploy/base'));
  t.same([...helm.keys()].sort(), [...base.keys()].sort(), 'same kinds, names and namespaces');
  for (const [k, v] of base) t.same(helm.get(k), v, k);
});

t.test('HA + TLS + token + Operator render what deploy/overlays/production does', async (t) => {
  const helm = comparable(await helmTemplate(CHART, PRODUCTION));
  const prod = comparable(await kustomize('deploy/overlays/production'));
  t.same([...helm.keys()].sort(), [...prod.keys()].sort(), 'same kinds, names and namespaces');
  for (const [k, v] of prod) t.same(helm.get(k), v, k);
});

t.test('networkPolicy.nodeCidrs renders what deploy/overlays/node-probes does', async (t) => {
  const helm = comparable(await helmTemplate(CHART, NODE_PROBES));
  const overlay = comparable(await kustomize('deploy/overlays/node-probes'));
  t.same([...helm.keys()].sort(), [...overlay.keys()].sort(), 'same kinds, names and namespaces');
  for (const [k, v] of overlay) t.same(helm.get(k), v, k);
});

t.test('api.tokenSecret renders what deploy/overlays/api-token does', async (t) => {
  const helm = comparable(await helmTemplate(CHART, API_TOKEN));
  const overlay = comparable(await kustomize('deploy/overlays/api-token'));
  t.same([...helm.keys()].sort(), [...overlay.keys()].sort(), 'same kinds, names and namespaces');
  for (const [k, v] of overlay) t.same(helm.get(k), v, k);
});

t.test('networkPolicy.dnsPorts: DNS on other ports too, UDP and TCP', async (t) => {
  const objects = await helmTemplate(CHART, ['--set', 'networkPolicy.dnsPorts={53,5353}']);
  const dns = one(objects, 'NetworkPolicy', 'netmatrix-agent').spec.egress.find((r: { to: { ipBlock?: unknown }[] }) => r.to.some((x) => x.ipBlock));
  t.same(dns.to.map((x: { ipBlock?: { cidr: string } }) => x.ipBlock?.cidr ?? 'kube-dns pods'), ['kube-dns pods', '169.254.20.10/32'], 'CoreDNS and NodeLocal DNSCache');
  t.same(dns.ports, [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 5353 }, { protocol: 'TCP', port: 5353 }]);
  t.same(await validateAll(objects), []);
});

t.test('another release name and namespace: the aggregator still knows its agents', async (t) => {
  const objects = await helmTemplate(CHART, [], { name: 'nm', namespace: 'observability' });
  t.same(agentSelectorProblems(objects), [], 'agent namespace and labels match the DaemonSet\'s pods; the agent policies are flagged');
  const agg = envOf(one(objects, 'StatefulSet').spec.template.spec.containers[0]);
  t.equal(agg.NETMATRIX_AGENT_LABELS?.value, 'app.kubernetes.io/component=agent,app.kubernetes.io/instance=nm,app.kubernetes.io/name=netmatrix');
  t.equal(agg.NETMATRIX_AGENT_NAMESPACE?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace', 'the release namespace, through the Downward API');
  t.equal(one(objects, 'StatefulSet').metadata.namespace, 'observability');
});

t.test('values reach the objects', async (t) => {
  const objects = await helmTemplate(CHART, [
    '--set', 'aggregator.alertmanagerUrls={http://am-0.monitoring:9093,http://am-1.monitoring:9093}',
    '--set', 'aggregator.zoneLabel=example.com/zone',
    '--set', 'agent.resources.limits.memory=300Mi',
    '--set', 'networkPolicy.enabled=false',
    '--set', 'grafanaDashboard.enabled=false',
    '--set', 'prometheusOperator.enabled=true',
    '--set', 'prometheusOperator.additionalLabels.release=kube-prometheus-stack',
  ]);
  const agg = envOf(one(objects, 'StatefulSet').spec.template.spec.containers[0]);
  t.equal(agg.NETMATRIX_ALERTMANAGER_URLS?.value, 'http://am-0.monitoring:9093,http://am-1.monitoring:9093');
  t.equal(agg.NETMATRIX_ZONE_LABEL?.value, 'example.com/zone');
  t.equal(one(objects, 'DaemonSet').spec.template.spec.containers[0].resources.limits.memory, '300Mi');
  t.equal(objects.filter((o) => o.kind === 'NetworkPolicy' || o.kind === 'ConfigMap').length, 0);
  t.equal(agg.NETMATRIX_PROBE_KINDS?.value, 'icmp,tcp,http,node', 'no NetworkPolicies: nothing stops the node probes');
  for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) t.equal(one(objects, kind).metadata.labels?.release, 'kube-prometheus-stack', kind);
  t.same(await validateAll(objects), []);
});

t.test('values.schema.json rejects bad values', async (t) => {
  for (const bad of [['aggregator.replicas=0'], ['agent.bogus=1'], ['aggregator.alertmanagerUrls={am:9093}'], ['tls.enabled=yes'], ['networkPolicy.dnsPorts={0}'], ['networkPolicy.nodeCidrs={10.0.0.0}'], ['aggregator.probeKinds=ping'], ['api.tokenSecret=Not_A_Name'], ['api.token=x']]) {
    const r = await run(k8sTools().helm, ['template', 'netmatrix', CHART, '--set', ...bad]);
    t.not(r.code, 0, bad.join(' '));
    t.match(r.stderr, /values don't meet the specifications of the schema/, bad.join(' '));
  }
});
