// Hysteresis over localized conditions: a condition becomes a firing finding
// after holding for `forMs`, and a firing finding resolves after its condition
// has been absent for `clearForMs` (coming back while clearing keeps it firing,
// with its first `since`). A pending condition that goes away is forgotten:
// one lost probe never pages. A node an operator forgot (DELETE
// /api/v1/nodes/{name}) is the exception: nothing about it is clearing, it is
// gone, so its findings resolve at the next update without the clearing delay.
import { createHash } from 'node:crypto';
import type { Condition } from '../localize/localize.js';
import type { Finding } from './finding.js';
import { CAPPED_KINDS, FINDING_SPECS, type RaisedKind } from './kinds.js';

export interface EngineOptions {
  readonly forMs: number;
  readonly clearForMs: number;
  /** Value of the `cluster` label. */
  readonly cluster: string;
  /** Runbooks are at `${runbookBaseUrl}/<kind>.md`. */
  readonly runbookBaseUrl: string;
  /** Resolved findings kept for GET /api/v1/findings/{id} (generatorURL links). */
  readonly keepResolved?: number;
  /**
   * Most findings about single pairs per kind (PairUnreachable, PacketLoss,
   * HighLatency with src/dst). Applied after hysteresis: firing ones keep their
   * place, pending ones are admitted by rank; the rest become one aggregate
   * finding of the kind (no src/dst) and are counted.
   */
  readonly maxPairFindings?: number;
}

export interface EngineUpdate {
  /** Every firing finding, after this evaluation. */
  readonly firing: readonly Finding[];
  /** Findings that fired in this evaluation. */
  readonly fired: readonly Finding[];
  /** Findings that resolved in this evaluation. */
  readonly resolved: readonly Finding[];
  /** Pair conditions left out by the cap in this evaluation, by kind. */
  readonly dropped: Partial<Record<RaisedKind, number>>;
}

interface Entry {
  finding: Finding;
  /** When the condition was first seen, and when it stopped holding (monotonic ms). */
  sinceMono: number;
  clearingSince: number | null;
}

export class FindingsEngine {
  /** By conditionKey (cheap to build for tens of thousands of pair conditions); the id is hashed once, when a finding is new. */
  private readonly entries = new Map<string, Entry>();
  /** Finding id → its key in `entries`. */
  private readonly keyOfId = new Map<string, string>();
  private readonly resolvedRing: Finding[] = [];
  /** Nodes forgotten since the last update. */
  private readonly forgotten = new Set<string>();

  constructor(private readonly o: EngineOptions) {}

  /**
   * `node` was forgotten: at the next update, its findings (labels node, src or dst) whose condition is
   * gone resolve at once instead of after `clearForMs`. Returns the current ones, which will.
   */
  forgetNode(node: string): Finding[] {
    this.forgotten.add(node);
    return [...this.entries.values()].map((e) => e.finding).filter((f) => about(f, this.forgotten));
  }

  /**
   * `now` is monotonic (hysteresis: a wall-clock step re-fires nothing);
   * `wall` is the wall-clock time the findings show (default: `now`).
   */
  update(conditions: readonly Condition[], now: number, wall = now): EngineUpdate {
    const seen = new Set<string>();
    const fired: Finding[] = [];
    const resolved: Finding[] = [];
    const { kept, dropped } = this.cap(conditions);
    for (const c of kept) {
      const spec = FINDING_SPECS[c.kind];
      const key = conditionKey(c);
      if (seen.has(key)) continue;
      seen.add(key);
      const e = this.entries.get(key);
      const labels = e?.finding.labels ?? this.labels(c);
      const id = e?.finding.id ?? fingerprint(labels);
      const sinceMono = e?.sinceMono ?? now;
      const firingSince = e?.finding.firingSince ?? (now - sinceMono >= this.o.forMs ? wall : null);
      const finding: Finding = {
        id,
        kind: c.kind,
        severity: spec.severity,
        state: firingSince === null ? 'pending' : 'firing',
        labels,
        summary: c.summary,
        description: typeof c.description === 'function' ? c.description() : c.description,
        runbookUrl: `${this.o.runbookBaseUrl.replace(/\/+$/, '')}/${c.kind}.md`,
        since: e?.finding.since ?? wall,
        firingSince,
        resolvedAt: null,
      };
      if (finding.state === 'firing' && e?.finding.state !== 'firing') fired.push(finding);
      this.entries.set(key, { finding, sinceMono, clearingSince: null });
      this.keyOfId.set(id, key);
    }
    for (const [key, e] of this.entries) {
      if (seen.has(key)) continue;
      if (e.finding.state === 'pending') {
        this.forget(key, e);
        continue;
      }
      e.clearingSince ??= now;
      if (now - e.clearingSince >= this.o.clearForMs || about(e.finding, this.forgotten)) {
        const done: Finding = { ...e.finding, state: 'resolved', resolvedAt: wall };
        this.forget(key, e);
        resolved.push(done);
        this.resolvedRing.push(done);
        if (this.resolvedRing.length > (this.o.keepResolved ?? 100)) this.resolvedRing.shift();
      }
    }
    this.forgotten.clear();
    return { firing: this.firing(), fired, resolved, dropped };
  }

  private forget(key: string, e: Entry): void {
    this.entries.delete(key);
    this.keyOfId.delete(e.finding.id);
  }

  private labels(c: Condition): Record<string, string> {
    return { alertname: c.kind, severity: FINDING_SPECS[c.kind].severity, cluster: this.o.cluster, ...c.subject };
  }

  /** The pair cap, after hysteresis: firing findings keep their place, pending ones come by rank. */
  private cap(conditions: readonly Condition[]): { kept: Condition[]; dropped: Partial<Record<RaisedKind, number>> } {
    const max = this.o.maxPairFindings;
    const dropped: Partial<Record<RaisedKind, number>> = {};
    if (max === undefined) return { kept: [...conditions], dropped };
    const kept: Condition[] = [];
    const byKind = new Map<RaisedKind, Condition[]>();
    for (const c of conditions) {
      if (CAPPED_KINDS.includes(c.kind) && c.subject.src !== undefined) (byKind.get(c.kind) ?? byKind.set(c.kind, []).get(c.kind)!).push(c);
      else kept.push(c);
    }
    for (const [kind, list] of byKind) {
      if (list.length <= max) {
        kept.push(...list);
        continue;
      }
      const firing: Condition[] = [];
      const rest: Condition[] = [];
      for (const c of list) (this.entries.get(conditionKey(c))?.finding.state === 'firing' ? firing : rest).push(c);
      // More firing than places (one came back while clearing): the oldest keep theirs.
      const age = (c: Condition) => this.entries.get(conditionKey(c))!.sinceMono;
      if (firing.length > max) firing.sort((a, b) => age(a) - age(b));
      rest.sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0) || (a.summary < b.summary ? -1 : 1));
      const room = Math.max(0, max - firing.length);
      const left = rest.slice(room);
      kept.push(...firing.slice(0, Math.max(max, 0)), ...rest.slice(0, room));
      const n = left.length + Math.max(0, firing.length - max);
      if (n === 0) continue;
      dropped[kind] = n;
      kept.push({
        kind,
        subject: {},
        summary: `${n} more ${kind} findings about single pairs, over --max-pair-findings (${max})`,
        description: `Not raised one by one: ${left.slice(0, 10).map((c) => c.summary).join('; ')}${left.length > 10 ? '; …' : ''}. GET /api/v1/matrix shows every cell.`,
      });
    }
    return { kept, dropped };
  }

  /** Firing findings (the set sent to Alertmanager), most severe first, then oldest. */
  firing(): Finding[] {
    return this.list('firing');
  }

  pending(): Finding[] {
    return this.list('pending');
  }

  /** A current finding, or a recently resolved one. */
  get(id: string): Finding | undefined {
    const key = this.keyOfId.get(id);
    return (key === undefined ? undefined : this.entries.get(key)?.finding) ?? this.resolvedRing.findLast((f) => f.id === id);
  }

  private list(state: 'firing' | 'pending'): Finding[] {
    const order = { critical: 0, warning: 1, info: 2 };
    return [...this.entries.values()]
      .map((e) => e.finding)
      .filter((f) => f.state === state)
      .sort((a, b) => order[a.severity] - order[b.severity] || a.since - b.since || (a.id < b.id ? -1 : 1));
  }
}

/** Whether the finding is about one of `nodes`: as the node, or either end of a pair. */
function about(f: Finding, nodes: ReadonlySet<string>): boolean {
  if (nodes.size === 0) return false;
  const { node, src, dst } = f.labels;
  return (node !== undefined && nodes.has(node)) || (src !== undefined && nodes.has(src)) || (dst !== undefined && nodes.has(dst));
}

/** A condition's identity inside the engine: its kind and subject (the other labels are the same for every condition). */
function conditionKey(c: Condition): string {
  const names = Object.keys(c.subject);
  if (names.length > 1) names.sort();
  let key = c.kind;
  for (const n of names) key += `\u0000${n}\u0000${c.subject[n]}`;
  return key;
}

/** Stable id of a label set: the same on every replica. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const text = JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
