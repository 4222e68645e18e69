// Who probes whom. A planner is one of two shapes:
//   shared     every agent gets the same plan: one peer list, each agent
//              skipping itself. The collector encodes it once per epoch and
//              writes the same bytes to every stream: O(N) per change, not O(N²).
//              The full mesh is this shape.
//   per-agent  each agent gets its own peers, encoded per agent.
//   sampled    above `fullMeshMax` nodes (the full mesh at or below): every
//              agent gets the same directory (every node, in ring order) and
//              its own small Sampling part: its fixed peers; it walks the rest
//              of the ring itself, `peersPerRound` a round (plan/sampled.ts).
//              The directory is encoded once per epoch, the Sampling part per
//              agent (grpc/plan-wire.ts).
// Each is a pure function of the node set, the settings (and, sampled, the
// suspects), with no randomness, so every aggregator replica computes the
// same plan.
import type { NodeRecord } from '../nodes/registry.js';
import type { SamplingSettings } from './sampled.js';

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

export interface SampledPlanner {
  readonly name: string;
  readonly scope: 'sampled';
  /** At or below this many nodes, the full mesh. */
  readonly fullMeshMax: number;
  readonly sampling: SamplingSettings;
}

export type Planner = SharedPlanner | PerAgentPlanner | SampledPlanner;

/** The full mesh up to `fullMeshMax` nodes, a sampled plan above. */
export function sampledPlanner(fullMeshMax: number, sampling: SamplingSettings): SampledPlanner {
  return Object.freeze({ name: 'sampled', scope: 'sampled' as const, fullMeshMax, sampling: Object.freeze({ ...sampling }) });
}

/** Every node probes every other: one plan listing every node (in the registry's order). */
export const fullMeshPlanner: SharedPlanner = Object.freeze({
  name: 'full-mesh',
  scope: 'shared' as const,
  peers: (nodes: readonly NodeRecord[]) => nodes,
});

/** The nodes `self` ends up probing every round under `planner`: what the agent does with its plan. Self is recognised by name. */
export function targetsOf(planner: SharedPlanner | PerAgentPlanner, self: NodeRecord, nodes: readonly NodeRecord[], epoch: number): NodeRecord[] {
  if (planner.scope === 'per-agent') return planner.peersFor(self, nodes, epoch);
  return planner.peers(nodes, epoch).filter((n) => n.name !== self.name);
}
