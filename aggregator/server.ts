// Composition root of netmatrix-aggregator: builds the core (node registry,
// matrix store, sessions, plans), its input (gRPC collector) and its outlets
// (HTTP API, metrics), and stops them in reverse order.
import type * as grpc from '@grpc/grpc-js';
import { wallOf, type Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { formatHostPort } from '../common/settings.js';
import { TokenCheck } from '../common/tls.js';
import { AgentSessions } from './agents.js';
import { AlertmanagerSender } from './alerts/alertmanager.js';
import { Notifier } from './alerts/notifier.js';
import { AlertReadBack } from './alerts/readback.js';
import type { AggregatorConfig } from './config.js';
import { nodeCniDetail, type CniNodeInput } from './cni/assess.js';
import { CniAssessor } from './cni/assessor.js';
import { CniStore } from './cni/store.js';
import { assessDns, type DnsAssessOptions } from './dns/assess.js';
import type { DnsServerSpec } from './dns/servers.js';
import { startKubernetes } from './kubernetes/integrate.js';
import { agentPodsOf, kubeNamesDnsServers } from './kubernetes/apply.js';
import { DnsStore } from './dns/store.js';
import { FindingsEngine } from './findings/engine.js';
import { Evaluator } from './findings/evaluator.js';
import { Collector, PlanPushStats } from './grpc/collector.js';
import { startGrpcServer, type RunningGrpcServer } from './grpc/server.js';
import { buildApp, type App } from './http/app.js';
import { MatrixQuery } from './matrix/query.js';
import { MatrixStore } from './matrix/store.js';
import { createAggregatorMetrics } from './metrics/metrics.js';
import { NodeExpiry } from './nodes/expiry.js';
import { NodeRegistry } from './nodes/registry.js';
import { nodeRemover } from './nodes/removal.js';
import { sampledPlanner } from './plan/planner.js';
import { PlanBook } from './plan/plans.js';
import { Suspects } from './plan/suspects.js';

export interface AggregatorDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly version: string;
  /** TLS of the gRPC listener (loadAggregatorCredentials); absent: plaintext. */
  readonly grpcCredentials?: grpc.ServerCredentials;
  readonly mutualTls?: boolean;
  /** The shared token agents must send; absent: none needed. */
  readonly agentToken?: string;
  /** The HTTP API's bearer token; absent: the API is open. */
  readonly apiToken?: string;
}

export interface RunningAggregator {
  readonly grpcPort: number;
  readonly grpcAddress: string;
  readonly httpUrl: string;
  readonly nodes: NodeRegistry;
  readonly sessions: AgentSessions;
  readonly store: MatrixStore;
  readonly dns: DnsStore;
  readonly cni: CniStore;
  readonly query: MatrixQuery;
  readonly findings: FindingsEngine;
  readonly evaluator: Evaluator;
  readonly app: App;
  /** Runs one evaluation now (tests; the timer runs them every half interval). */
  evaluate(): void;
  stop(): Promise<void>;
}

export async function startAggregator(config: AggregatorConfig, deps: AggregatorDeps): Promise<RunningAggregator> {
  const { clock, log } = deps;
  const nodes = new NodeRegistry();
  const toWall = wallOf(clock);
  const store = new MatrixStore(
    {
      windowMs: config.window,
      intervalMs: config.probeInterval,
      lossWindowMs: config.lossWindow,
      toWall,
      thresholds: {
        degradedLoss: config.degradedLoss,
        failingLoss: config.failingLoss,
        degradedRttMs: config.latencyThreshold,
        staleAfterMs: config.staleAfter,
      },
    },
    clock.monotonic(),
  );
  const dns = new DnsStore(
    config.dnsServers,
    {
      windowMs: config.window,
      intervalMs: config.probeInterval,
      questionsPerRound: config.dnsNames.length,
      lossWindowMs: config.lossWindow,
      toWall,
      thresholds: {
        degradedLoss: config.degradedLoss,
        failingLoss: config.failingLoss,
        degradedRttMs: config.dnsLatencyThreshold,
        staleAfterMs: config.staleAfter,
      },
    },
    clock.monotonic(),
  );
  const dnsOptions: DnsAssessOptions = {
    latencyThresholdMs: config.dnsLatencyThreshold,
    degradedLoss: config.degradedLoss,
    windowMs: config.window,
    clusterDomain: config.clusterDomain,
    questions: config.dnsNames,
  };
  const cni = new CniStore();
  const agentPods = () => agentPodsOf(config);
  // One assessor for the evaluator and the API: a request between two snapshots gets the evaluation's assessment.
  const cniAssessor = new CniAssessor({
    poolThreshold: config.ipPoolThreshold,
    serviceCidrs: config.serviceCidrs,
    externalCidrs: config.externalCidrs,
    staleAfterMs: config.cniStaleAfter,
  });
  const cniInputs = (): CniNodeInput[] =>
    nodes.list().map((n) => {
      const s = cni.get(n.name);
      return { node: n.name, snapshot: s?.snapshot ?? null, receivedAt: s?.receivedAt ?? null, ...(n.kube ? { kubePodCidrs: n.kube.podCidrs } : {}) };
    });
  const sessions = new AgentSessions(
    nodes,
    store,
    clock,
    {
      maxResultsPerReport: config.maxResultsPerReport,
      maxResultAgeMs: config.window + config.staleAfter,
    },
    dns,
  );
  // The DNS section of the plan: --dns-servers, or what the EndpointSlices say (a new object when it changes).
  const makeDnsPlan = (servers: readonly DnsServerSpec[]) => Object.freeze({ servers, questions: servers.length > 0 ? config.dnsNames : [], nxZone: config.clusterDomain, tcpCheck: config.dnsTcpCheck === 'on' });
  let dnsPlan = makeDnsPlan(config.dnsServers);
  // The full mesh up to --full-mesh-max nodes, a sampled plan above (docs/scaling.md). A suspect stays one for
  // --finding-clear-for after its last reason, so a flapping node does not move the epoch at every evaluation.
  const suspects = new Suspects(Math.max(config.findingClearFor, 2 * config.probeInterval), config.agentGrace);
  const planner = sampledPlanner(config.fullMeshMax, { peersPerRound: config.peersPerRound, minProbers: config.minProbers, suspectProbersMax: config.suspectProbersMax });
  const plans = new PlanBook(nodes, planner, { kinds: config.probeKinds, intervalMs: config.probeInterval, timeoutMs: config.probeTimeout, dns: () => dnsPlan }, () => clock.now(), suspects);
  const query = new MatrixQuery(nodes, store, () => clock.monotonic());
  const findings = new FindingsEngine({
    forMs: config.findingFor,
    clearForMs: config.findingClearFor,
    cluster: config.cluster,
    runbookBaseUrl: config.runbookBaseUrl,
    maxPairFindings: config.maxPairFindings,
  });
  const evaluator = new Evaluator({
    nodes,
    store,
    query,
    engine: findings,
    clock,
    log: log.child({ component: 'findings' }),
    // A sampled plan's cells are judged on their cadence, nodes and zones on current cells (docs/scaling.md).
    assess: { planKinds: config.probeKinds, windowMs: config.window, maxUnhealthy: config.maxPairSeries, cadence: () => plans.cadence() },
    localize: { staleAfterMs: config.staleAfter, latencyThresholdMs: config.latencyThreshold, degradedLoss: config.degradedLoss, agentGraceMs: config.agentGrace },
    dns: { store: dns, options: dnsOptions },
    cni: { inputs: cniInputs, assessor: cniAssessor },
  });
  const sender =
    config.alertmanagerUrls.length > 0
      ? new AlertmanagerSender({ urls: config.alertmanagerUrls, timeoutMs: config.alertTimeout, capacity: config.alertQueue, log: log.child({ component: 'alerts' }) })
      : undefined;
  // What a previous instance left firing is resolved after the first full window unless its finding holds again:
  // a window, plus a round for agents to reconnect, plus --finding-for for the finding to fire again.
  const readBack = sender
    ? new AlertReadBack({ urls: config.alertmanagerUrls, cluster: config.cluster, externalUrl: config.externalUrl, timeoutMs: config.alertTimeout, startedAt: clock.monotonic(), windowMs: config.window + config.findingFor + config.probeInterval, sink: sender, capacity: config.alertQueue, log: log.child({ component: 'alerts' }) })
    : undefined;
  if (sender && readBack) {
    const notifier = new Notifier({ sender, resendMs: config.alertResend, externalUrl: config.externalUrl });
    evaluator.onEvaluated((e) => notifier.update(e.firing, e.resolved, e.at));
    evaluator.onEvaluated((e) => readBack.evaluated(e, () => [...e.firing, ...findings.pending()]));
  }
  // One removal for the three ways a node leaves: expiry, a deleted Node, an operator's DELETE.
  const removeNode = nodeRemover({ nodes, matrix: store, dns, cni });
  const expiry = new NodeExpiry({ nodes, expiryMs: config.nodeExpiry, findings, remove: removeNode, clock, log });
  // Counted by the collector, read by the metrics (the collector is built after them).
  const planStats = new PlanPushStats();
  const metrics = createAggregatorMetrics({
    nodes,
    nodesExpiryHeld: () => expiry.held,
    sessions,
    store,
    dns,
    maxDnsNodeSeries: config.maxDnsNodeSeries,
    cni,
    ipPoolThreshold: config.ipPoolThreshold,
    // Read at scrape time; `kube` is set once the API watch has started.
    kubernetes: () => ({ stats: kube.stats(), dnsServersDropped: kube.dnsServersDropped() }),
    evaluator,
    findings,
    plans: {
      stats: planStats,
      waitingStreams: () => collector.waitingStreams(),
      sampling: () => {
        const layout = plans.layout();
        return {
          sampled: layout !== undefined,
          suspects: layout ? suspects.names.size : 0,
          maxGapRounds: plans.cadence().maxGapRounds,
          short: { zoneDiversity: layout?.stats.zoneDiversityShort ?? 0, zonePairs: layout?.stats.zonePairsShort ?? 0, suspectProbers: layout?.stats.suspectProbersShort ?? 0 },
        };
      },
    },
    ...(sender && readBack ? { alerts: () => sender.stats(), alertReadBack: () => readBack.stats() } : {}),
    now: () => clock.monotonic(),
  });
  log.info({ tls: deps.grpcCredentials !== undefined, mutualTls: deps.mutualTls ?? false, agentToken: deps.agentToken !== undefined, apiToken: deps.apiToken !== undefined, httpRateLimit: config.httpRateLimit }, 'security settings');
  if (deps.agentToken !== undefined && !deps.grpcCredentials) log.warn('agents send the shared token over plaintext gRPC: set --tls-cert and --tls-key so it cannot be read on the wire');
  const collector = new Collector({
    sessions,
    plans,
    planStats,
    nodes,
    cni,
    now: () => clock.now(),
    log: log.child({ component: 'collector' }),
    onRefused: (r) => metrics.streamRefused(r),
    ...(deps.agentToken !== undefined ? { token: new TokenCheck(deps.agentToken) } : {}),
    // A tenth of the interval: agents learn of a new peer well within one round.
    planDebounceMs: Math.min(1_000, config.probeInterval / 10),
  });

  // Suspects come from each evaluation; a change is a new epoch of a sampled plan, pushed at once.
  evaluator.onEvaluated((e) => {
    if (suspects.update(e.monotonicAt, nodes.list(), [...e.firing, ...findings.pending()]) && plans.isSampled) collector.refresh();
  });

  // Declared before the API so the routes can read it; started once everything listens.
  let kube: Awaited<ReturnType<typeof startKubernetes>> = { active: false, policies: () => ({ kubernetes: false, agentPods: agentPods(), policies: [] }), stats: () => undefined, dnsServersDropped: () => 0, stop: async () => {} };
  let grpcServer: RunningGrpcServer | undefined;
  const app = await buildApp({
    nodes,
    removeNode,
    query,
    findings,
    dns: () => assessDns(nodes.list(), dns, clock.monotonic(), dnsOptions),
    cni: () => {
      const { inputs, assessment } = cniAssessor.assess(cniInputs(), clock.now());
      return { assessment, detail: (node: string) => nodeCniDetail(inputs, assessment, node) };
    },
    networkPolicies: () => kube.policies(),
    evaluatedAt: () => evaluator.last?.at ?? null,
    evaluations: () => evaluator.stats.evaluations,
    probeKinds: config.probeKinds,
    clock,
    windowMs: config.window,
    registry: metrics.registry,
    log,
    notReady: () => (grpcServer ? undefined : 'gRPC server not listening yet'),
    version: deps.version,
    ...(deps.apiToken !== undefined ? { apiToken: deps.apiToken } : {}),
    rateLimitPerMinute: config.httpRateLimit,
    onRefused: (r) => metrics.httpRefused(r),
  });
  grpcServer = await startGrpcServer({
    listen: config.grpcListen,
    handlers: collector.handlers,
    log,
    maxMessageBytes: config.maxMessageBytes,
    onStatus: (code) => metrics.streamStatus(code),
    ...(deps.grpcCredentials ? { credentials: deps.grpcCredentials } : {}),
  });
  let httpAddress: string;
  try {
    httpAddress = await app.listen({ host: config.httpListen.host, port: config.httpListen.port });
  } catch (e) {
    collector.close();
    await Promise.all([readBack?.close(), sender?.close()]);
    await grpcServer.close(100);
    throw e;
  }
  const port = (app.server.address() as { port: number }).port;

  // Nodes whose agent has been gone longer than the expiry leave the matrix, unless a finding says the
  // node is down (nodes/expiry.ts); the API's Nodes stay while listed.
  const sweep = setInterval(() => expiry.sweep(), Math.min(config.nodeExpiry, 30_000));
  sweep.unref();

  try {
    kube = await startKubernetes(
      {
        mode: config.kubernetes,
        kubeconfig: config.kubeconfig,
        dnsService: config.dnsService,
        zoneLabel: config.zoneLabel,
        dnsServers: config.dnsServers,
        dnsServersFromApi: kubeNamesDnsServers(config.dnsServers),
        agentPods: agentPods(),
      },
      {
        nodes,
        now: () => clock.monotonic(),
        log,
        removeNode,
        setDnsServers: (servers) => {
          if (!dns.setServers(servers)) return;
          dnsPlan = makeDnsPlan(dns.servers);
          collector.refresh();
        },
      },
    );
  } catch (e) {
    clearInterval(sweep);
    collector.close();
    await Promise.all([readBack?.close(), sender?.close()]);
    await Promise.all([grpcServer.close(100), app.close()]);
    throw e;
  }

  // Half an interval: a cell that turned failing is seen within one interval
  // plus a timeout, and alerted at most half an interval (plus --finding-for) later.
  evaluator.start(Math.max(100, config.probeInterval / 2));
  log.info({ grpc: grpcServer.address, http: httpAddress, alertmanagers: config.alertmanagerUrls }, 'aggregator listening');
  return {
    grpcPort: grpcServer.port,
    grpcAddress: grpcServer.address,
    httpUrl: `http://${formatHostPort(config.httpListen.host === '0.0.0.0' ? '127.0.0.1' : config.httpListen.host === '::' ? '::1' : config.httpListen.host, port)}`,
    nodes,
    sessions,
    store,
    dns,
    cni,
    query,
    findings,
    evaluator,
    app,
    evaluate: () => void evaluator.evaluate(),
    async stop() {
      clearInterval(sweep);
      evaluator.stop();
      await kube.stop();
      await Promise.all([readBack?.close(), sender?.close()]);
      collector.close();
      await Promise.all([grpcServer!.close(), app.close()]);
    },
  };
}
