// The faults the lab benchmarks inject, shared so that detection and alerting
// measure the very same thing.
import type { Lab } from '../test/e2e/lab/lab.js';

export interface FaultCase {
  readonly name: string;
  readonly what: string;
  inject(lab: Lab): Promise<void>;
  clear(lab: Lab): Promise<void>;
  /** The cells that must read failing while the fault is in force. */
  affected(src: string, dst: string): boolean;
}

export const DROP_1_2: FaultCase = {
  name: 'drop',
  what: 'node-1 ⇄ node-2 (DROP on both INPUTs), cells 1→2 and 2→1',
  inject: (lab) => lab.blockPair('node-1', 'node-2', 'drop'),
  clear: (lab) => lab.clear('node-2'),
  affected: (s, d) => (s === 'node-1' && d === 'node-2') || (s === 'node-2' && d === 'node-1'),
};

export const REJECT_1_3: FaultCase = {
  name: 'reject',
  what: 'node-1 → node-3 (REJECT on node-3), cell 1→3',
  inject: (lab) => lab.blockPair('node-1', 'node-3', 'reject'),
  clear: (lab) => lab.clear('node-3'),
  affected: (s, d) => s === 'node-1' && d === 'node-3',
};

export const CUT_4: FaultCase = {
  name: 'cut',
  what: "node-4's cable (bridge port down; its agent loses the aggregator too), column →4",
  inject: (lab) => lab.cutCable('node-4'),
  clear: (lab) => lab.restoreCable('node-4'),
  affected: (_s, d) => d === 'node-4',
};

/** A random share of one interval, before a fault or a clear: it lands at any phase of the probe rounds and evaluations. */
export function randomPhase(intervalMs: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * intervalMs));
}
