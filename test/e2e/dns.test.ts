// netmatrix's DNS checks on a namespace lab modelled on a cluster's CoreDNS:
// two dnsmasq replicas (dns-a, dns-b), each in its own namespace with its own
// IP, behind a service IP that every node DNATs to them at random (kube-proxy's
// iptables mode). The agents read a resolv.conf naming the service IP, as a
// pod's does; the aggregator is told the service and both replicas. Real
// faults: a slow replica, a stopped replica, a node whose DNS traffic is
// dropped. Fault-to-finding times are printed, not asserted (bench/).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { dnsServersFlag } from './lab/cli.js';
import { createLab } from './lab/lab.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { Netmatrix, type ApiFinding, type DnsCell, type DnsView } from './netmatrix.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const FOR_MS = 1000;
const NODES = 5;
const KUBE = 'kubernetes.default.svc.cluster.local';
/** Generous deadlines: the times themselves are printed. */
const FIRE_MS = 20_000;
const HEAL_MS = 30_000;

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: NODES, dnsReplicas: 2, dnsRecords: [{ name: KUBE, ip: '198.18.0.1' }] });
t.teardown(() => lab.down());

// A pod's resolv.conf, naming the lab's DNS service IP.
const dir = mkdtempSync(join(tmpdir(), 'netmatrix-dns-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, `nameserver ${lab.dnsServiceIP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`);

const SERVERS = dnsServersFlag(lab); // service=198.18.0.10,replica:dns-a=198.18.0.2,replica:dns-b=198.18.0.4
const nm = new Netmatrix(lab, {
  aggregator: {
    'probe-interval': `${INTERVAL_MS}ms`,
    'probe-timeout': `${TIMEOUT_MS}ms`,
    window: '10s',
    'finding-for': `${FOR_MS}ms`,
    'finding-clear-for': `${FOR_MS}ms`,
    'dns-servers': SERVERS,
    'dns-names': KUBE,
    'dns-latency-threshold': '20ms',
  },
  resolvConf,
});
t.teardown(() => nm.stop());
await nm.start();

const SERVICE = 'service';
const DNS_A = 'dns-a';
const DNS_B = 'dns-b';

/** The cells of one server column, by node. */
function column(v: DnsView, server: string): { node: string; cell: DnsCell | null }[] {
  const c = v.servers.findIndex((s) => s.name === server);
  if (c < 0) throw new Error(`no server ${server} in /api/v1/dns (have ${v.servers.map((s) => s.name).join(', ')})`);
  return v.nodes.map((node, r) => ({ node, cell: v.cells[r]?.[c] ?? null }));
}

function describeDns(v: DnsView): string {
  return v.servers
    .map((s) => `${s.name}: ${column(v, s.name).map(({ node, cell }) => `${node}=${cell ? `${cell.status}/${cell.lastOutcome}(err ${cell.errorRatio?.toFixed(2)} of ${cell.samples}, p50 ${cell.latencyP50Ms})` : 'none'}`).join(' ')}`)
    .join('; ');
}

const isDns = (f: ApiFinding) => /^Dns/.test(f.labels.alertname ?? f.kind);
const brief = (fs: readonly ApiFinding[]) =>
  fs
    .filter(isDns)
    .map((f) => `${f.labels.alertname ?? f.kind}{${['server', 'node'].filter((k) => f.labels[k]).map((k) => `${k}=${f.labels[k]}`).join(',')}}`)
    .sort();

/** Waits until `ok(view)`; returns ms waited. The error shows the last view and the findings. */
async function untilDns(what: string, ok: (v: DnsView) => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  try {
    await waitFor(what, async () => {
      const v = await nm.dns();
      last = describeDns(v);
      return v.nodes.length === NODES && ok(v);
    }, timeoutMs, 200);
  } catch (e) {
    const findings = await nm.findings('all').then((f) => brief(f).join(' ') || 'none', (err: Error) => err.message);
    throw new Error(`${(e as Error).message}; last seen ${last}; findings ${findings}`);
  }
  return Date.now() - started;
}

/** Waits until the firing DNS findings satisfy `ok`; returns ms waited. */
async function untilFindings(what: string, ok: (firing: string[]) => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last: string[] = [];
  try {
    await waitFor(what, async () => {
      last = brief(await nm.findings());
      return ok(last);
    }, timeoutMs, 200);
  } catch (e) {
    const dns = await nm.dns().then(describeDns, (err: Error) => err.message);
    throw new Error(`${(e as Error).message}; firing: ${last.join(' ') || 'none'}; dns: ${dns}`);
  }
  return Date.now() - started;
}

const allOk = (v: DnsView) => v.servers.length === 3 && v.cells.every((row) => row.length === 3 && row.every((c) => c?.status === 'ok'));


const noDnsFailing = async () => brief(await nm.findings()).filter((f) => f.startsWith('DnsFailing'));

t.test('healthy: every node sees the service and both replicas ok, and no Dns* finding', async (t) => {
  const ms = await untilDns('every DNS cell ok', allOk, 30_000);
  t.comment(`all ${NODES}×3 DNS cells ok ${ms} ms after the first look`);
  const v = await nm.dns();
  t.same(v.servers.map((s) => [s.name, s.role, s.address, s.port]), [
    [SERVICE, 'service', lab.dnsServiceIP, 53],
    [DNS_A, 'replica', '198.18.0.2', 53],
    [DNS_B, 'replica', '198.18.0.4', 53],
  ]);
  t.same([...v.nodes].sort(), lab.nodes.map((n) => n.name).sort());
  // Two firing delays after all was ok, nothing is pending or firing.
  await new Promise((r) => setTimeout(r, 2 * INTERVAL_MS + FOR_MS));
  t.same(brief(await nm.findings('all')), [], 'no Dns* finding, firing or pending');
  t.ok(allOk(await nm.dns()), 'still all ok');
});

t.test('50 ms delay on dns-b: DnsReplicaUnhealthy{server=dns-b}; dns-a stays ok; no DnsFailing', async (t) => {
  const injected = Date.now();
  await lab.delay(DNS_B, 50);
  t.teardown(() => lab.clear());
  await untilFindings('DnsReplicaUnhealthy{server=dns-b} firing', (f) => f.includes('DnsReplicaUnhealthy{server=dns-b}'), FIRE_MS);
  t.comment(`delay on dns-b to DnsReplicaUnhealthy firing: ${Date.now() - injected} ms (interval ${INTERVAL_MS} ms, for ${FOR_MS} ms)`);
  const firing = brief(await nm.findings());
  t.notOk(firing.some((f) => f.startsWith('DnsReplicaUnhealthy') && !f.includes('server=dns-b')), `only dns-b is unhealthy (${firing.join(' ')})`);
  await holdsFor(t, 'dns-a cells ok and no DnsFailing', async () => {
    const bad = column(await nm.dns(), DNS_A).filter((x) => x.cell?.status !== 'ok').map((x) => `${x.node}→dns-a ${x.cell?.status}/${x.cell?.lastOutcome}`);
    return [...bad, ...(await noDnsFailing())];
  }, 3 * INTERVAL_MS);
  const slow = column(await nm.dns(), DNS_B).map((x) => x.cell?.latencyP50Ms ?? 0);
  t.ok(slow.every((p50) => p50 >= 40), `dns-b p50 from every node ≥ 40 ms (${slow.join(', ')})`);
  const cleared = Date.now();
  await lab.clear();
  await untilFindings('DnsReplicaUnhealthy resolved', (f) => !f.some((x) => x.startsWith('DnsReplicaUnhealthy')), HEAL_MS);
  t.comment(`clear to DnsReplicaUnhealthy resolved: ${Date.now() - cleared} ms (window 10 s)`);
  await untilDns('every DNS cell ok again', allOk, HEAL_MS);
  t.pass('healed');
});

t.test('dns-b stopped: timeout on dns-b from every node, the service degraded but answering', async (t) => {
  const stopped = Date.now();
  await lab.stopDns(DNS_B);
  t.teardown(() => lab.clear());
  const ms = await untilDns('dns-b timing out from every node', (v) => column(v, DNS_B).every((x) => x.cell?.lastOutcome === 'timeout'), FIRE_MS);
  t.comment(`dns-b stopped to a timeout in every dns-b cell: ${Date.now() - stopped} ms (${ms} ms of polling)`);
  // The service IP still DNATs to dns-b (kube-proxy does until the endpoint goes): about half its questions time out.
  await untilDns('every service cell with errors', (v) => column(v, SERVICE).every((x) => (x.cell?.errorRatio ?? 0) > 0), FIRE_MS);
  t.comment(`dns-b stopped to errors in every service cell: ${Date.now() - stopped} ms`);
  const v = await nm.dns();
  for (const { node, cell } of column(v, SERVICE)) {
    t.ok(cell && cell.errorRatio !== null && cell.errorRatio > 0 && cell.errorRatio < 1, `${node}→service: some questions fail, not all (error ratio ${cell?.errorRatio?.toFixed(2)} of ${cell?.samples}, ${JSON.stringify(cell?.errors)})`);
    t.comment(`${node}→service ${cell?.status}: ${cell?.reason}`);
  }
  // Each cell's status follows the aggregator's error threshold (a cell with 1 timeout in 10 may still read ok).
  // Two separate failure runs make the errors recurring: wait for them rather than read one moment.
  const degraded = await untilDns('a service cell degraded or failing', (v2) => column(v2, SERVICE).some((x) => x.cell?.status !== 'ok'), FIRE_MS);
  t.comment(`dns-b stopped to the service column degraded: ${Date.now() - stopped} ms (${degraded} ms of polling)`);
  t.pass('the service column is degraded');
  for (const { node, cell } of column(v, DNS_A)) t.equal(cell?.status, 'ok', `${node}→dns-a ok`);
  await untilFindings('DnsReplicaUnhealthy{server=dns-b} firing', (f) => f.includes('DnsReplicaUnhealthy{server=dns-b}'), FIRE_MS);
  const firing = brief(await nm.findings());
  t.comment(`firing with dns-b stopped: ${firing.join(' ') || 'none'}`);
  t.same(firing, ['DnsReplicaUnhealthy{server=dns-b}'], 'the stopped replica is named; no DnsFailing: every node still resolves through dns-a');
  const restarted = Date.now();
  await lab.startDns(DNS_B);
  await untilDns('dns-b answering from every node', (v2) => column(v2, DNS_B).every((x) => x.cell?.lastOutcome === 'ok'), HEAL_MS);
  t.comment(`restart to dns-b answering everywhere: ${Date.now() - restarted} ms`);
  await untilDns('every DNS cell ok again', allOk, HEAL_MS);
  await untilFindings('no Dns* finding firing', (f) => f.length === 0, HEAL_MS);
  t.comment(`restart to all ok and no Dns* finding: ${Date.now() - restarted} ms`);
});

t.test('node-2\'s DNS blocked: DnsFailing{node=node-2} only', async (t) => {
  const blocked = Date.now();
  await lab.blockDns('node-2');
  t.teardown(() => lab.clear());
  await untilFindings('DnsFailing{node=node-2} firing', (f) => f.includes('DnsFailing{node=node-2}'), FIRE_MS);
  t.comment(`blockDns(node-2) to DnsFailing firing: ${Date.now() - blocked} ms`);
  await holdsFor(t, 'no DnsFailing for any other node', async () => (await noDnsFailing()).filter((f) => f !== 'DnsFailing{node=node-2}'), 3 * INTERVAL_MS);
  const v = await nm.dns();
  const row = v.nodes.indexOf('node-2');
  t.ok(v.cells[row]?.every((c) => c?.lastOutcome === 'timeout'), `node-2 times out on every server (${v.cells[row]?.map((c) => c?.lastOutcome).join(', ')})`);
  const cleared = Date.now();
  await lab.clear();
  await untilFindings('DnsFailing resolved', (f) => !f.some((x) => x.startsWith('DnsFailing')), HEAL_MS);
  t.comment(`clear to DnsFailing resolved: ${Date.now() - cleared} ms`);
  await untilDns('every DNS cell ok again', allOk, HEAL_MS);
});

t.test('the root namespace is as it was', async (t) => {
  await nm.stop();
  await lab.down();
  t.same(await guard.changes(), []);
});
