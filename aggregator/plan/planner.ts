// Who probes whom. A planner is one of two shapes:
//   shared     every agent gets the same plan: one peer list, each agent
//              skipping itself. The collector encodes it once per epoch and
//              writes the same bytes to every stream: O(N) per change, not O(N²).
//              The full mesh is this shape.
//   per-agent  each agent gets its own peers (the sampling planner of large
//              clusters: bounded, rotating, zone-aware sets), encoded per agent.
// Either is a pure function of the node set and the epoch (no randomness not
// seeded from them), so every aggregator replica computes the same plan.
import type { NodeRecord } from '../nodes/registry.js';

export interface SharedPlanner {
  readonly name: string;
  readonly scope: 'shared';
  /** The peers of the plan every agent gets, in a stable order; they include the receiving agent, which skips itself. */
  peers(nodes: readonly NodeRecord[], epoch: number): readonly NodeRecord[];
}

export interface PerAgentPlanner {
  readonly name: string;
  readonly scope: 'per-agent';
  /** The peers `self` probes, in a stable order, never `self`. */
  peersFor(self: NodeRecord, nodes: readonly NodeRecord[], epoch: number): NodeRecord[];
}

export type Planner = SharedPlanner | PerAgentPlanner;

/** Every node probes every other: one plan listing every node (in the registry's order). */
export const fullMeshPlanner: SharedPlanner = Object.freeze({
  name: 'full-mesh',
  scope: 'shared' as const,
  peers: (nodes: readonly NodeRecord[]) => nodes,
});

/** The nodes `self` ends up probing under `planner`: what the agent does with its plan. Self is recognised by name. */
export function targetsOf(planner: Planner, self: NodeRecord, nodes: readonly NodeRecord[], epoch: number): NodeRecord[] {
  if (planner.scope === 'per-agent') return planner.peersFor(self, nodes, epoch);
  return planner.peers(nodes, epoch).filter((n) => n.name !== self.name);
}
