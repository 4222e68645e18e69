// Who probes whom. The full mesh is right up to a few hundred nodes; a
// sampling planner (bounded, rotating, zone-aware peer sets) replaces it behind
// this interface for larger clusters. A planner is a pure function of the node
// set (and later the epoch), so every aggregator replica computes the same plan.
import type { NodeRecord } from '../nodes/registry.js';

export interface Planner {
  readonly name: string;
  /** The peers `self` probes, in a stable order. */
  peersFor(self: NodeRecord, nodes: readonly NodeRecord[]): NodeRecord[];
}

export const fullMeshPlanner: Planner = Object.freeze({
  name: 'full-mesh',
  peersFor(self: NodeRecord, nodes: readonly NodeRecord[]): NodeRecord[] {
    return nodes.filter((n) => n.name !== self.name);
  },
});
