// A simulated agent's walk of a sampled plan: what agent/peers.ts PeerWalk
// does, round by round the same peers, but over the plan's shared directory by
// position. PeerWalk builds each agent's walk list and a map of it by name:
// O(N) per agent and plan, which one agent can afford and a simulator running
// 5,000 agents over a 5,000-node directory cannot (25 M entries per plan).
// Here each agent keeps its fixed positions, its cursor and its follow-ups;
// the directory and its name → position map are shared by every agent of the
// epoch. test/sim/walk.test.ts checks it against PeerWalk round by round.
//
// Each round: the fixed peers; then the walk peers that failed (any kind) in
// their last round, oldest first, up to followMax; then the next walk peers of
// the ring (from the peer after this node round to the one before it, fixed
// ones left out), peersPerRound in all. A new plan continues at the peer that
// was next, or the first one after it still walked.
import type { SimPlan, SimSampling } from './plan.js';

const positions = new WeakMap<SimPlan, ReadonlyMap<string, number>>();

/** Name → position in the plan's directory (the first, if a name is listed twice), shared by every agent. */
export function positionsOf(plan: SimPlan): ReadonlyMap<string, number> {
  let m = positions.get(plan);
  if (!m) {
    const built = new Map<string, number>();
    plan.peers.forEach((p, i) => {
      if (!built.has(p.name)) built.set(p.name, i);
    });
    positions.set(plan, built);
    m = built;
  }
  return m;
}

export class SimWalk {
  private plan: SimPlan | undefined;
  private spec: SimSampling = { peersPerRound: 0, fixed: [], followMax: 0 };
  /** Fixed positions, ascending, without this node's own. */
  private fixed: number[] = [];
  private fixedSet = new Set<number>();
  /** Walk peers in the directory. */
  private walkSize = 0;
  /** Position of the next walk peer; -1 when the walk is empty. */
  private cursor = -1;
  /** Walk peers being followed up, by name, oldest first. */
  private readonly failing = new Map<string, true>();

  constructor(private readonly self: string) {}

  get following(): number {
    return this.failing.size;
  }

  setPlan(plan: SimPlan, spec: SimSampling): void {
    const old = { plan: this.plan, fixed: this.fixedSet, cursor: this.cursor, walkSize: this.walkSize };
    const n = plan.peers.length;
    const fixed = new Set<number>();
    for (const p of spec.fixed) if (p >= 0 && p < n && plan.peers[p]!.name !== this.self) fixed.add(p);
    const pos = positionsOf(plan);
    this.plan = plan;
    this.spec = spec;
    this.fixedSet = fixed;
    this.fixed = [...fixed].sort((a, b) => a - b);
    // Every position but this node's (each of them, if it is listed twice) and the fixed ones.
    let selfCount = 0;
    for (const p of plan.peers) if (p.name === this.self) selfCount++;
    this.walkSize = n - fixed.size - selfCount;
    const at = pos.get(this.self) ?? -1;
    this.cursor = this.walkSize > 0 ? this.nextWalk((at + 1) % n) : -1;
    // Continue at the peer that was next, or at the first one after it (in the old walk) still walked.
    if (old.plan && old.cursor >= 0 && this.walkSize > 0) {
      const oldPeers = old.plan.peers;
      const oldIsWalk = (p: number) => !old.fixed.has(p) && oldPeers[p]!.name !== this.self;
      for (let p = old.cursor, seen = 0; seen < old.walkSize; p = (p + 1) % oldPeers.length) {
        if (!oldIsWalk(p)) continue;
        seen++;
        const found = pos.get(oldPeers[p]!.name);
        if (found !== undefined && this.isWalk(found)) {
          this.cursor = found;
          break;
        }
      }
    }
    for (const name of this.failing.keys()) {
      const p = pos.get(name);
      if (p === undefined || !this.isWalk(p)) this.failing.delete(name);
    }
  }

  /** The positions of the next round; moves the walk on. */
  next(): number[] {
    const plan = this.plan;
    if (!plan) return [];
    const { peersPerRound, followMax } = this.spec;
    const round = [...this.fixed];
    const taken = new Set<number>();
    if (followMax > 0 && this.failing.size > 0) {
      const pos = positionsOf(plan);
      for (const name of this.failing.keys()) {
        if (taken.size >= followMax || round.length >= peersPerRound) break;
        const p = pos.get(name)!;
        round.push(p);
        taken.add(p);
      }
    }
    let left = Math.max(0, peersPerRound - round.length);
    // One turn of the ring at most; peers followed up this round are passed (they are probed anyway).
    for (let seen = 0; left > 0 && seen < this.walkSize; seen++) {
      const p = this.cursor;
      this.cursor = this.nextWalk((p + 1) % plan.peers.length);
      if (taken.has(p)) continue;
      round.push(p);
      left--;
    }
    return round;
  }

  /** A round's verdict on the peer at `position`: failed (any kind) starts or keeps a follow-up, all answered ends it. */
  observe(position: number, ok: boolean): void {
    const name = this.plan?.peers[position]?.name;
    if (name === undefined) return;
    if (ok) this.failing.delete(name);
    else if (!this.failing.has(name) && this.isWalk(position)) this.failing.set(name, true);
  }

  private isWalk(p: number): boolean {
    return this.plan !== undefined && p >= 0 && p < this.plan.peers.length && !this.fixedSet.has(p) && this.plan.peers[p]!.name !== this.self;
  }

  /** The first walk position at or after `p` (ring order). */
  private nextWalk(p: number): number {
    const n = this.plan!.peers.length;
    for (let i = 0; i < n; i++, p = (p + 1) % n) if (this.isWalk(p)) return p;
    return -1;
  }
}
