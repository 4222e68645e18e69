// Composition root of netmatrix-agent: responder, probers, scheduler and
// reporter, wired so that a Plan from the aggregator becomes a probe set, each
// round becomes a Report, and everything stops cleanly.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { capabilities as capabilityWords, PAIR_KINDS, type AddressFamily, type Capability, type PairKind } from '../common/vocabulary.js';
import type { Hello, Plan__Output } from '../proto/load.js';
import type { AgentConfig } from './config.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { CniWatcher } from './cni/watcher.js';
import { readResolver } from './dns/targets.js';
import { PlanFollower } from './plan.js';
import { IcmpSocket } from './probers/icmp-socket.js';
import { createProbers } from './probers/registry.js';
import type { ProberRegistry } from './probers/types.js';
import type { AgentCredentials } from './report/credentials.js';
import { Reporter } from './report/reporter.js';
import { startResponder, type Responder } from './responder.js';
import { Scheduler } from './scheduler.js';

export interface AgentDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly version: string;
  /** TLS and token for the aggregator streams (loadAgentCredentials); default plaintext without a token. */
  readonly credentials?: AgentCredentials;
}

export interface RunningAgent {
  readonly responder: Responder;
  readonly metrics: AgentMetrics;
  readonly reporter: Reporter;
  readonly scheduler: Scheduler;
  readonly instanceId: string;
  readonly capabilities: readonly Capability[];
  stop(): Promise<void>;
}

/** Families each kind probes; icmp and node probe those whose raw ICMP socket opened (both, unless IPv6 is off in the kernel). */
const BOTH: readonly AddressFamily[] = ['ipv4', 'ipv6'];
const FAMILIES: Record<Exclude<PairKind, 'icmp' | 'node'>, readonly AddressFamily[]> = {
  mtu: ['ipv4'], // no mtu prober yet
  tcp: BOTH,
  http: BOTH,
};

export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const { clock, log } = deps;
  const metrics = createAgentMetrics();
  const instanceId = randomBytes(8).toString('hex');

  let icmp: IcmpSocket | undefined;
  if (config.icmp === 'auto') {
    icmp = IcmpSocket.open({
      log,
      clock,
      // A socket that died is reopened with backoff; meanwhile its probes fail saying so.
      onState: () => metrics.icmp.set(icmp?.up ? 1 : 0),
      onReopen: (family, ok) => metrics.icmpReopens.inc({ family, result: ok ? 'ok' : 'failed' }),
    });
    if (!icmp) log.warn('no CAP_NET_RAW: ICMP probes (icmp, node) disabled; tcp and http probes continue');
  }
  metrics.icmp.set(icmp?.up ? 1 : 0);
  if (icmp) {
    const socket = icmp;
    metrics.readIcmpCounts(() => ({ ignored: socket.repliesUnmatched, full: socket.droppedFull }));
  }
  const probers: ProberRegistry = createProbers(icmp ? { icmp } : {});
  const available = new Set(PAIR_KINDS.filter((k) => probers[k] !== undefined));
  // Read at every (re)connect: an agent whose ICMP sockets are all down (dead, not reopened yet) does not announce icmp.
  const capabilities = (): Capability[] => {
    const caps: Capability[] = ['tcp', 'http', 'dns'];
    if (icmp && icmp.upFamilies.length > 0) caps.unshift('icmp');
    if (config.cni === 'on') caps.push('cni');
    return caps;
  };
  const resolver = await readResolver(config.resolvConf);
  if (resolver.view.error) log.warn({ error: resolver.view.error }, 'no resolver view: DNS "auto" service address unavailable');
  else if (resolver.view.warnings!.length > 0) log.info({ warnings: resolver.view.warnings }, 'resolv.conf');

  // A responder that cannot start fails the start: close the ICMP socket opened above with it.
  const responder = await startResponder(config.listen, metrics.registry, log).catch((err: unknown) => {
    icmp?.close();
    throw err;
  });
  log.info({ listen: responder.addresses }, 'responder listening');

  const hello = (): Hello => ({
    nodeName: config.nodeName,
    podIps: [...config.podIPs],
    nodeIps: [...config.nodeIPs],
    zone: config.zone,
    agentVersion: deps.version,
    capabilities: capabilities().map((c) => capabilityWords.toProto(c)),
    responderPort: responder.port,
    instanceId,
    resolver: resolver.view,
  });

  const follower = new PlanFollower({
    nodeName: config.nodeName,
    maxPeers: config.maxPeers,
    allowed: config.allowed,
    available,
    // Without a socket, both families: what is not sent is counted (no_prober) as it would have been probed.
    families: (k) => (k === 'icmp' || k === 'node' ? (icmp?.families ?? BOTH) : FAMILIES[k]),
    resolver: resolver.conf,
    metrics,
    log,
  });
  let reporter: Reporter;
  const scheduler = new Scheduler({
    probers,
    clock,
    log,
    maxConcurrent: config.maxConcurrentProbes,
    loopDelayThresholdMs: config.loopDelayThreshold,
    onRound: (r) => {
      metrics.rounds.inc();
      metrics.roundLoopDelay.observe((r.loopDelayMs ?? 0) / 1000);
      for (const p of r.results) if (p.loopDelayUs !== undefined) metrics.loopDelayed.inc({ kind: p.spec.kind, outcome: p.result.outcome });
      reporter.submit(follower.report(r));
    },
    onProbe: (kind, res, spec) => follower.probed(kind, res, spec),
    onSkipped: (kind, reason, n) => metrics.skipped.inc({ kind, reason }, n),
    onCallbackError: (callback) => metrics.callbackErrors.inc({ callback }),
  });

  const applyPlan = (plan: Plan__Output) => {
    const spec = follower.follow(plan);
    if (!spec) return;
    scheduler.setSpec(spec);
    metrics.slots.reset();
    const short: Record<string, { slots: number; need: number }> = {};
    for (const [kind, b] of scheduler.slots) {
      metrics.slots.set({ kind }, b.slots);
      if (b.slots < b.need) short[kind] = b;
    }
    // Only a concern in an outage: live peers are still probed every round, hanging ones take turns.
    if (Object.keys(short).length > 0) log.info({ epoch: plan.epoch, slots: short, maxConcurrentProbes: config.maxConcurrentProbes }, 'probe slots below need: if many peers hang, they are probed in turn rather than every round');
  };

  const creds = deps.credentials;
  log.info({ tls: creds?.tls ?? false, mutualTls: creds?.mutualTls ?? false, token: creds?.token !== undefined }, 'aggregator stream security');
  if (creds?.token !== undefined && !creds.tls) log.warn('the shared token goes to the aggregator over plaintext gRPC: set --tls-ca so it cannot be read on the wire');
  reporter = new Reporter({
    addresses: config.aggregators,
    hello,
    clock,
    log,
    metrics,
    bufferReports: config.reportBuffer,
    bufferBytes: config.reportBufferBytes,
    maxMessageBytes: config.maxMessageBytes,
    maxResultsPerReport: config.maxResultsPerReport,
    connectTimeoutMs: config.connectTimeout,
    backoffMaxMs: config.reconnectMax,
    ...(deps.credentials ? { credentials: deps.credentials } : {}),
    onPlan: applyPlan,
  });
  reporter.start();

  // The CNI dirs: a snapshot at once, then on every change and as a periodic full one.
  const cni =
    config.cni === 'on'
      ? new CniWatcher({
          dirs: { confDir: config.cniConfDir, binDir: config.cniBinDir, ipamDir: config.ipamDir },
          now: () => clock.now(),
          log: log.child({ component: 'cni' }),
          fullEveryMs: config.cniFullEvery,
          onSnapshot: (s) => {
            metrics.cniSnapshots.inc({ full: String(s.full) });
            metrics.cniErrors.set(s.errors.length + s.files.filter((f) => !f.valid).length + s.binaries.filter((b) => b.error !== null).length);
            reporter.submitCni(s);
          },
        })
      : undefined;
  cni?.start();

  return {
    responder,
    metrics,
    reporter,
    scheduler,
    instanceId,
    get capabilities() {
      return capabilities();
    },
    async stop() {
      await cni?.stop();
      await scheduler.stop();
      reporter.close();
      icmp?.close();
      await responder.close();
    },
  };
}
