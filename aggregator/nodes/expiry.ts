// Node expiry without the Kubernetes API: a node whose agent has been gone
// longer than --node-expiry leaves, since nothing else says whether it still
// exists. Except while a finding that says the node is down or cut off
// (NodeUnreachable, NodeIsolated, or PodNetworkUnreachable, which the
// localizer splits out of NodeUnreachable when the node IP still answers) is
// firing or pending about it: removing the node would take the finding's
// condition away, and Alertmanager would be told the critical alert
// *resolved* while the node is still down. Such a node is held until its
// agent comes back, the finding resolves on its own, or an operator forgets
// it (DELETE /api/v1/nodes/{name}). Nodes the Kubernetes API lists never
// expire here: they leave when their Node object is deleted.
import { wallOf, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { FindingKind } from '../../common/vocabulary.js';
import type { Finding } from '../findings/finding.js';
import type { NodeRegistry } from './registry.js';

/** Finding kinds that say the node itself is down or cut off: they hold its expiry. */
export const EXPIRY_HOLDING_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>(['NodeUnreachable', 'NodeIsolated', 'PodNetworkUnreachable']);

/** The findings engine, as far as expiry reads it. */
export interface FindingSource {
  firing(): readonly Finding[];
  pending(): readonly Finding[];
}

export interface NodeExpiryOptions {
  readonly nodes: NodeRegistry;
  readonly expiryMs: number;
  readonly findings: FindingSource;
  /** Removes the node from the registry and every store (nodes/removal.ts). */
  readonly remove: (name: string) => void;
  /** The registry's agent times are monotonic; logs show them as wall-clock times. */
  readonly clock: Clock;
  readonly log: Logger;
}

/** The finding that holds `node`'s expiry: firing before pending, then the engine's order (most severe, oldest). */
export function expiryHold(findings: FindingSource, node: string): Finding | undefined {
  const holds = (f: Finding) => EXPIRY_HOLDING_KINDS.has(f.kind) && f.labels.node === node;
  return findings.firing().find(holds) ?? findings.pending().find(holds);
}

export class NodeExpiry {
  /** Held nodes → when their hold was first logged (monotonic). */
  private readonly heldSince = new Map<string, number>();
  private readonly toWall: (mono: number) => number;

  constructor(private readonly o: NodeExpiryOptions) {
    this.toWall = wallOf(o.clock);
  }

  /** Nodes past the expiry kept for a finding, as of the last sweep (less those since removed or back). */
  get held(): number {
    let n = 0;
    for (const name of this.heldSince.keys()) {
      const rec = this.o.nodes.get(name);
      if (rec && !rec.agent.connected) n++;
    }
    return n;
  }

  /** Removes every expired node that nothing holds; logs each removal, and each hold once. */
  sweep(): void {
    const now = this.o.clock.monotonic();
    const expired = new Set(this.o.nodes.expired(now - this.o.expiryMs));
    // A node that is back, or gone by other means, is no longer held: a later hold logs again.
    for (const name of this.heldSince.keys()) if (!expired.has(name)) this.heldSince.delete(name);
    for (const name of expired) {
      const rec = this.o.nodes.get(name);
      if (!rec || rec.kube) continue;
      const goneSince = rec.agent.disconnectedAt;
      const hold = expiryHold(this.o.findings, name);
      if (hold) {
        if (!this.heldSince.has(name)) {
          this.heldSince.set(name, now);
          this.o.log.warn(
            { node: name, finding: hold.id, kind: hold.kind, state: hold.state, agentGoneSince: this.iso(goneSince), nodeExpirySeconds: this.o.expiryMs / 1000 },
            'node expiry held back: a finding says the node is down or cut off (kind), and removing the node would resolve it while the node still is; it stays until its agent comes back or it is forgotten (DELETE /api/v1/nodes/{name}, netmatrix forget)',
          );
        }
        continue;
      }
      const heldFor = this.heldSince.get(name);
      this.heldSince.delete(name);
      this.o.remove(name);
      this.o.log.info(
        { node: name, agentGoneSince: this.iso(goneSince), ...(heldFor !== undefined ? { heldSeconds: (now - heldFor) / 1000 } : {}) },
        'node expired: its agent has been gone longer than the node expiry',
      );
    }
  }

  private iso(mono: number | null): string | null {
    return mono === null ? null : new Date(this.toWall(mono)).toISOString();
  }
}
