// The aggregator's RBAC as rendered (kustomize base, the Helm chart) is enough
// for its Kubernetes watcher and no more: a fake API server that authorizes
// every request against the rendered rules the way kube-apiserver does
// (ClusterRole rules everywhere, Role rules in their namespace, resourceNames
// for list/watch only through a metadata.name field selector) serves the real
// KubeWatcher, which must sync every resource. Without the namespaced Role, or
// without the field selector, it is forbidden.
import { request } from 'node:http';
import t from 'tap';
import { KubeWatcher } from '../../aggregator/kubernetes/watcher.js';
import { silentLogger } from '../../common/logger.js';
import { makeEndpointSlice, makeNetworkPolicy, makeNode, makeService, startFakeKubeApi, type FakeKubeApi, type FakeRbacRule } from '../helpers/fake-kube-api.js';
import { waitFor } from '../helpers/wait.js';
import { aggregatorRbacRules, envOf, helmTemplate, kustomize, one, type K8sObject } from '../helpers/k8s-validate.js';

const CHART = 'deploy/helm/netmatrix';

async function fakeFor(dnsService: string, rules: readonly FakeRbacRule[]): Promise<FakeKubeApi> {
  const [ns, name] = dnsService.split('/') as [string, string];
  const fake = await startFakeKubeApi();
  fake.add('nodes', makeNode('node-a', { ips: ['192.0.2.10'] }));
  fake.add('services', makeService(ns, name, ['198.51.100.10']));
  fake.add('services', makeService(ns, 'metrics-server', ['198.51.100.11']));
  fake.add('endpointslices', makeEndpointSlice(ns, `${name}-abcde`, name, [{ ip: '203.0.113.2', pod: 'coredns-1', node: 'node-a', ready: true }]));
  fake.add('networkpolicies', makeNetworkPolicy('default', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }));
  fake.rbac(rules);
  return fake;
}

/** Starts the real watcher as the aggregator would (its NETMATRIX_DNS_SERVICE); resolves to the error, if any. */
async function watch(fake: FakeKubeApi, dnsService: string): Promise<{ error: string | undefined; clusterIPs: string[] }> {
  let clusterIPs: string[] = [];
  const w = new KubeWatcher({
    kubeconfig: fake.kubeconfigPath,
    dnsService,
    log: silentLogger(),
    backoffInitialMs: 20,
    backoffMaxMs: 50,
    debounceMs: 5,
    startTimeoutMs: 1500,
    onNodes: () => {},
    onDns: (d) => (clusterIPs = [...d.clusterIPs]),
    onNetworkPolicies: () => {},
  });
  try {
    await w.start();
    await waitFor('the DNS view and the Service watch', () => clusterIPs.length > 0 && fake.requests.some((x) => x.kind === 'services' && x.verb === 'watch'), 5_000, 10);
    return { error: undefined, clusterIPs };
  } catch (e) {
    return { error: (e as Error).message, clusterIPs };
  } finally {
    await w.stop();
  }
}

const dnsServiceOf = (objects: readonly K8sObject[]) => envOf(one(objects, 'StatefulSet').spec.template.spec.containers[0]).NETMATRIX_DNS_SERVICE?.value as string;

const CASES: [string, () => Promise<K8sObject[]>][] = [
  ['kustomize deploy/base', () => kustomize('deploy/base')],
  ['helm defaults', () => helmTemplate(CHART)],
  ['helm, DNS Service dns/coredns', () => helmTemplate(CHART, ['--set', 'aggregator.dnsService=dns/coredns'])],
];

for (const [name, render] of CASES) {
  t.test(`${name}: the watcher syncs everything under the rendered RBAC`, async (t) => {
    const objects = await render();
    const dnsService = dnsServiceOf(objects);
    const rules = aggregatorRbacRules(objects);
    const fake = await fakeFor(dnsService, rules);
    t.teardown(() => fake.close());
    const r = await watch(fake, dnsService);
    t.equal(r.error, undefined, 'start() resolves: every list and watch allowed');
    t.same(r.clusterIPs, ['198.51.100.10'], 'the DNS Service read by name');
    t.same(fake.requests.filter((x) => x.status === 403), [], 'nothing forbidden');
    t.ok(fake.requests.some((x) => x.kind === 'services' && x.verb === 'watch' && x.query['fieldSelector'] === `metadata.name=${dnsService.split('/')[1]}`), 'the Service watch carries the name selector too');

    const [ns] = dnsService.split('/') as [string];
    t.notOk(rules.some((x) => x.namespace === null && (x.resources.includes('services') || x.resources.includes('endpointslices'))), 'no cluster-wide services or endpointslices');
    const clusterOnly = rules.filter((x) => x.namespace === null);
    const without = await fakeFor(dnsService, clusterOnly);
    t.teardown(() => without.close());
    t.match((await watch(without, dnsService)).error, /services \(forbidden.*endpointslices \(forbidden|endpointslices \(forbidden.*services \(forbidden/, 'without the Role the DNS view is forbidden');
    // resourceNames allow a list only when it names the object: the selector is what makes the Role work.
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${fake.url}${path}`, { headers: { authorization: `Bearer ${fake.token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    t.equal(await status(`/api/v1/namespaces/${ns}/services`), 403, 'listing every Service there: forbidden');
    t.equal(await status(`/api/v1/namespaces/${ns}/services?fieldSelector=metadata.name%3Dmetrics-server`), 403, 'another Service by name: forbidden');
    t.equal(await status(`/api/v1/namespaces/${ns}/services?fieldSelector=metadata.name%3D${dnsService.split('/')[1]}`), 200, 'the DNS Service by name: allowed');
  });
}
