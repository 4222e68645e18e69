// kubernetesAvailable() against fixture files, never the host's own configuration.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { kubernetesAvailable } from '../../../aggregator/kubernetes/available.js';

t.test('kubernetesAvailable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-avail-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\n');
  const token = join(dir, 'token');
  writeFileSync(token, 'x');
  const emptyHome = join(dir, 'empty-home');
  mkdirSync(emptyHome);
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), 'apiVersion: v1\n');
  const missing = join(dir, 'missing');
  const none = { env: {}, homeDir: emptyHome, serviceAccountTokenPath: missing };

  t.equal(kubernetesAvailable(kubeconfig, none), true, 'a named kubeconfig that exists');
  t.equal(kubernetesAvailable(missing, { ...none, homeDir: home }), false, 'a named kubeconfig that does not exist, whatever else is there');
  t.equal(kubernetesAvailable('', none), false, 'nothing configured');
  t.equal(kubernetesAvailable('', { ...none, env: { KUBERNETES_SERVICE_HOST: '198.51.100.1' }, serviceAccountTokenPath: token }), true, 'in-cluster');
  t.equal(kubernetesAvailable('', { ...none, env: { KUBERNETES_SERVICE_HOST: '198.51.100.1' } }), false, 'service host without a token');
  t.equal(kubernetesAvailable('', { ...none, serviceAccountTokenPath: token }), false, 'token without a service host');
  t.equal(kubernetesAvailable('', { ...none, env: { KUBECONFIG: `${kubeconfig}${delimiter}${missing}` } }), true, '$KUBECONFIG, first file exists');
  t.equal(kubernetesAvailable('', { ...none, env: { KUBECONFIG: `${missing}${delimiter}${kubeconfig}` } }), false, '$KUBECONFIG whose first file is missing (the client would fail to load it)');
  t.equal(kubernetesAvailable('', { ...none, homeDir: home }), true, '~/.kube/config');
});
