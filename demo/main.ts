#!/usr/bin/env node
// `npm start`: the local demo cluster (README.md, docs/architecture.md). An aggregator and four agents run as
// separate processes on loopback addresses (Linux routes all of 127/8 to lo).
// node-d's responder listens away from its pod IP, so every tcp and http probe
// towards node-d is refused for real: its column of those matrices fails while
// ICMP to it still works (the layers are told apart). Two DNS responders stand
// in for CoreDNS replicas, one of them slow, behind a third that forwards to
// either at random as the kube-dns Service does. Each node has its own CNI
// dirs (a bridge + host-local conflist, plugin files, IPAM state); node-c's
// config has another MTU: config drift. Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDuration } from '../common/duration.js';
import { startDnsResponder, type DnsResponder } from './dns-responder.js';

const SLOW_REPLICA_MS = 100;
const CLUSTER_MTU = 1450;
const DRIFTED_MTU = 1400;

const HELP = `Usage: npm start [-- --http-port 8080 --grpc-port 9400 --interval 2s --alertmanager-url URL]

Starts netmatrix-aggregator and four netmatrix-agent processes on 127.0.0.x,
waits until the matrix is filled and the first finding fires, prints where to
look, and runs until Ctrl-C. node-d's responder is deliberately not on its pod
IP, so the tcp and http columns of node-d fail with outcome "refused" while ICMP
reaches it, and the aggregator raises one ProbeKindFailing finding for node-d's
tcp (a port refused on one node, a warning: the node itself is up). DNS: two replicas
(dns-a, and dns-b which answers ${SLOW_REPLICA_MS} ms late) behind a service address that
forwards to either; the aggregator raises DnsReplicaUnhealthy for dns-b.
CNI: every node has its own CNI dirs under the log directory; node-c's
conflist says mtu ${DRIFTED_MTU} where the others say ${CLUSTER_MTU}: CniConfigDrift for node-c.

  --alertmanager-url URL   send findings to this Alertmanager as well
                           (comma-separated for several, e.g. an HA pair)`;

const { values } = parseArgs({
  options: {
    'http-port': { type: 'string', default: '8080' },
    'grpc-port': { type: 'string', default: '9400' },
    interval: { type: 'string', default: '2s' },
    'alertmanager-url': { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const intervalMs = parseDuration(values.interval);
if (intervalMs === undefined || intervalMs < 200) {
  process.stderr.write(`demo: invalid --interval ${JSON.stringify(values.interval)}: expected a duration of at least 200ms, like 2s\n`);
  process.exit(2);
}
const httpPort = Number(values['http-port']);
const grpcPort = Number(values['grpc-port']);
const api = `http://127.0.0.1:${httpPort}`;
const dist = fileURLToPath(new URL('..', import.meta.url));
const logDir = mkdtempSync(join(tmpdir(), 'netmatrix-demo-'));
const children: { name: string; proc: ChildProcess; log: string }[] = [];
let stopping = false;

interface DemoNode {
  readonly name: string;
  readonly zone: string;
  readonly podIP: string;
  readonly nodeIP: string;
  readonly listen: string;
}
const NODES: DemoNode[] = ['a', 'b', 'c', 'd'].map((letter, i) => ({
  name: `node-${letter}`,
  zone: i < 2 ? 'zone-1' : 'zone-2',
  podIP: `127.0.0.${11 + i}`,
  nodeIP: `127.0.1.${11 + i}`,
  // The fault: node-d's responder is not on its pod IP.
  listen: letter === 'd' ? `127.0.2.${11 + i}:9402` : `127.0.0.${11 + i}:9402`,
}));

function start(name: string, script: string, env: Record<string, string>): void {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const proc = spawn(process.execPath, [join(dist, script)], {
    env: { ...process.env, NETMATRIX_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', fd, fd],
  });
  children.push({ name, proc, log });
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`\n${name} exited (${signal ?? `code ${code}`}); its log ${log} ends with:\n${tail(log)}\n`);
    void stop(1);
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stop(code: number): Promise<never> {
  stopping = true;
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  const deadline = Date.now() + 5_000;
  while (children.some((c) => c.proc.exitCode === null && c.proc.signalCode === null) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await Promise.all(dns.map((d) => d.close()));
  if (code === 0) rmSync(logDir, { recursive: true, force: true });
  else process.stderr.write(`logs kept in ${logDir}\n`);
  process.exit(code);
}

process.on('SIGINT', () => {
  process.stdout.write('\nstopping the demo…\n');
  void stop(0);
});
process.on('SIGTERM', () => void stop(0));

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

/** The compact matrix: a status letter per cell (o ok, d degraded, f failing, u unknown, - the diagonal). */
interface MatrixBody {
  nodes: string[];
  rows: string[];
}

interface FindingsBody {
  findings: { id: string; kind: string; summary: string; labels: Record<string, string> }[];
}

/** Waits until the aggregator has a firing finding of each kind (node-d's refused port, the slow DNS replica). */
async function waitForFindings(kinds: readonly string[], deadlineMs: number): Promise<FindingsBody['findings']> {
  const until = Date.now() + deadlineMs;
  let f: FindingsBody['findings'] = [];
  while (Date.now() < until) {
    f = ((await getJson('/api/v1/findings')) as FindingsBody).findings;
    if (kinds.every((k) => f.some((x) => x.kind === k))) return f;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`not every one of ${kinds.join(', ')} fired within ${deadlineMs / 1000}s (firing: ${f.map((x) => x.kind).join(', ') || 'none'})`);
}

/**
 * Waits until every tcp cell has a status other than unknown. The compact form
 * (and a poll a second): the full form weighs 10 in --http-rate-limit, and the
 * matrix changes once per evaluation anyway.
 */
async function waitForMatrix(deadlineMs: number): Promise<MatrixBody> {
  const until = Date.now() + deadlineMs;
  let last = 'aggregator not answering yet';
  while (Date.now() < until) {
    try {
      const m = (await getJson('/api/v1/matrix?kind=tcp&format=compact')) as MatrixBody;
      const unknown = m.rows.join('').split('u').length - 1;
      if (m.nodes.length === NODES.length && unknown === 0) return m;
      last = `${m.nodes.length}/${NODES.length} nodes, ${unknown} cells without data`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`matrix not filled within ${deadlineMs / 1000}s: ${last}`);
}

// CoreDNS stand-ins: two replicas and the Service address in front of them.
const RECORDS = { 'kubernetes.default.svc.cluster.local': ['10.96.0.1'] };
const dns: DnsResponder[] = [];
try {
  dns.push(await startDnsResponder({ host: '127.0.3.1', port: 0, records: RECORDS }));
  dns.push(await startDnsResponder({ host: '127.0.3.2', port: 0, records: RECORDS, delayMs: SLOW_REPLICA_MS }));
  dns.push(await startDnsResponder({ host: '127.0.3.10', port: 0, upstreams: dns.slice(0, 2) }));
} catch (e) {
  process.stderr.write(`demo: cannot start the DNS responders on 127.0.3.x: ${(e as Error).message}\n`);
  await stop(1);
}
const [dnsA, dnsB, dnsService] = dns as [DnsResponder, DnsResponder, DnsResponder];
// Each node's CNI dirs, as a bridge + host-local node has them; node-c drifted.
function cniDirs(node: DemoNode, i: number): Record<string, string> {
  const root = join(logDir, 'cni', node.name);
  const conf = join(root, 'net.d');
  const bin = join(root, 'bin');
  const ipam = join(root, 'networks');
  const network = 'demo-pod-network';
  for (const d of [conf, bin, join(ipam, network)]) mkdirSync(d, { recursive: true });
  const subnet = `10.244.${i}.0/24`;
  writeFileSync(
    join(conf, '10-demo.conflist'),
    `${JSON.stringify(
      {
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, mtu: node.name === 'node-c' ? DRIFTED_MTU : CLUSTER_MTU, ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    )}\n`,
  );
  // Stand-ins for the plugin binaries: hashed, never run.
  for (const plugin of ['bridge', 'host-local', 'portmap']) writeFileSync(join(bin, plugin), `#!/bin/false\ndemo ${plugin} plugin v1.5.1\n`, { mode: 0o755 });
  // A few pods' addresses allocated by host-local.
  for (let k = 2; k < 2 + 5 + i; k++) writeFileSync(join(ipam, network, `10.244.${i}.${k}`), `container-${k}\neth0\n`);
  return { NETMATRIX_CNI_CONF_DIR: conf, NETMATRIX_CNI_BIN_DIR: bin, NETMATRIX_IPAM_DIR: ipam };
}

// What kubelet writes into a ClusterFirst pod (the agents read it for the resolver view).
const resolvConf = join(logDir, 'resolv.conf');
writeFileSync(resolvConf, `nameserver ${dnsService.host}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`);

start('aggregator', 'aggregator/main.js', {
  NETMATRIX_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
  NETMATRIX_GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
  NETMATRIX_PROBE_INTERVAL: values.interval,
  // The timeout must be shorter than the interval.
  NETMATRIX_PROBE_TIMEOUT: `${Math.min(1000, Math.floor(intervalMs / 2))}ms`,
  NETMATRIX_CLUSTER: 'demo',
  // The demo's nodes are its own, whatever cluster this machine's kubeconfig names.
  NETMATRIX_KUBERNETES: 'off',
  NETMATRIX_ALERTMANAGER_URLS: values['alertmanager-url'],
  // Alert links (generatorURL) that work from this machine.
  NETMATRIX_EXTERNAL_URL: api,
  NETMATRIX_DNS_SERVERS: `service=${dnsService.host}:${dnsService.port},replica:dns-a=${dnsA.host}:${dnsA.port},replica:dns-b=${dnsB.host}:${dnsB.port}`,
});
for (const [i, n] of NODES.entries()) {
  start(n.name, 'agent/main.js', {
    ...cniDirs(n, i + 1),
    NODE_NAME: n.name,
    POD_IP: n.podIP,
    NODE_IP: n.nodeIP,
    NETMATRIX_ZONE: n.zone,
    NETMATRIX_AGENT_LISTEN: n.listen,
    NETMATRIX_AGGREGATOR: `127.0.0.1:${grpcPort}`,
    NETMATRIX_ALLOWED_CIDRS: '127.0.0.0/8',
    NETMATRIX_RESOLV_CONF: resolvConf,
  });
}

try {
  const started = Date.now();
  const m = await waitForMatrix(30_000);
  const failing = m.nodes.filter((_, col) => m.rows.some((row, r) => r !== col && row[col] === 'f'));
  const findings = await waitForFindings(['ProbeKindFailing', 'DnsReplicaUnhealthy', 'CniConfigDrift'], 10 * intervalMs + 10_000);
  process.stdout.write(
    [
      '',
      `netmatrix demo is running (${m.nodes.length} nodes, matrix filled in ${((Date.now() - started) / 1000).toFixed(1)}s):`,
      '',
      `  findings      ${api}/api/v1/findings`,
      `  API           ${api}/api/v1/matrix?kind=tcp`,
      `  nodes         ${api}/api/v1/nodes`,
      `  one pair      ${api}/api/v1/pairs/node-a/node-d`,
      `  DNS           ${api}/api/v1/dns`,
      `  CNI           ${api}/api/v1/cni   (node-c's diff: ${api}/api/v1/cni/node-c)`,
      `  OpenAPI       ${api}/docs/json`,
      `  metrics       ${api}/metrics`,
      `  watch it      npx netmatrix matrix --kind tcp${httpPort === 8080 ? '' : ` --server ${api}`}`,
      `                npx netmatrix status${httpPort === 8080 ? '' : ` --server ${api}`}`,
      `                npx netmatrix findings${httpPort === 8080 ? '' : ` --server ${api}`}`,
      `  logs          ${logDir}`,
      '',
      `node-d's responder listens on 127.0.2.14 instead of its pod IP 127.0.0.14, so tcp and http`,
      `probes towards it are refused while ICMP and its node IP answer (a port refused, not a dead node): failing column(s) now: ${failing.join(', ') || 'none yet'}.`,
      `DNS replica dns-b (${dnsB.host}) answers ${SLOW_REPLICA_MS} ms late; the service address ${dnsService.host} forwards to dns-a or dns-b.`,
      `node-c's CNI conflist says mtu ${DRIFTED_MTU}, the other nodes' ${CLUSTER_MTU} (CNI dirs: ${join(logDir, 'cni')}).`,
      'Findings firing:',
      ...findings.map((f) => `  ${f.kind} ${Object.entries(f.labels).filter(([k]) => !['alertname', 'severity', 'cluster'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')}: ${f.summary}`),
      values['alertmanager-url'] ? `Sent to Alertmanager at ${values['alertmanager-url']} (and again every minute while firing).` : 'Add -- --alertmanager-url http://127.0.0.1:9093 to send them to an Alertmanager.',
      '',
      'Ctrl-C stops every process this demo started.',
      '',
    ].join('\n'),
  );
} catch (e) {
  process.stderr.write(`demo: ${(e as Error).message}\n`);
  for (const c of children) process.stderr.write(`--- ${c.name} (${c.log})\n${tail(c.log)}\n`);
  await stop(1);
}
