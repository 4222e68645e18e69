// deploy/base and deploy/overlays: every overlay renders with kubectl's
// kustomize, every object is valid against the Kubernetes (and Prometheus
// Operator CRD) schemas, and the security and wiring requirements of
// docs/deploy.md hold. kubectl is the pinned one of scripts/fetch-k8s-tools.mjs.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/child.js';
import { agentSelectorProblems, deployProblems, envOf, find, kustomize, one, packageVersion, run, validateAll, type K8sObject } from '../helpers/k8s-validate.js';

const OVERLAYS: Record<string, { replicas: number; tls: boolean; operator: boolean; nodeCidrs?: string[]; apiToken?: boolean }> = {
  'deploy/base': { replicas: 1, tls: false, operator: false },
  'deploy/overlays/node-probes': { replicas: 1, tls: false, operator: false, nodeCidrs: ['198.51.100.0/24'] },
  'deploy/overlays/api-token': { replicas: 1, tls: false, operator: false, apiToken: true },
  'deploy/overlays/ha': { replicas: 2, tls: false, operator: false },
  'deploy/overlays/tls': { replicas: 1, tls: true, operator: false },
  'deploy/overlays/prometheus-operator': { replicas: 1, tls: false, operator: true },
  'deploy/overlays/production': { replicas: 2, tls: true, operator: true },
};

const rulesGroups = (parse(readFileSync(join(repoRoot, 'deploy/prometheus/rules.yaml'), 'utf8')) as { groups: unknown }).groups;
const dashboard = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/netmatrix.json'), 'utf8')) as unknown;

for (const [dir, want] of Object.entries(OVERLAYS)) {
  t.test(dir, async (t) => {
    const objects: K8sObject[] = await kustomize(dir);
    t.ok(objects.length >= 13, `${objects.length} objects`);
    t.same(await validateAll(objects), [], 'every object is valid against its schema');
    t.same(deployProblems(objects, want), [], 'security and wiring requirements');

    const ns = one(objects, 'Namespace', 'netmatrix');
    t.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged', 'namespace allows the agent (hostPath)');

    const cm = one(objects, 'ConfigMap', 'netmatrix-dashboard');
    t.equal(cm.metadata.labels.grafana_dashboard, '1', 'dashboard label for the Grafana sidecar');
    t.same(JSON.parse(cm.data['netmatrix.json']), dashboard, 'dashboard is deploy/grafana/netmatrix.json');

    const operatorKinds = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'];
    if (want.operator) {
      t.same(one(objects, 'PrometheusRule').spec.groups, rulesGroups, 'PrometheusRule groups are rules.yaml');
      const sm = one(objects, 'ServiceMonitor');
      const svc = one(objects, 'Service', 'netmatrix-aggregator');
      t.ok(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels[k] === v), 'ServiceMonitor selects the API Service');
      t.ok(svc.spec.ports.some((p: { name: string }) => p.name === sm.spec.endpoints[0].port), 'ServiceMonitor port exists');
      const pm = one(objects, 'PodMonitor');
      const ds = one(objects, 'DaemonSet', 'netmatrix-agent');
      t.ok(Object.entries(pm.spec.selector.matchLabels).every(([k, v]) => ds.spec.template.metadata.labels[k] === v), 'PodMonitor selects the agents');
      t.ok(ds.spec.template.spec.containers[0].ports.some((p: { name: string }) => p.name === pm.spec.podMetricsEndpoints[0].port), 'PodMonitor port exists');
    } else {
      t.same(objects.filter((o) => operatorKinds.includes(o.kind)), [], 'no Prometheus Operator objects (no CRDs needed)');
    }
  });
}

t.test('images are tagged with package.json version', async (t) => {
  const k = parse(readFileSync(join(repoRoot, 'deploy/base/kustomization.yaml'), 'utf8')) as { images: { name: string; newTag: string }[] };
  t.same(
    k.images.map((i) => `${i.name}:${i.newTag}`).sort(),
    [`ghcr.io/netmatrix/netmatrix-agent:${packageVersion}`, `ghcr.io/netmatrix/netmatrix-aggregator:${packageVersion}`],
  );
});

t.test('tls: the agent verifies one server name, the aggregator uses a token too', async (t) => {
  const objects = await kustomize('deploy/overlays/tls');
  const agent = envOf(one(objects, 'DaemonSet').spec.template.spec.containers[0]);
  const agg = envOf(one(objects, 'StatefulSet').spec.template.spec.containers[0]);
  t.equal(agent.NETMATRIX_TLS_SERVER_NAME?.value, 'netmatrix-aggregator.netmatrix.svc');
  t.equal(agent.NETMATRIX_TOKEN_FILE?.value, agg.NETMATRIX_TOKEN_FILE?.value);
  t.equal(find(objects, 'Secret').length, 0, 'no Secret is shipped: they are the operator\'s');
});

t.test('an overlay that moves everything to another namespace: the aggregator still knows its agents', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-kustomize-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: observability\nresources: [${relative(dir, join(repoRoot, 'deploy/base'))}]\n`);
  const objects = await kustomize(dir);
  t.equal(one(objects, 'DaemonSet').metadata.namespace, 'observability');
  t.same(agentSelectorProblems(objects), [], 'agent namespace (Downward API) and labels match the DaemonSet\'s pods');
});

const AMTOOL = process.env.NETMATRIX_TEST_AMTOOL ?? '/usr/bin/amtool';
t.test('the Alertmanager example passes amtool check-config', { skip: existsSync(AMTOOL) ? false : `${AMTOOL} not installed (Debian package prometheus-alertmanager)` }, async (t) => {
  const r = await run(AMTOOL, ['check-config', 'deploy/alertmanager/alertmanager.yaml']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /SUCCESS/);
});
