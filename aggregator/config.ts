// netmatrix-aggregator settings (docs/configuration.md). Parsed once,
// validated, frozen; a bad value is one line naming the flag and env var.
import { LOG_LEVELS } from '../common/logger.js';
import {
  cidr,
  ConfigError,
  defineSettings,
  duration,
  Expected,
  httpUrl,
  labelValue,
  optionalPath,
  integer,
  list,
  formatHostPort,
  listenAddress,
  oneOf,
  parseSettings,
  ratio,
} from '../common/settings.js';
import { PAIR_KINDS, type PairKind } from '../common/vocabulary.js';
import { dnsDomain, dnsQuestions, dnsServers } from './dns/servers.js';
import { MAX_STATUS_SAMPLES } from './matrix/rule.js';

export const aggregatorSettings = defineSettings({
  grpcListen: { flag: 'grpc-listen', env: 'NETMATRIX_GRPC_LISTEN', default: '0.0.0.0:9400', parse: listenAddress, help: 'gRPC address agents stream to' },
  httpListen: { flag: 'http-listen', env: 'NETMATRIX_HTTP_LISTEN', default: '0.0.0.0:8080', parse: listenAddress, help: 'HTTP address of the API, /docs/json, /metrics, /healthz, /readyz' },
  probeInterval: { flag: 'probe-interval', env: 'NETMATRIX_PROBE_INTERVAL', default: '5s', parse: duration({ min: 100, max: 600_000 }), help: 'how often every agent probes every peer' },
  probeTimeout: { flag: 'probe-timeout', env: 'NETMATRIX_PROBE_TIMEOUT', default: '1s', parse: duration({ min: 10, max: 60_000 }), help: 'deadline of one probe; must be shorter than the interval' },
  probeKinds: {
    flag: 'probe-kinds',
    env: 'NETMATRIX_PROBE_KINDS',
    default: 'icmp,tcp,http,node',
    parse: list<PairKind>((raw) => ((PAIR_KINDS as readonly string[]).includes(raw) ? (raw as PairKind) : new Expected('')), `probe kinds (${PAIR_KINDS.join(', ')})`),
    help: 'probe kinds in every plan',
  },
  fullMeshMax: { flag: 'full-mesh-max', env: 'NETMATRIX_FULL_MESH_MAX', default: '200', parse: integer(1, 1_000_000), help: 'up to this many nodes every agent probes every other every round (the full mesh); above it each probes --peers-per-round a round, sampled so that every pair is still covered in bounded time (docs/scaling.md)' },
  peersPerRound: { flag: 'peers-per-round', env: 'NETMATRIX_PEERS_PER_ROUND', default: '64', parse: integer(4, 10_000), help: 'peers each agent probes per round in a sampled plan; every pair is probed at least every ⌈(N − 1) / this⌉ rounds plus a stated slack (docs/scaling.md); keep --max-peers of the agents at least this' },
  minProbers: { flag: 'min-probers', env: 'NETMATRIX_MIN_PROBERS', default: '3', parse: integer(1, 1_000), help: 'in a sampled plan, probers every node has every round (from two zones where there are two); at most half of --peers-per-round' },
  suspectProbersMax: { flag: 'suspect-probers-max', env: 'NETMATRIX_SUSPECT_PROBERS_MAX', default: '256', parse: integer(1, 1_000_000), help: 'in a sampled plan, probers a suspect node (agent away, NotReady, a finding about it) gets every round: its whole column, up to this many' },
  window: { flag: 'window', env: 'NETMATRIX_WINDOW', parse: duration({ min: 1000, max: 3_600_000 }), help: 'status window: its length / probe interval is the number of results a cell is judged on for failing and latency, at most 240 (default 60s, shortened to hold at most 240 results at a short probe interval or with many --dns-names)' },
  lossWindow: { flag: 'loss-window', env: 'NETMATRIX_LOSS_WINDOW', default: '5m', parse: duration({ min: 1000, max: 3_600_000 }), help: 'window over which loss is judged with a 99 % confidence bound (docs/architecture.md "Cell status"); at least --window' },
  staleAfter: { flag: 'stale-after', env: 'NETMATRIX_STALE_AFTER', parse: duration({ min: 100, max: 3_600_000 }), help: 'a cell without results for this long is unknown (default 3 × probe interval)' },
  degradedLoss: { flag: 'degraded-loss', env: 'NETMATRIX_DEGRADED_LOSS', default: '0.05', parse: ratio, help: 'loss ratio at which a cell is degraded' },
  failingLoss: { flag: 'failing-loss', env: 'NETMATRIX_FAILING_LOSS', default: '0.5', parse: ratio, help: 'loss ratio at which a cell is failing even if its last probe passed' },
  latencyThreshold: { flag: 'latency-threshold', env: 'NETMATRIX_LATENCY_THRESHOLD', default: '50ms', parse: duration({ min: 0, max: 60_000 }), help: 'RTT p50 above which a cell is degraded' },
  nodeExpiry: { flag: 'node-expiry', env: 'NETMATRIX_NODE_EXPIRY', default: '10m', parse: duration({ min: 1000, max: 7 * 24 * 3_600_000 }), help: 'a node whose agent has been gone this long leaves the matrix, unless NodeUnreachable, NodeIsolated or PodNetworkUnreachable about it is firing or pending (then it stays until its agent returns or it is forgotten: netmatrix forget)' },
  maxMessageBytes: { flag: 'grpc-max-message-bytes', env: 'NETMATRIX_GRPC_MAX_MESSAGE_BYTES', default: '4194304', parse: integer(1024, 64 * 1024 * 1024), help: 'largest gRPC message accepted from an agent' },
  maxResultsPerReport: { flag: 'max-results-per-report', env: 'NETMATRIX_MAX_RESULTS_PER_REPORT', default: '50000', parse: integer(1, 1_000_000), help: 'largest number of results in one report' },
  dnsServers: {
    flag: 'dns-servers',
    env: 'NETMATRIX_DNS_SERVERS',
    default: 'service=auto',
    parse: dnsServers,
    help: 'DNS servers every agent asks: role[:name]=address[:port], role service, replica (a CoreDNS endpoint) or nodelocal; service=auto is each agent\'s resolv.conf nameserver; "none" turns DNS probes off',
  },
  dnsNames: {
    flag: 'dns-names',
    env: 'NETMATRIX_DNS_NAMES',
    default: 'kubernetes.default.svc.cluster.local',
    parse: dnsQuestions,
    help: 'names every DNS server is asked each round (name or name/AAAA), comma-separated',
  },
  dnsTcpCheck: {
    flag: 'dns-tcp-check',
    env: 'NETMATRIX_DNS_TCP_CHECK',
    default: 'on',
    parse: oneOf(['on', 'off'] as const),
    help: 'also ask every DNS server the first name over TCP each round (on): a path that drops TCP 53 breaks every answer too large for UDP',
  },
  clusterDomain: {
    flag: 'cluster-domain',
    env: 'NETMATRIX_CLUSTER_DOMAIN',
    default: 'cluster.local',
    parse: dnsDomain,
    help: 'the cluster\'s DNS domain: a random name under it must be NXDOMAIN from every server',
  },
  dnsLatencyThreshold: {
    flag: 'dns-latency-threshold',
    env: 'NETMATRIX_DNS_LATENCY_THRESHOLD',
    default: '20ms',
    parse: duration({ min: 0, max: 60_000 }),
    help: 'DNS latency p50 above which a node × server cell is degraded (DnsLatencyHigh, a slow DnsReplicaUnhealthy)',
  },
  ipPoolThreshold: { flag: 'ip-pool-threshold', env: 'NETMATRIX_IP_POOL_THRESHOLD', default: '0.9', parse: ratio, help: 'IpPoolNearExhaustion when a node\'s host-local pool is this full' },
  serviceCidrs: { flag: 'service-cidrs', env: 'NETMATRIX_SERVICE_CIDRS', default: '', parse: list(cidr, 'CIDRs'), help: 'the cluster\'s Service CIDR(s): a pod CIDR overlapping one is PodCidrOverlap' },
  externalCidrs: { flag: 'external-cidrs', env: 'NETMATRIX_EXTERNAL_CIDRS', default: '', parse: list(cidr, 'CIDRs'), help: 'networks pods must reach that are not the cluster\'s (office VPN, peered VPCs): a pod CIDR overlapping one is PodCidrOverlap' },
  cniStaleAfter: { flag: 'cni-stale-after', env: 'NETMATRIX_CNI_STALE_AFTER', default: '15m', parse: duration({ min: 1000, max: 7 * 24 * 3_600_000 }), help: 'a node\'s CNI snapshot older than this is stale and left out of the comparison; keep it above 2 × the agents\' --cni-full-every (5m), their longest quiet time' },
  cluster: { flag: 'cluster', env: 'NETMATRIX_CLUSTER', default: 'default', parse: labelValue, help: 'value of the cluster label on findings and alerts' },
  findingFor: { flag: 'finding-for', env: 'NETMATRIX_FINDING_FOR', parse: duration({ min: 0, max: 3_600_000 }), help: 'a condition must hold this long before its finding fires (default 2 × probe interval)' },
  findingClearFor: { flag: 'finding-clear-for', env: 'NETMATRIX_FINDING_CLEAR_FOR', parse: duration({ min: 0, max: 3_600_000 }), help: 'a firing finding resolves after its condition has been gone this long (default 2 × probe interval)' },
  maxPairFindings: { flag: 'max-pair-findings', env: 'NETMATRIX_MAX_PAIR_FINDINGS', default: '100', parse: integer(0, 100_000), help: 'most PairUnreachable, PacketLoss or HighLatency findings about single pairs (the rest are counted)' },
  maxDnsNodeSeries: { flag: 'max-dns-node-series', env: 'NETMATRIX_MAX_DNS_NODE_SERIES', default: '10000', parse: integer(0, 1_000_000), help: 'most node × DNS server series of netmatrix_dns_node_error_ratio, front addresses (service, nodelocal) first, then the highest ratios (the rest are counted in netmatrix_dns_node_series_dropped); the default holds two front addresses failing from 5,000 nodes' },
  maxPairSeries: { flag: 'max-pair-series', env: 'NETMATRIX_MAX_PAIR_SERIES', default: '100', parse: integer(0, 100_000), help: 'most unhealthy pairs exported as per-pair metrics (the rest are counted)' },
  alertmanagerUrls: {
    flag: 'alertmanager-urls',
    env: 'NETMATRIX_ALERTMANAGER_URLS',
    default: '',
    parse: list(httpUrl, 'Alertmanager URLs like http://alertmanager:9093'),
    help: 'Alertmanagers to send findings to, comma-separated (every member of an HA cluster)',
  },
  alertResend: { flag: 'alert-resend', env: 'NETMATRIX_ALERT_RESEND', default: '1m', parse: duration({ min: 1000, max: 3_600_000 }), help: 'how often firing alerts are sent again (endsAt = now + 4 × this)' },
  alertTimeout: { flag: 'alert-timeout', env: 'NETMATRIX_ALERT_TIMEOUT', default: '10s', parse: duration({ min: 100, max: 120_000 }), help: 'deadline of one request to Alertmanager: a post, or the read at start of the alerts a previous instance left firing' },
  alertQueue: { flag: 'alert-queue', env: 'NETMATRIX_ALERT_QUEUE', default: '10000', parse: integer(1, 1_000_000), help: 'alerts held per Alertmanager while it is unreachable (oldest dropped, counted); also the most alerts read back at start' },
  externalUrl: { flag: 'external-url', env: 'NETMATRIX_EXTERNAL_URL', parse: httpUrl, help: 'URL people reach this aggregator at, for alert links (default http://<HTTP listen address>)' },
  runbookBaseUrl: {
    flag: 'runbook-base-url',
    env: 'NETMATRIX_RUNBOOK_BASE_URL',
    default: 'https://github.com/netmatrix/netmatrix/blob/main/docs/runbooks',
    parse: httpUrl,
    help: 'runbook_url of a finding is <this>/<alertname>.md',
  },
  kubernetes: { flag: 'kubernetes', env: 'NETMATRIX_KUBERNETES', default: 'auto', parse: oneOf(['auto', 'on', 'off'] as const), help: 'watch Nodes, the DNS EndpointSlices and NetworkPolicies through the Kubernetes API: auto (when in a cluster or a kubeconfig is found), on (fail without), off' },
  kubeconfig: { flag: 'kubeconfig', env: 'NETMATRIX_KUBECONFIG', default: '', parse: optionalPath, help: 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else the in-cluster service account)' },
  dnsService: { flag: 'dns-service', env: 'NETMATRIX_DNS_SERVICE', default: 'kube-system/kube-dns', parse: (raw: string) => (/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(raw) ? raw : new Expected('namespace/name of the cluster DNS Service')), help: 'the cluster DNS Service whose EndpointSlices name the CoreDNS replicas (with the Kubernetes API)' },
  zoneLabel: { flag: 'zone-label', env: 'NETMATRIX_ZONE_LABEL', default: 'topology.kubernetes.io/zone', parse: (raw: string) => (/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(raw) ? raw : new Expected('a label key like topology.kubernetes.io/zone')), help: 'Node label whose value is the node\'s zone (with the Kubernetes API; an agent\'s own NETMATRIX_ZONE wins)' },
  agentNamespace: { flag: 'agent-namespace', env: 'NETMATRIX_AGENT_NAMESPACE', default: 'netmatrix', parse: (raw: string) => (/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(raw) ? raw : new Expected('a namespace name')), help: 'namespace of the agent pods: NetworkPolicies there that select them are flagged in /api/v1/networkpolicies' },
  agentLabels: {
    flag: 'agent-labels',
    env: 'NETMATRIX_AGENT_LABELS',
    default: 'app.kubernetes.io/name=netmatrix,app.kubernetes.io/component=agent',
    parse: list((raw: string) => (/^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*$/.test(raw) ? raw : new Expected('')), 'key=value labels'),
    help: 'labels of the agent pods (key=value, comma-separated; the default is what deploy/ gives them), for matching NetworkPolicy pod selectors',
  },
  agentGrace: { flag: 'agent-grace', env: 'NETMATRIX_AGENT_GRACE', default: '2m', parse: duration({ min: 1000, max: 3_600_000 }), help: 'a Node without a connected agent for this long is AgentMissing (with the Kubernetes API)' },
  tlsCert: { flag: 'tls-cert', env: 'NETMATRIX_TLS_CERT', default: '', parse: optionalPath, help: 'PEM server certificate for the gRPC listener (with --tls-key): agents must then use TLS' },
  tlsKey: { flag: 'tls-key', env: 'NETMATRIX_TLS_KEY', default: '', parse: optionalPath, help: 'PEM private key of --tls-cert' },
  tlsClientCa: { flag: 'tls-client-ca', env: 'NETMATRIX_TLS_CLIENT_CA', default: '', parse: optionalPath, help: 'PEM CA bundle: agents must present a client certificate it signs (mutual TLS)' },
  tokenFile: { flag: 'token-file', env: 'NETMATRIX_TOKEN_FILE', default: '', parse: optionalPath, help: 'file holding the shared agent token (a mounted Secret); NETMATRIX_TOKEN gives it directly; streams without it are UNAUTHENTICATED' },
  apiTokenFile: { flag: 'api-token-file', env: 'NETMATRIX_API_TOKEN_FILE', default: '', parse: optionalPath, help: 'file holding the bearer token the HTTP API requires (NETMATRIX_API_TOKEN gives it directly); /healthz, /readyz and /metrics stay open; without a token the API is read-only (no forgetting nodes)' },
  httpRateLimit: { flag: 'http-rate-limit', env: 'NETMATRIX_HTTP_RATE_LIMIT', default: '600', parse: integer(1, 1_000_000), help: 'HTTP requests per minute per client (IPv4 address, IPv6 /64), weighted: a full matrix counts 10 (docs/api.md); 429 above it' },
  logLevel: { flag: 'log-level', env: 'NETMATRIX_LOG_LEVEL', default: 'info', parse: oneOf(LOG_LEVELS), help: 'log level' },
});

export type AggregatorConfig = ReturnType<typeof parseAggregatorConfig>;

export function parseAggregatorConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const c = parseSettings('netmatrix-aggregator', aggregatorSettings, argv, env);
  if (c.probeTimeout >= c.probeInterval) {
    throw new ConfigError(`netmatrix-aggregator: --probe-timeout (NETMATRIX_PROBE_TIMEOUT) ${c.probeTimeout}ms must be shorter than --probe-interval (NETMATRIX_PROBE_INTERVAL) ${c.probeInterval}ms`);
  }
  if (c.dnsServers.length > 0 && c.dnsNames.length === 0) throw new ConfigError('netmatrix-aggregator: --dns-names (NETMATRIX_DNS_NAMES) is empty while --dns-servers names servers');
  if (c.probeKinds.length === 0) throw new ConfigError('netmatrix-aggregator: --probe-kinds (NETMATRIX_PROBE_KINDS) is empty');
  if (c.minProbers > Math.floor(c.peersPerRound / 2)) {
    throw new ConfigError(`netmatrix-aggregator: --min-probers (NETMATRIX_MIN_PROBERS) ${c.minProbers} is more than half of --peers-per-round (NETMATRIX_PEERS_PER_ROUND) ${c.peersPerRound}: fixed peers take at most half a round, the walk the rest`);
  }
  // Unset, the window is 60 s, shortened where a short interval (or many DNS names) would put more than 240 results in it.
  const window = c.window ?? Math.min(60_000, Math.floor((MAX_STATUS_SAMPLES * c.probeInterval) / Math.max(1, c.dnsNames.length)));
  const perWindow = Math.round(window / c.probeInterval);
  if (perWindow > MAX_STATUS_SAMPLES) {
    throw new ConfigError(`netmatrix-aggregator: --window (NETMATRIX_WINDOW) ${window}ms / --probe-interval (NETMATRIX_PROBE_INTERVAL) ${c.probeInterval}ms is ${perWindow} results per cell: at most ${MAX_STATUS_SAMPLES} (shorten the window or lengthen the interval)`);
  }
  // DNS cells take a result per name per round: the DNS store's status window is that many times longer.
  const dnsPerWindow = Math.round(window / (c.probeInterval / Math.max(1, c.dnsNames.length)));
  if (dnsPerWindow > MAX_STATUS_SAMPLES) {
    throw new ConfigError(`netmatrix-aggregator: --window (NETMATRIX_WINDOW) ${window}ms / --probe-interval (NETMATRIX_PROBE_INTERVAL) ${c.probeInterval}ms × ${c.dnsNames.length} --dns-names (NETMATRIX_DNS_NAMES) is ${dnsPerWindow} DNS results per cell: at most ${MAX_STATUS_SAMPLES} (shorten the window, lengthen the interval or ask fewer names)`);
  }
  if (c.lossWindow < window) {
    throw new ConfigError(`netmatrix-aggregator: --loss-window (NETMATRIX_LOSS_WINDOW) ${c.lossWindow}ms must not be shorter than --window (NETMATRIX_WINDOW) ${window}ms`);
  }
  if (c.degradedLoss > c.failingLoss) {
    throw new ConfigError('netmatrix-aggregator: --degraded-loss (NETMATRIX_DEGRADED_LOSS) must not exceed --failing-loss (NETMATRIX_FAILING_LOSS)');
  }
  const host = c.httpListen.host === '0.0.0.0' ? '127.0.0.1' : c.httpListen.host === '::' ? '::1' : c.httpListen.host;
  return Object.freeze({
    ...c,
    window,
    staleAfter: c.staleAfter ?? 3 * c.probeInterval,
    findingFor: c.findingFor ?? 2 * c.probeInterval,
    findingClearFor: c.findingClearFor ?? 2 * c.probeInterval,
    externalUrl: c.externalUrl ?? `http://${formatHostPort(host, c.httpListen.port)}`,
  });
}
