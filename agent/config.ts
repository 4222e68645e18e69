// netmatrix-agent settings (docs/configuration.md). Identity comes from
// the Downward API (NODE_NAME, POD_IP, NODE_IP); POD_IP and NODE_IP may be
// comma-separated lists (status.podIPs of a dual-stack pod). The responder
// listens on every pod IP, since Hello announces them all and peers probe
// tcp and http on each family.
import { CidrSet, PRIVATE_RANGES } from '../common/cidr.js';
import { LOG_LEVELS } from '../common/logger.js';
import { isDns1123Subdomain } from '../common/names.js';
import {
  cidr,
  ConfigError,
  defineSettings,
  duration,
  Expected,
  integer,
  ip,
  list,
  listenAddress,
  oneOf,
  optionalPath,
  parseSettings,
  path,
  type ListenAddress,
} from '../common/settings.js';

/** Where NodeLocal DNSCache listens by default (kubernetes/dns nodelocaldns). */
export const NODELOCAL_DNS_ADDRESS = '169.254.20.10';

function nodeName(raw: string): string | Expected {
  return isDns1123Subdomain(raw) ? raw : new Expected('a DNS-1123 subdomain (lower-case alphanumerics, "-" and ".")');
}

/** The responder's port when --listen is not set. */
const RESPONDER_PORT = 9402;

/**
 * One or more listen addresses on one port: Hello announces a single responder
 * port for every pod IP. Port 0 picks one free port for all of them.
 */
function listenAddresses(raw: string): readonly ListenAddress[] | Expected {
  const addresses = list(listenAddress, 'host:port addresses, like 192.0.2.10:9402,[2001:db8::10]:9402')(raw);
  if (addresses instanceof Expected) return addresses;
  if (addresses.length === 0) return new Expected('at least one host:port');
  if (new Set(addresses.map((a) => a.port)).size > 1) return new Expected('the same port for every address (peers are told one responder port)');
  return dedupeHosts(addresses);
}

const dedupeHosts = (addresses: readonly ListenAddress[]): readonly ListenAddress[] =>
  Object.freeze([...new Map(addresses.map((a) => [a.host, a])).values()]);

/** host:port, where host is a DNS name or an IP (IPv6 in brackets). */
function aggregatorAddress(raw: string): string | Expected {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  return m && Number(m[2]) > 0 && Number(m[2]) <= 65535 ? raw : new Expected('host:port');
}

export const agentSettings = defineSettings({
  aggregators: {
    flag: 'aggregator',
    env: 'NETMATRIX_AGGREGATOR',
    default: 'netmatrix-aggregator:9400',
    parse: list(aggregatorAddress, 'host:port addresses'),
    help: 'aggregator address(es), comma-separated; the agent streams to every one',
  },
  nodeName: { flag: 'node-name', env: 'NODE_NAME', required: true, parse: nodeName, help: 'this node\'s name (Downward API spec.nodeName)' },
  podIPs: { flag: 'pod-ip', env: 'POD_IP', required: true, parse: list(ip, 'IP addresses'), help: 'this pod\'s IP(s), primary first (Downward API status.podIP(s))' },
  nodeIPs: { flag: 'node-ip', env: 'NODE_IP', default: '', parse: list(ip, 'IP addresses'), help: 'this node\'s IP(s) (Downward API status.hostIP(s))' },
  zone: { flag: 'zone', env: 'NETMATRIX_ZONE', default: '', parse: (raw: string) => (raw.length <= 63 ? raw : new Expected('at most 63 characters')), help: 'topology zone of this node' },
  listen: {
    flag: 'listen',
    env: 'NETMATRIX_AGENT_LISTEN',
    parse: listenAddresses,
    help: 'responder and /metrics address(es), comma-separated, one port for all (default: every POD_IP at port 9402)',
  },
  allowedCidrs: {
    flag: 'allowed-cidrs',
    env: 'NETMATRIX_ALLOWED_CIDRS',
    // Plus NodeLocal DNSCache's usual link-local address.
    default: [...PRIVATE_RANGES, NODELOCAL_DNS_ADDRESS + '/32'].join(','),
    parse: list(cidr, 'CIDRs'),
    help: 'the only networks this agent ever sends probes to',
  },
  maxPeers: { flag: 'max-peers', env: 'NETMATRIX_MAX_PEERS', default: '1000', parse: integer(1, 100_000), help: 'most peers probed a round: extra peers in a plan are ignored and counted; a sampled plan lists every node and this bounds its peers per round (keep it at least the aggregator\'s --peers-per-round)' },
  maxConcurrentProbes: { flag: 'max-concurrent-probes', env: 'NETMATRIX_MAX_CONCURRENT_PROBES', default: '128', parse: integer(1, 10_000), help: 'TCP, HTTP and DNS probes in flight at once, shared among those kinds by need (ICMP and node probes share one socket and take no slot)' },
  loopDelayThreshold: {
    flag: 'loop-delay-threshold',
    env: 'NETMATRIX_LOOP_DELAY_THRESHOLD',
    default: '10ms',
    parse: duration({ min: 1, max: 60_000 }),
    help: 'a probe result is marked when this agent\'s event loop was busy or waiting for a CPU this long while it was in flight: the aggregator then judges neither its RTT nor, for a timeout held up at its deadline, its loss',
  },
  reportBuffer: { flag: 'report-buffer', env: 'NETMATRIX_REPORT_BUFFER', default: '120', parse: integer(1, 100_000), help: 'unacknowledged reports kept per aggregator while disconnected (older rounds thinned first)' },
  reportBufferBytes: {
    flag: 'report-buffer-bytes',
    env: 'NETMATRIX_REPORT_BUFFER_BYTES',
    default: '8388608',
    parse: integer(65_536, 1024 * 1024 * 1024),
    help: 'encoded bytes of unacknowledged reports kept per aggregator (older rounds thinned first; the newest report is always kept)',
  },
  maxMessageBytes: {
    flag: 'grpc-max-message-bytes',
    env: 'NETMATRIX_GRPC_MAX_MESSAGE_BYTES',
    default: '4194304',
    parse: integer(65_536, 64 * 1024 * 1024),
    help: 'largest gRPC message sent to or accepted from an aggregator; reports are split to fit: at most the aggregator\'s --grpc-max-message-bytes',
  },
  maxResultsPerReport: {
    flag: 'max-results-per-report',
    env: 'NETMATRIX_MAX_RESULTS_PER_REPORT',
    default: '50000',
    parse: integer(1, 1_000_000),
    help: 'most results in one report; a larger round is split: at most the aggregator\'s --max-results-per-report',
  },
  reconnectMax: { flag: 'reconnect-max', env: 'NETMATRIX_RECONNECT_MAX', default: '30s', parse: duration({ min: 100, max: 600_000 }), help: 'longest wait between reconnect attempts' },
  connectTimeout: { flag: 'connect-timeout', env: 'NETMATRIX_CONNECT_TIMEOUT', default: '5s', parse: duration({ min: 100, max: 120_000 }), help: 'deadline to connect and receive a plan' },
  resolvConf: {
    flag: 'resolv-conf',
    env: 'NETMATRIX_RESOLV_CONF',
    default: '/etc/resolv.conf',
    parse: path,
    help: 'the pod\'s resolver configuration: its first nameserver is the DNS service IP when the aggregator says "auto"',
  },
  cniConfDir: { flag: 'cni-conf-dir', env: 'NETMATRIX_CNI_CONF_DIR', default: '/etc/cni/net.d', parse: path, help: 'CNI network configs (read-only host mount); the first valid one is the network pods get' },
  cniBinDir: { flag: 'cni-bin-dir', env: 'NETMATRIX_CNI_BIN_DIR', default: '/opt/cni/bin', parse: path, help: 'CNI plugin binaries (hashed, never run)' },
  ipamDir: { flag: 'ipam-dir', env: 'NETMATRIX_IPAM_DIR', default: '/var/lib/cni/networks', parse: path, help: 'host-local IPAM state: one file per allocated IP under <dir>/<network>/' },
  cni: { flag: 'cni', env: 'NETMATRIX_CNI', default: 'on', parse: oneOf(['on', 'off'] as const), help: 'watch the CNI dirs and report them (off: no CNI snapshot is sent)' },
  cniFullEvery: { flag: 'cni-full-every', env: 'NETMATRIX_CNI_FULL_EVERY', default: '5m', parse: duration({ min: 1000, max: 24 * 3_600_000 }), help: 'a full CNI snapshot is sent this often even when nothing changed' },
  icmp: { flag: 'icmp', env: 'NETMATRIX_ICMP', default: 'auto', parse: oneOf(['auto', 'off'] as const), help: 'ICMP probes: auto (when CAP_NET_RAW allows) or off' },
  tlsCa: { flag: 'tls-ca', env: 'NETMATRIX_TLS_CA', default: '', parse: optionalPath, help: 'PEM CA bundle that signs the aggregator\'s certificate: set it to stream over TLS (default: plaintext)' },
  tlsCert: { flag: 'tls-cert', env: 'NETMATRIX_TLS_CERT', default: '', parse: optionalPath, help: 'PEM client certificate for mutual TLS (with --tls-key)' },
  tlsKey: { flag: 'tls-key', env: 'NETMATRIX_TLS_KEY', default: '', parse: optionalPath, help: 'PEM private key of --tls-cert' },
  tlsServerName: { flag: 'tls-server-name', env: 'NETMATRIX_TLS_SERVER_NAME', default: '', parse: (raw: string) => raw, help: 'name to verify the aggregator\'s certificate against (default: the host of --aggregator)' },
  tokenFile: { flag: 'token-file', env: 'NETMATRIX_TOKEN_FILE', default: '', parse: optionalPath, help: 'file holding the shared token sent to the aggregator (a mounted Secret); NETMATRIX_TOKEN gives it directly' },
  logLevel: { flag: 'log-level', env: 'NETMATRIX_LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS), help: 'log level' },
});

export type AgentConfig = ReturnType<typeof parseAgentConfig>;

export function parseAgentConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const c = parseSettings('netmatrix-agent', agentSettings, argv, env);
  if (c.podIPs.length === 0) throw new ConfigError('netmatrix-agent: --pod-ip (POD_IP) is empty');
  // Every pod IP, each its own listener (agent/responder.ts says why not [::]).
  const listen = c.listen ?? dedupeHosts(c.podIPs.map((host) => ({ host, port: RESPONDER_PORT })));
  return Object.freeze({ ...c, listen, allowed: new CidrSet(c.allowedCidrs) });
}
