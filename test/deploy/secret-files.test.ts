// The check that every mounted Secret file is readable by the container that
// mounts it (test/helpers/k8s-validate.ts unreadableMountedFiles), on its own:
// kubelet's ownership rule (root:root, root:<fsGroup> with g+r when fsGroup is
// set) against the process's uid, groups and capabilities. The rendered
// manifests go through the same check in kustomize.test.ts and helm.test.ts.
import t from 'tap';
import { canRead, processOf, unreadableMountedFiles, type K8sObject } from '../helpers/k8s-validate.js';

const nobody = { uid: 65534, gid: 65534, groups: [], dacOverride: false };

t.test('kubelet ownership: root:root without fsGroup, root:fsGroup with g+r with it', async (t) => {
  t.notOk(canRead(0o440, undefined, nobody), '0440 root:root: uid 65534 is neither owner nor group (EACCES)');
  t.ok(canRead(0o444, undefined, nobody), '0444: world-readable');
  t.ok(canRead(0o440, 65534, { ...nobody, groups: [65534] }), '0440 root:65534: read through the group');
  t.ok(canRead(0o400, 65534, { ...nobody, groups: [65534] }), '0400 with fsGroup: kubelet adds g+r on read-only volumes');
  t.notOk(canRead(0o440, 1000, nobody), 'fsGroup the process is not in');
  t.ok(canRead(0o440, undefined, { uid: 0, gid: 0, groups: [], dacOverride: false }), 'uid 0 owns root:root files (owner bits, no capability needed)');
  t.notOk(canRead(0o040, undefined, { uid: 0, gid: 0, groups: [], dacOverride: false }), 'uid 0 without CAP_DAC_OVERRIDE follows the owner bits');
  t.ok(canRead(0o000, undefined, { uid: 0, gid: 0, groups: [], dacOverride: true }), 'root that kept CAP_DAC_OVERRIDE reads anything');
});

t.test('the process from the securityContexts', async (t) => {
  const pod = { securityContext: { runAsUser: 65534, runAsGroup: 65534, fsGroup: 2000, supplementalGroups: [3000] } };
  t.same(processOf(pod, {}), { uid: 65534, gid: 65534, groups: [2000, 3000], dacOverride: false });
  t.same(processOf(pod, { securityContext: { runAsUser: 0, capabilities: { drop: ['ALL'], add: ['NET_RAW'] } } }), { uid: 0, gid: 65534, groups: [2000, 3000], dacOverride: false }, 'the agent: uid 0 without DAC_OVERRIDE');
  t.match(processOf(pod, { securityContext: { runAsUser: 0 } }), { dacOverride: true }, 'uid 0 with the default capabilities');
  t.equal(processOf({}, {}), undefined, 'no runAsUser: unknown');
});

const statefulSet = (podSecurity: Record<string, unknown>, volume: Record<string, unknown>): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'netmatrix-aggregator', namespace: 'netmatrix' },
  spec: {
    template: {
      spec: {
        securityContext: podSecurity,
        containers: [{ name: 'aggregator', volumeMounts: [{ name: 'tls', mountPath: '/etc/netmatrix/tls', readOnly: true }] }],
        volumes: [{ name: 'tls', ...volume }],
      },
    },
  },
});

t.test('a pod template: the aggregator as it was (0440, uid 65534, no fsGroup) fails; with fsGroup it passes', async (t) => {
  const secret = { secret: { secretName: 'netmatrix-aggregator-tls', defaultMode: 0o440 } };
  t.same(unreadableMountedFiles([statefulSet({ runAsUser: 65534, runAsGroup: 65534 }, secret)]), [
    'StatefulSet/netmatrix-aggregator container aggregator: /etc/netmatrix/tls/* (mode 0440, root:0) unreadable by uid 65534 gid 65534 groups []',
  ]);
  t.same(unreadableMountedFiles([statefulSet({ runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534 }, secret)]), []);
  const items = { secret: { secretName: 'x', defaultMode: 0o444, items: [{ key: 'tls.key', path: 'tls.key', mode: 0o400 }, { key: 'tls.crt', path: 'tls.crt' }] } };
  t.same(unreadableMountedFiles([statefulSet({ runAsUser: 65534, runAsGroup: 65534 }, items)]).map((l) => l.replace(/ \(.*/, '')), ['StatefulSet/netmatrix-aggregator container aggregator: /etc/netmatrix/tls/tls.key'], 'an item mode wins over defaultMode');
  const projected = { projected: { defaultMode: 0o440, sources: [{ secret: { name: 'a' } }, { serviceAccountToken: { path: 'token' } }] } };
  t.equal(unreadableMountedFiles([statefulSet({ runAsUser: 65534, runAsGroup: 65534 }, projected)]).length, 2, 'projected sources take the projected defaultMode');
  t.same(unreadableMountedFiles([statefulSet({}, secret)]), ['StatefulSet/netmatrix-aggregator container aggregator: /etc/netmatrix/tls: runAsUser not set, so who reads the mounted files is unknown']);
});
