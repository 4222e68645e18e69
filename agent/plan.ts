// A Plan as this agent follows it. A plan is checked first: an interval or
// timeout no aggregator can be configured with (interval 0, the proto3 default
// of a field left unset, would be a round every millisecond) is refused,
// logged with its values and counted, and the agent keeps the plan it had.
// A plan it follows becomes the probes of a round; what it leaves out is logged
// once per address or server and counted every round, by kind.
//
// What is kept per address or server (the logged-once sets, the NodeLocal
// DNSCache servers that have answered, the replies-ignored series by DNS
// server, whose names are CoreDNS pod names) is pruned to the plan each time
// one is followed, so rollouts, which bring new pod names and IPs, don't grow it.
import type { CidrSet } from '../common/cidr.js';
import type { Logger } from '../common/logger.js';
import type { ResolvConf } from '../common/resolv-conf.js';
import { isPairKind, probeKinds, type AddressFamily, type PairKind, type ProbeKind } from '../common/vocabulary.js';
import type { Plan__Output } from '../proto/load.js';
import { dnsProbeSet } from './dns/targets.js';
import type { AgentMetrics } from './metrics.js';
import { diffPeers, PeerWalk, planPeers, probeSet, type PeerInfo, type ProbeSetOptions, type ProbeSpec } from './peers.js';
import type { ProbeOutcome } from './probers/types.js';
import type { RoundResult, ScheduleSpec } from './scheduler.js';

/**
 * The interval and timeout a plan may carry: what the aggregator accepts for
 * --probe-interval and --probe-timeout (aggregator/config.ts; a test holds the
 * two together), so only a broken or foreign aggregator is ever refused.
 */
export const PLAN_TIMING = Object.freeze({ minIntervalMs: 100, maxIntervalMs: 600_000, minTimeoutMs: 10, maxTimeoutMs: 60_000 });

export type PlanRefusal = 'interval_out_of_range' | 'timeout_out_of_range';

/**
 * The schedule of a plan. A sampled plan's probes differ from round to round:
 * the scheduler asks `roundProbes` for each round's (it moves the walk on);
 * `probes` is then one round's worth, for sizing.
 */
export interface PlanSchedule extends ScheduleSpec {
  readonly roundProbes?: (round: number) => readonly ProbeSpec[];
}

/** Why a plan's timing cannot be followed, or undefined when it can. */
export function checkPlanTiming(intervalMs: number, timeoutMs: number): { readonly reason: PlanRefusal; readonly expected: string } | undefined {
  const { minIntervalMs, maxIntervalMs, minTimeoutMs, maxTimeoutMs } = PLAN_TIMING;
  if (!(intervalMs >= minIntervalMs && intervalMs <= maxIntervalMs)) {
    return { reason: 'interval_out_of_range', expected: `interval from ${minIntervalMs} ms to ${maxIntervalMs} ms` };
  }
  if (!(timeoutMs >= minTimeoutMs && timeoutMs <= maxTimeoutMs && timeoutMs < intervalMs)) {
    return { reason: 'timeout_out_of_range', expected: `timeout from ${minTimeoutMs} ms to ${maxTimeoutMs} ms, shorter than the interval` };
  }
  return undefined;
}

export interface PlanFollowerOptions {
  readonly nodeName: string;
  readonly maxPeers: number;
  readonly allowed: CidrSet;
  /** Kinds this agent has a prober for. */
  readonly available: ReadonlySet<PairKind>;
  /** Families each kind's prober supports. */
  readonly families: (kind: PairKind) => readonly AddressFamily[];
  /** The pod's resolv.conf (the service server's address when the plan says "auto"); undefined when unreadable. */
  readonly resolver: ResolvConf | undefined;
  readonly metrics: AgentMetrics;
  readonly log: Logger;
}

interface Skip {
  readonly kind: ProbeKind;
  readonly reason: 'not_allowed' | 'no_prober';
  readonly count: number;
}

export class PlanFollower {
  private peers: PeerInfo[] = [];
  /** The walk of a sampled plan; kept across plans, so a new one continues where the last stopped. */
  private walk: PeerWalk | undefined;
  private followMax = 0;
  private epoch: number | undefined;
  private refusedEpoch: number | undefined;
  /** Probes of the followed plan not sent each round, and why (counted per round, like every other skip). */
  private perRound: readonly Skip[] = [];
  /** DNS servers of the followed plan that are asked. */
  private dnsServers: ReadonlySet<string> = new Set();
  private readonly loggedNotAllowed = new Set<string>();
  private readonly loggedUnknownKinds = new Set<string>();
  private readonly loggedDnsSkips = new Set<string>();
  /** Servers with a replies-ignored series (each logged once). */
  private readonly dnsIgnored = new Set<string>();
  // NodeLocal DNSCache runs on some clusters only: its address is asked from
  // the start, but reported only once it has answered on this node.
  private readonly nodelocalAnswered = new Set<string>();

  constructor(private readonly o: PlanFollowerOptions) {}

  /** The epoch of the plan followed, if any. */
  get followed(): number | undefined {
    return this.epoch;
  }

  /** Entries kept per address or server: none outlives the plan that needs it. */
  get retained(): { readonly loggedAddresses: number; readonly loggedDnsSkips: number; readonly loggedUnknownKinds: number; readonly dnsIgnored: number; readonly nodelocalAnswered: number } {
    return {
      loggedAddresses: this.loggedNotAllowed.size,
      loggedDnsSkips: this.loggedDnsSkips.size,
      loggedUnknownKinds: this.loggedUnknownKinds.size,
      dnsIgnored: this.dnsIgnored.size,
      nodelocalAnswered: this.nodelocalAnswered.size,
    };
  }

  /** The schedule of a plan; undefined when the plan is refused, and the plan followed so far stays. */
  follow(plan: Plan__Output): PlanSchedule | undefined {
    const { metrics, log } = this.o;
    const bad = checkPlanTiming(plan.intervalMs, plan.timeoutMs);
    if (bad) {
      // Reconnects deliver the same plan again: say it once per epoch.
      if (this.refusedEpoch !== plan.epoch) {
        this.refusedEpoch = plan.epoch;
        metrics.plansRefused.inc({ reason: bad.reason });
        log.error({ epoch: plan.epoch, intervalMs: plan.intervalMs, timeoutMs: plan.timeoutMs, expected: bad.expected, following: this.epoch ?? null }, 'plan refused: its interval or timeout is out of range; keeping the plan followed so far (none: not probing)');
      }
      return undefined;
    }
    this.epoch = plan.epoch;

    // The plan may name this node too (the full mesh sends every agent the same list): never probe it.
    // A sampled plan lists every node and the agent probes peersPerRound of them a round: --max-peers bounds those.
    const sampling = plan.sampling;
    const { peers: next, over } = sampling ? { peers: planPeers(plan.peers, this.o.nodeName, Infinity).peers, over: Math.max(0, sampling.peersPerRound - this.o.maxPeers) } : planPeers(plan.peers, this.o.nodeName, this.o.maxPeers);
    metrics.peersOverLimit.set(over);
    if (over > 0) log.warn({ peers: sampling ? sampling.peersPerRound : next.length + over, maxPeers: this.o.maxPeers, sampled: sampling !== null }, 'plan has more peers than --max-peers; extra peers ignored');
    const diff = diffPeers(this.peers, next);
    if (diff.added.length + diff.removed.length + diff.changed.length > 0) log.info({ epoch: plan.epoch, ...diff }, 'peers changed');
    this.peers = next;

    const kinds: PairKind[] = [];
    const unknownKinds = new Set<string>();
    for (const k of plan.kinds) {
      // A newer aggregator may plan kinds this agent does not know: skip them, say so once.
      const word = probeKinds.lookupProto(k);
      if (word !== undefined && isPairKind(word)) {
        kinds.push(word);
        continue;
      }
      unknownKinds.add(String(k));
      if (!this.loggedUnknownKinds.has(String(k))) log.warn({ kind: k }, 'plan names a probe kind this agent cannot run; skipped');
    }
    const setOptions: ProbeSetOptions = { kinds, available: this.o.available, allowed: this.o.allowed, families: this.o.families };
    // Sampled: the whole directory here only says which addresses are outside --allowed-cidrs (logged once); each round's skips are counted with its probes.
    const set = probeSet(this.peers, setOptions);
    for (const ip of set.notAllowed) {
      if (!this.loggedNotAllowed.has(ip)) log.warn({ ip, allowed: this.o.allowed.toString() }, 'peer address outside --allowed-cidrs: not probed');
    }
    const dns = dnsProbeSet(plan, this.o.resolver, this.o.allowed);
    for (const ip of dns.notAllowed) {
      if (!this.loggedNotAllowed.has(ip) && !set.notAllowed.includes(ip)) log.warn({ ip, allowed: this.o.allowed.toString() }, 'DNS server outside --allowed-cidrs: not probed');
    }
    const dnsSkips = new Set<string>();
    for (const s of dns.skipped) {
      const key = `${s.server}: ${s.reason}`;
      if (!this.loggedDnsSkips.has(key) && !dnsSkips.has(key)) log.warn({ server: s.server, reason: s.reason }, 'DNS server of the plan not probed');
      dnsSkips.add(key);
    }
    const notAllowed = new Set([...set.notAllowed, ...dns.notAllowed]);
    this.dnsServers = new Set(dns.probes.map((p) => p.dns!.server));
    // What is remembered is what this plan still has: an address or server
    // that leaves and comes back is said again, one that stays is not.
    replace(this.loggedUnknownKinds, unknownKinds);
    replace(this.loggedNotAllowed, notAllowed);
    replace(this.loggedDnsSkips, dnsSkips);
    for (const s of this.nodelocalAnswered) if (!this.dnsServers.has(s)) this.nodelocalAnswered.delete(s);
    for (const s of this.dnsIgnored) {
      if (this.dnsServers.has(s)) continue;
      this.dnsIgnored.delete(s);
      metrics.dnsIgnored.remove({ server: s });
    }

    const perRound: Skip[] = [];
    if (!sampling) {
      for (const [kind, count] of Object.entries(set.refusedByKind)) perRound.push({ kind: kind as PairKind, reason: 'not_allowed', count });
      for (const [kind, count] of Object.entries(set.unavailableByKind)) perRound.push({ kind: kind as PairKind, reason: 'no_prober', count });
    }
    if (dns.refused > 0) perRound.push({ kind: 'dns', reason: 'not_allowed', count: dns.refused });
    this.perRound = perRound;
    metrics.targetsRefused.set(notAllowed.size);
    if (dns.skipped.length > 0) metrics.skipped.inc({ kind: 'dns', reason: 'no_address' }, dns.skipped.length);
    metrics.peers.set(sampling ? Math.min(sampling.peersPerRound, this.o.maxPeers, this.peers.length) : this.peers.length);
    metrics.dnsServers.set(this.dnsServers.size);
    metrics.planEpoch.set(plan.epoch);
    if (!sampling) {
      this.walk = undefined;
      return { probes: [...set.probes, ...dns.probes], intervalMs: plan.intervalMs, timeoutMs: plan.timeoutMs };
    }
    this.walk ??= new PeerWalk(this.o.nodeName);
    const walk = this.walk;
    const peersPerRound = Math.min(sampling.peersPerRound, this.o.maxPeers);
    this.followMax = Math.min(sampling.followMax, peersPerRound);
    walk.setPlan(plan.peers, { peersPerRound, fixed: sampling.fixed, followMax: this.followMax });
    const roundProbes = (): ProbeSpec[] => {
      const round = probeSet(walk.next(), setOptions);
      for (const [kind, count] of Object.entries(round.refusedByKind)) metrics.skipped.inc({ kind: kind as PairKind, reason: 'not_allowed' }, count);
      for (const [kind, count] of Object.entries(round.unavailableByKind)) metrics.skipped.inc({ kind: kind as PairKind, reason: 'no_prober' }, count);
      return [...round.probes, ...dns.probes];
    };
    // One round's worth for sizing: as many peers of the directory as a round takes.
    const typical = probeSet(this.peers.slice(0, peersPerRound), setOptions).probes;
    return { probes: [...typical, ...dns.probes], intervalMs: plan.intervalMs, timeoutMs: plan.timeoutMs, roundProbes };
  }

  /** A round as it is reported: the plan's per-round skips counted, NodeLocal DNSCache results held back until it has answered here. */
  report(r: RoundResult): RoundResult {
    const { metrics } = this.o;
    for (const s of this.perRound) metrics.skipped.inc({ kind: s.kind, reason: s.reason }, s.count);
    if (this.walk) {
      // Follow-ups of a sampled plan: a peer any of whose probes failed this round is probed again next round.
      const verdict = new Map<string, boolean>();
      for (const p of r.results) if (p.spec.node !== '') verdict.set(p.spec.node, (verdict.get(p.spec.node) ?? true) && p.result.outcome === 'ok');
      for (const [node, ok] of verdict) this.walk.observe(node, ok);
      metrics.peersFailing.set(this.walk.following);
      metrics.followUpsOverLimit.set(Math.max(0, this.walk.following - this.followMax));
    }
    let silent = 0;
    const results = r.results.filter((p) => {
      if (p.spec.dns?.role !== 'nodelocal') return true;
      const server = p.spec.dns.server;
      if (p.result.dns?.rcode && this.dnsServers.has(server)) this.nodelocalAnswered.add(server);
      if (this.nodelocalAnswered.has(server)) return true;
      silent++;
      return false;
    });
    if (silent > 0) metrics.skipped.inc({ kind: 'dns', reason: 'nodelocal_silent' }, silent);
    return silent > 0 ? { round: r.round, results } : r;
  }

  /** One probe's outcome, counted; DNS replies the prober ignored are counted by server of the plan and logged once per server. */
  probed(kind: ProbeKind, res: ProbeOutcome, spec: ProbeSpec): void {
    const { metrics, log } = this.o;
    metrics.probes.inc({ kind, outcome: res.outcome });
    if (res.outcome === 'ok') metrics.rtt.observe({ kind }, res.rttUs / 1e6);
    // A probe of an older plan may settle after the new one came: its server may be gone.
    if (!res.dns || res.dns.ignored === 0 || !spec.dns || !this.dnsServers.has(spec.dns.server)) return;
    const server = spec.dns.server;
    metrics.dnsIgnored.inc({ server }, res.dns.ignored);
    if (!this.dnsIgnored.has(server)) {
      this.dnsIgnored.add(server);
      log.warn({ server, address: `${spec.ip}:${spec.port}`, ignored: res.dns.ignored }, 'DNS replies that were not the answer to our query arrived (spoofing, or a broken server); counted in netmatrix_agent_dns_replies_ignored_total, logged once per server');
    }
  }
}

function replace<T>(target: Set<T>, values: Iterable<T>): void {
  target.clear();
  for (const v of values) target.add(v);
}
