// The latest CNI snapshot of each node, as its agent sent it. A snapshot
// replaces the previous one; one that breaks the bounds is refused with the
// reason (counted) and the previous one stays. A node that leaves takes its
// snapshot along.
import { cniFromWire, type CniSnapshot } from '../../common/cni.js';
import type { CniSnapshot__Output } from '../../proto/load.js';

export interface StoredCni {
  readonly snapshot: CniSnapshot;
  /** Aggregator clock when it arrived. */
  readonly receivedAt: number;
}

export class CniStore {
  private readonly byNode = new Map<string, StoredCni>();
  readonly stats = { snapshots: 0, rejected: 0 };

  /** Stores node's snapshot; returns the problem when it is refused. */
  record(node: string, wire: CniSnapshot__Output, now: number): string | undefined {
    const s = cniFromWire(wire);
    if ('problem' in s) {
      this.stats.rejected++;
      return s.problem;
    }
    this.stats.snapshots++;
    this.byNode.set(node, { snapshot: s, receivedAt: now });
    return undefined;
  }

  get(node: string): StoredCni | undefined {
    return this.byNode.get(node);
  }

  remove(node: string): void {
    this.byNode.delete(node);
  }

  get size(): number {
    return this.byNode.size;
  }
}
