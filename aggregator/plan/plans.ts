// The plan agents are sent: the planner's peers plus the probe settings and the
// DNS section, under an epoch. The epoch changes exactly when an input changes,
// and that is told by version counters and identities (the registry's
// setVersion, a settings counter, the DNS section's object), never by comparing
// plans: so "has the plan changed?" costs O(1), and with a shared planner the
// whole plan is built once per epoch, not once per agent. The epoch itself is a
// fingerprint of those inputs, so replicas that see the same inputs send the
// same epoch, whenever they started (docs/architecture.md "High availability").
// A sampled planner's layout (plan/sampled.ts) is computed once per epoch too;
// the suspect set it reads moves the epoch when it changes (a version counter,
// like the rest, and part of the fingerprint).
import { createHash } from 'node:crypto';
import type { PairKind } from '../../common/vocabulary.js';
import type { DnsQuestion, DnsServerSpec } from '../dns/servers.js';
import type { NodeRecord, NodeRegistry } from '../nodes/registry.js';
import type { Planner } from './planner.js';
import { sampledLayout, walkPeriod, type SampledLayout } from './sampled.js';

export interface PlanPeer {
  readonly nodeName: string;
  readonly podIps: readonly string[];
  readonly nodeIps: readonly string[];
  readonly zone: string;
  readonly responderPort: number;
}

export interface PlanContent {
  readonly epoch: number;
  /** With a shared or sampled planner: every node, the receiving agent included (it skips itself); sampled, in ring order. */
  readonly peers: readonly PlanPeer[];
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly dns: DnsPlan;
  /** Set in a sampled plan: the only part that differs between agents (the rest is the same objects for every agent of an epoch). */
  readonly sampling?: SamplingPart;
}

/** The receiving agent's part of a sampled plan (proto Sampling). */
export interface SamplingPart {
  readonly peersPerRound: number;
  /** Positions in `peers` it probes every round. */
  readonly fixed: readonly number[];
  readonly followMax: number;
}

/** The nodes a sampled plan treats as suspects (plan/suspects.ts), and a counter that moves when they change. */
export interface SuspectSource {
  readonly version: number;
  readonly names: ReadonlySet<string>;
}

/** How often a cell is probed under the current plan, for the store's staleness. */
export interface Cadence {
  readonly sampled: boolean;
  /** Most rounds between two probes of one ordered pair (every prober's walk, its follow-up slots full): 1 in the full mesh. */
  readonly maxGapRounds: number;
}

/** The DNS section: the same for every agent. */
export interface DnsPlan {
  readonly servers: readonly DnsServerSpec[];
  readonly questions: readonly DnsQuestion[];
  readonly nxZone: string;
  /** Ask each server the first question over TCP too, every round. */
  readonly tcpCheck: boolean;
}

export const NO_DNS: DnsPlan = Object.freeze({ servers: [], questions: [], nxZone: '', tcpCheck: false });

export interface ProbeSettings {
  readonly kinds: readonly PairKind[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The DNS section, or a function giving the current one (it changes with the DNS EndpointSlices); a new object is a new plan. */
  readonly dns?: DnsPlan | (() => DnsPlan);
}

export class PlanBook {
  private epoch = 0;
  private settingsVersion = 0;
  // The inputs the current epoch was taken for.
  private seenNodes = -1;
  private seenSettings = -1;
  private seenDns: DnsPlan | undefined;
  private shared: PlanContent | undefined;
  private listed: { version: number; nodes: readonly NodeRecord[] } | undefined;
  private seenSuspects = -1;
  private sampled: SampledEpoch | undefined;
  /** The last few sampled epochs, for samePlan (a suspect changes few agents' plans). */
  private readonly recent: SampledEpoch[] = [];

  constructor(
    private readonly nodes: NodeRegistry,
    readonly planner: Planner,
    private settings: ProbeSettings,
    private readonly now: () => number,
    /** The suspects of a sampled plan; none without. */
    private readonly suspects?: SuspectSource,
  ) {}

  /** Whether every agent gets the same plan (sharedPlan), or each its own (planFor): a sampled planner is shared up to its threshold. */
  get isShared(): boolean {
    const p = this.planner;
    return p.scope === 'shared' || (p.scope === 'sampled' && this.list().length <= p.fullMeshMax);
  }

  /** Whether the current plan is sampled: a sampled planner above its threshold. */
  get isSampled(): boolean {
    const p = this.planner;
    return p.scope === 'sampled' && this.list().length > p.fullMeshMax;
  }

  /** New probe settings (kinds, interval, timeout, DNS): a new object is a new epoch. */
  setSettings(settings: ProbeSettings): void {
    if (settings === this.settings) return;
    this.settings = settings;
    this.settingsVersion++;
  }

  /**
   * The epoch changes whenever the node set (or a node's addresses, zone or
   * port), the settings or the DNS section changed, and only then. It is the
   * fingerprint of those inputs (planEpoch), not a time: a replica that started
   * later, or restarted, sends the epoch the others send for the same inputs.
   */
  currentEpoch(): number {
    const dns = this.dns();
    // Suspects shape a sampled plan only: in the full mesh their changes move nothing.
    const sampled = this.isSampled;
    const suspects = sampled ? (this.suspects?.version ?? 0) : -1;
    if (this.seenNodes !== this.nodes.setVersion || this.seenSettings !== this.settingsVersion || this.seenDns !== dns || this.seenSuspects !== suspects) {
      const p = this.planner;
      this.epoch = planEpoch(this.list(), this.settings, dns, sampled && p.scope === 'sampled' ? { settings: [p.fullMeshMax, p.sampling.peersPerRound, p.sampling.minProbers, p.sampling.suspectProbersMax], suspects: this.suspects?.names ?? new Set() } : undefined);
      this.seenNodes = this.nodes.setVersion;
      this.seenSettings = this.settingsVersion;
      this.seenDns = dns;
      this.seenSuspects = suspects;
    }
    return this.epoch;
  }

  /** The plan every agent gets, one object per epoch; undefined when each agent gets its own. */
  sharedPlan(): PlanContent | undefined {
    const planner = this.planner;
    if (!this.isShared) return undefined;
    const epoch = this.currentEpoch();
    if (this.shared?.epoch !== epoch) this.shared = this.content(epoch, planner.scope === 'shared' ? planner.peers(this.list(), epoch) : this.list());
    return this.shared;
  }

  /** The plan `self` is sent: the shared one, its own peers, or the sampled directory with its own part. */
  planFor(self: NodeRecord): PlanContent {
    const planner = this.planner;
    if (this.isShared) return this.sharedPlan()!;
    const epoch = this.currentEpoch();
    if (planner.scope === 'per-agent') return this.content(epoch, planner.peersFor(self, this.list(), epoch));
    const sp = this.sampledEpoch(epoch);
    const at = sp.position.get(self.name);
    return Object.freeze({ ...sp.base, sampling: Object.freeze({ peersPerRound: sp.peersPerRound, fixed: at === undefined ? [] : sp.layout.fixed[at]!, followMax: sp.layout.followMax }) });
  }

  /**
   * Whether `self`'s plan of `epoch` is its current plan under another epoch:
   * both sampled, the same directory (node set, settings, DNS section) and the
   * same part of its own. A suspect that comes or goes changes the plans of
   * its probers only; the others need not be sent the same plan again (the
   * collector then moves their stream to the new epoch without a write).
   * False whenever it cannot tell (an epoch it no longer remembers).
   */
  samePlan(epoch: number, self: NodeRecord): boolean {
    if (!this.isSampled) return false;
    const now = this.sampledEpoch(this.currentEpoch());
    const then = this.recent.find((x) => x.epoch === epoch);
    if (!then || then === now || then.directoryKey !== now.directoryKey) return false;
    const a = then.layout.fixed[then.position.get(self.name) ?? -1];
    const b = now.layout.fixed[now.position.get(self.name) ?? -1];
    return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /** The current sampled layout, undefined unless the plan is sampled (for the bench, tests and metrics). */
  layout(): SampledLayout<NodeRecord> | undefined {
    return this.isSampled ? this.sampledEpoch(this.currentEpoch()).layout : undefined;
  }

  /** How often each cell is probed under the current plan. */
  cadence(): Cadence {
    return this.isSampled ? this.sampledEpoch(this.currentEpoch()).cadence : FULL_MESH_CADENCE;
  }

  /** The layout of a sampled epoch, its directory and cadence, once per epoch. */
  private sampledEpoch(epoch: number): SampledEpoch {
    if (this.sampled?.epoch === epoch) return this.sampled;
    const planner = this.planner;
    if (planner.scope !== 'sampled') throw new Error('not a sampled planner');
    const layout = sampledLayout(this.list(), planner.sampling, this.suspects?.names ?? []);
    const n = layout.order.length;
    const k = planner.sampling.peersPerRound;
    let maxGapRounds = 1;
    for (const f of layout.fixed) maxGapRounds = Math.max(maxGapRounds, walkPeriod(n, k, f.length, layout.followMax));
    this.sampled = {
      epoch,
      // The epoch without the suspects: equal when only they changed.
      directoryKey: planEpoch(this.list(), this.settings, this.dns(), { settings: [planner.fullMeshMax, k, planner.sampling.minProbers, planner.sampling.suspectProbersMax], suspects: new Set() }),
      layout,
      base: this.content(epoch, layout.order),
      position: new Map(layout.order.map((x, p) => [x.name, p])),
      peersPerRound: k,
      cadence: Object.freeze({ sampled: true, maxGapRounds }),
    };
    this.recent.push(this.sampled);
    if (this.recent.length > 4) this.recent.shift();
    return this.sampled;
  }

  private content(epoch: number, peers: readonly NodeRecord[]): PlanContent {
    const s = this.settings;
    return Object.freeze({ epoch, peers: peers.map(toPeer), kinds: s.kinds, intervalMs: s.intervalMs, timeoutMs: s.timeoutMs, dns: this.dns() });
  }

  /** The registry's sorted list, once per node-set version (a per-agent planner asks N times per epoch). */
  private list(): readonly NodeRecord[] {
    const version = this.nodes.setVersion;
    if (this.listed?.version !== version) this.listed = { version, nodes: this.nodes.list() };
    return this.listed.nodes;
  }

  private dns(): DnsPlan {
    const d = this.settings.dns;
    return typeof d === 'function' ? d() : (d ?? NO_DNS);
  }
}

interface SampledEpoch {
  readonly epoch: number;
  readonly directoryKey: number;
  readonly layout: SampledLayout<NodeRecord>;
  /** The plan without its Sampling part: the same objects (directory included) for every agent of the epoch. */
  readonly base: PlanContent;
  readonly position: ReadonlyMap<string, number>;
  readonly peersPerRound: number;
  readonly cadence: Cadence;
}

const FULL_MESH_CADENCE: Cadence = Object.freeze({ sampled: false, maxGapRounds: 1 });

function toPeer(n: NodeRecord): PlanPeer {
  return { nodeName: n.name, podIps: n.podIPs, nodeIps: n.nodeIPs, zone: n.zone, responderPort: n.responderPort };
}

/**
 * The epoch of a plan's inputs: 52 bits of the SHA-256 of the node list (in the
 * registry's name order: name, pod IPs, node IPs, zone, responder port), the
 * probe settings and the DNS section, never 0 (proto3's unset). The same inputs
 * give the same epoch on every replica and after a restart; other inputs give
 * another (a collision, 2^-52 per change, would leave a change unpushed until
 * the next). An input added to the plan must be added here too. An agent with
 * several replicas follows the highest epoch: while replicas disagree (one has
 * not seen a change yet), every agent follows the same one of them.
 */
export function planEpoch(nodes: readonly NodeRecord[], settings: ProbeSettings, dns: DnsPlan, sampled?: { readonly settings: readonly number[]; readonly suspects: ReadonlySet<string> }): number {
  const h = createHash('sha256');
  h.update(JSON.stringify([settings.kinds, settings.intervalMs, settings.timeoutMs, dns.servers, dns.questions, dns.nxZone, dns.tcpCheck]));
  // A sampled plan: its settings and suspects (sorted) too; a full-mesh plan hashes as before.
  if (sampled) h.update(JSON.stringify(['sampled', sampled.settings, [...sampled.suspects].sort()]));
  for (const n of nodes) h.update(JSON.stringify([n.name, n.podIPs, n.nodeIPs, n.zone, n.responderPort]));
  const epoch = parseInt(h.digest('hex').slice(0, 13), 16);
  return epoch === 0 ? 1 : epoch;
}
