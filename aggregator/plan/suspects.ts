// The suspects of a sampled plan: nodes whose column every prober (up to
// --suspect-probers-max) probes every round until they clear, so a node that
// went down is seen by many probers at once and localized as one finding. A
// node is a suspect while
//   - its agent went away (disconnected) less than `agentGraceMs` ago: is the
//     node down, or is its agent restarting? A node whose agent never
//     connected, or left long ago (AgentMissing: a finding about the agent),
//     is not, or nodes without agents (tainted, DaemonSet not scheduled)
//     would hold the suspects' budget for good;
//   - Kubernetes says it is NotReady;
//   - a finding about the node is pending or firing (NodeUnreachable,
//     NodeIsolated, PodNetworkUnreachable, PacketLoss or HighLatency of the
//     node, ProbeKindFailing towards it, AgentStale);
//   - a PairUnreachable towards it is pending or firing;
// and for `holdMs` after the last of these ended, so a node that flaps does not
// move the plan's epoch at every evaluation.
//
// A single failing or lossy cell does not make a suspect: at 0.5 % background
// loss over thousands of nodes some cell fails every round, and each change of
// the set is a plan push to every agent. The agent follows up its own failing
// peers every round instead (agent/peers.ts PeerWalk), at no plan cost; what
// the findings' rules call evidence (the conditions above) widens that to the
// node's whole column.
//
// `version` moves exactly when the set changes: the PlanBook compares it.
import type { NodeRecord } from '../nodes/registry.js';

/** What the suspect set reads of one finding (pending or firing). */
export interface FindingView {
  readonly kind: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Finding kinds whose `node` label names a suspect. */
const NODE_KINDS: ReadonlySet<string> = new Set(['NodeUnreachable', 'NodeIsolated', 'PodNetworkUnreachable', 'PacketLoss', 'HighLatency', 'ProbeKindFailing', 'AgentStale']);

export class Suspects {
  private current = new Set<string>();
  /** Name → when it last had a reason (monotonic ms). */
  private readonly lastSeen = new Map<string, number>();
  private changes = 0;

  constructor(
    private readonly holdMs: number,
    /** An agent away longer than this no longer makes its node a suspect (--agent-grace). */
    private readonly agentGraceMs = Infinity,
  ) {}

  get version(): number {
    return this.changes;
  }

  get names(): ReadonlySet<string> {
    return this.current;
  }

  /**
   * One evaluation's view: the nodes, and the findings pending or firing.
   * Returns true when the set changed (the caller pushes plans).
   */
  update(at: number, nodes: readonly NodeRecord[], findings: Iterable<FindingView>): boolean {
    const known = new Set<string>();
    for (const n of nodes) {
      known.add(n.name);
      const away = !n.agent.connected && n.agent.disconnectedAt !== null && at - n.agent.disconnectedAt < this.agentGraceMs;
      if (away || n.kube?.ready === false) this.lastSeen.set(n.name, at);
    }
    for (const f of findings) {
      const node = f.kind === 'PairUnreachable' ? f.labels.dst : NODE_KINDS.has(f.kind) ? f.labels.node : undefined;
      if (node !== undefined && known.has(node)) this.lastSeen.set(node, at);
    }
    const next = new Set<string>();
    for (const [name, seen] of this.lastSeen) {
      if (!known.has(name) || at - seen > this.holdMs) this.lastSeen.delete(name);
      else next.add(name);
    }
    if (next.size === this.current.size && [...next].every((x) => this.current.has(x))) return false;
    this.current = next;
    this.changes++;
    return true;
  }
}
