// Composition root of netmatrix-agent: responder, probers, scheduler and
// reporter, wired so that a Plan from the aggregator becomes a probe set, each
// round becomes a Report, and everything stops cleanly.
import { randomBytes } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import type { Logger } from '../common/logger.js';
import { capabilities as capabilityWords, isPairKind, PAIR_KINDS, probeKinds, type AddressFamily, type Capability, type PairKind } from '../common/vocabulary.js';
import type { Hello, Plan__Output } from '../proto/load.js';
import type { AgentConfig } from './config.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { CniWatcher } from './cni/watcher.js';
import { dnsProbeSet, readResolver } from './dns/targets.js';
import { diffPeers, planPeers, probeSet, type PeerInfo } from './peers.js';
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

const FAMILIES: Record<PairKind, readonly AddressFamily[]> = {
  // ICMPv6 is not implemented yet: those kinds probe IPv4 addresses only.
  icmp: ['ipv4'],
  mtu: ['ipv4'],
  node: ['ipv4'],
  tcp: ['ipv4', 'ipv6'],
  http: ['ipv4', 'ipv6'],
};

export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const { clock, log } = deps;
  const metrics = createAgentMetrics();
  const instanceId = randomBytes(8).toString('hex');

  let icmp: IcmpSocket | undefined;
  if (config.icmp === 'auto') {
    icmp = IcmpSocket.open({ log, clock });
    if (!icmp) log.warn('no CAP_NET_RAW: ICMP probes (icmp, node) disabled; tcp and http probes continue');
  }
  metrics.icmp.set(icmp ? 1 : 0);
  const probers: ProberRegistry = createProbers(icmp ? { icmp } : {});
  const available = new Set(PAIR_KINDS.filter((k) => probers[k] !== undefined));
  const caps: Capability[] = ['tcp', 'http', 'dns'];
  if (icmp) caps.unshift('icmp');
  if (config.cni === 'on') caps.push('cni');
  const resolver = await readResolver(config.resolvConf);
  if (resolver.view.error) log.warn({ error: resolver.view.error }, 'no resolver view: DNS "auto" service address unavailable');
  else if (resolver.view.warnings!.length > 0) log.info({ warnings: resolver.view.warnings }, 'resolv.conf');

  const responder = await startResponder(config.listen, metrics.registry, log);
  log.info({ listen: responder.address }, 'responder listening');

  const hello = (): Hello => ({
    nodeName: config.nodeName,
    podIps: [...config.podIPs],
    nodeIps: [...config.nodeIPs],
    zone: config.zone,
    agentVersion: deps.version,
    capabilities: caps.map((c) => capabilityWords.toProto(c)),
    responderPort: responder.port,
    instanceId,
    resolver: resolver.view,
  });

  let peers: PeerInfo[] = [];
  // Probes of the current plan not sent each round because their target is outside --allowed-cidrs.
  let refusedPerRound = 0;
  // Probes of the current plan not sent each round because this agent has no prober for the kind (no CAP_NET_RAW, --icmp off).
  let unavailablePerRound = 0;
  const loggedNotAllowed = new Set<string>();
  const loggedUnknownKinds = new Set<string>();
  const loggedDnsSkips = new Set<string>();
  const loggedDnsIgnored = new Set<string>();
  // NodeLocal DNSCache runs on some clusters only: its address is asked from
  // the start, but reported only once it has answered on this node.
  const nodelocalAnswered = new Set<string>();
  let reporter: Reporter;
  const scheduler = new Scheduler({
    probers,
    clock,
    log,
    maxConcurrent: config.maxConcurrentProbes,
    onRound: (r) => {
      metrics.rounds.inc();
      if (refusedPerRound > 0) metrics.skipped.inc({ reason: 'not_allowed' }, refusedPerRound);
      if (unavailablePerRound > 0) metrics.skipped.inc({ reason: 'no_prober' }, unavailablePerRound);
      let silent = 0;
      const results = r.results.filter((p) => {
        if (p.spec.dns?.role !== 'nodelocal') return true;
        if (p.result.dns?.rcode) nodelocalAnswered.add(p.spec.dns.server);
        if (nodelocalAnswered.has(p.spec.dns.server)) return true;
        silent++;
        return false;
      });
      if (silent > 0) metrics.skipped.inc({ reason: 'nodelocal_silent' }, silent);
      reporter.submit(silent > 0 ? { round: r.round, results } : r);
    },
    onProbe: (kind, res, spec) => {
      metrics.probes.inc({ kind, outcome: res.outcome });
      if (res.dns && res.dns.ignored > 0 && spec.dns) {
        metrics.dnsIgnored.inc({ server: spec.dns.server }, res.dns.ignored);
        if (!loggedDnsIgnored.has(spec.dns.server)) {
          loggedDnsIgnored.add(spec.dns.server);
          log.warn({ server: spec.dns.server, address: `${spec.ip}:${spec.port}`, ignored: res.dns.ignored }, 'DNS replies that were not the answer to our query arrived (spoofing, or a broken server); counted in netmatrix_agent_dns_replies_ignored_total, logged once per server');
        }
      }
      if (res.outcome === 'ok') metrics.rtt.observe({ kind }, res.rttUs / 1e6);
    },
    onSkipped: (reason, n) => metrics.skipped.inc({ reason }, n),
  });

  const applyPlan = (plan: Plan__Output) => {
    // The plan may name this node too (the full mesh sends every agent the same list): never probe it.
    const { peers: next, over } = planPeers(plan.peers, config.nodeName, config.maxPeers);
    metrics.peersOverLimit.set(over);
    if (over > 0) log.warn({ peers: next.length + over, maxPeers: config.maxPeers }, 'plan has more peers than --max-peers; extra peers ignored');
    const diff = diffPeers(peers, next);
    if (diff.added.length + diff.removed.length + diff.changed.length > 0) log.info({ epoch: plan.epoch, ...diff }, 'peers changed');
    peers = next;
    const kinds: PairKind[] = [];
    for (const k of plan.kinds) {
      // A newer aggregator may plan kinds this agent does not know: skip them, say so once.
      const word = probeKinds.lookupProto(k);
      if (word !== undefined && isPairKind(word)) kinds.push(word);
      else if (!loggedUnknownKinds.has(String(k))) {
        loggedUnknownKinds.add(String(k));
        log.warn({ kind: k }, 'plan names a probe kind this agent cannot run; skipped');
      }
    }
    const set = probeSet(peers, { kinds, available, allowed: config.allowed, families: (k) => FAMILIES[k] });
    for (const ip of set.notAllowed) {
      if (!loggedNotAllowed.has(ip)) {
        loggedNotAllowed.add(ip);
        log.warn({ ip, allowed: config.allowed.toString() }, 'peer address outside --allowed-cidrs: not probed');
      }
    }
    const dns = dnsProbeSet(plan, resolver.conf, config.allowed);
    for (const ip of dns.notAllowed) {
      if (!loggedNotAllowed.has(ip)) {
        loggedNotAllowed.add(ip);
        log.warn({ ip, allowed: config.allowed.toString() }, 'DNS server outside --allowed-cidrs: not probed');
      }
    }
    for (const s of dns.skipped) {
      const key = `${s.server}: ${s.reason}`;
      if (!loggedDnsSkips.has(key)) {
        loggedDnsSkips.add(key);
        log.warn({ server: s.server, reason: s.reason }, 'DNS server of the plan not probed');
      }
    }
    // Counted per round (onRound) like every other skip; the gauge says how many addresses now.
    refusedPerRound = set.refused + dns.refused;
    unavailablePerRound = set.unavailable;
    metrics.targetsRefused.set(new Set([...set.notAllowed, ...dns.notAllowed]).size);
    if (dns.skipped.length > 0) metrics.skipped.inc({ reason: 'no_address' }, dns.skipped.length);
    metrics.peers.set(peers.length);
    metrics.dnsServers.set(new Set(dns.probes.map((p) => p.dns!.server)).size);
    metrics.planEpoch.set(plan.epoch);
    scheduler.setSpec({ probes: [...set.probes, ...dns.probes], intervalMs: plan.intervalMs, timeoutMs: plan.timeoutMs });
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
    capabilities: caps,
    async stop() {
      await cni?.stop();
      await scheduler.stop();
      reporter.close();
      icmp?.close();
      await responder.close();
    },
  };
}
