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
import { FINDING_SPECS } from './kinds.js';

export interface EngineOptions {
  readonly forMs: number;
  readonly clearForMs: number;
  /** Value of the `cluster` label. */
  readonly cluster: string;
  /** Runbooks are at `${runbookBaseUrl}/<kind>.md`. */
  readonly runbookBaseUrl: string;
  /** Resolved findings kept for GET /api/v1/findings/{id} (generatorURL links). */
  readonly keepResolved?: number;
}

export interface EngineUpdate {
  /** Every firing finding, after this evaluation. */
  readonly firing: readonly Finding[];
  /** Findings that fired in this evaluation. */
  readonly fired: readonly Finding[];
  /** Findings that resolved in this evaluation. */
  readonly resolved: readonly Finding[];
}

interface Entry {
  finding: Finding;
  clearingSince: number | null;
}

export class FindingsEngine {
  private readonly entries = new Map<string, Entry>();
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

  update(conditions: readonly Condition[], now: number): EngineUpdate {
    const seen = new Set<string>();
    const fired: Finding[] = [];
    const resolved: Finding[] = [];
    for (const c of conditions) {
      const spec = FINDING_SPECS[c.kind];
      const labels = { alertname: c.kind, severity: spec.severity, cluster: this.o.cluster, ...c.subject };
      const id = fingerprint(labels);
      if (seen.has(id)) continue;
      seen.add(id);
      const e = this.entries.get(id);
      const since = e?.finding.since ?? now;
      const firingSince = e?.finding.firingSince ?? (now - since >= this.o.forMs ? now : null);
      const finding: Finding = {
        id,
        kind: c.kind,
        severity: spec.severity,
        state: firingSince === null ? 'pending' : 'firing',
        labels,
        summary: c.summary,
        description: c.description,
        runbookUrl: `${this.o.runbookBaseUrl.replace(/\/+$/, '')}/${c.kind}.md`,
        since,
        firingSince,
        resolvedAt: null,
      };
      if (finding.state === 'firing' && e?.finding.state !== 'firing') fired.push(finding);
      this.entries.set(id, { finding, clearingSince: null });
    }
    for (const [id, e] of this.entries) {
      if (seen.has(id)) continue;
      if (e.finding.state === 'pending') {
        this.entries.delete(id);
        continue;
      }
      e.clearingSince ??= now;
      if (now - e.clearingSince >= this.o.clearForMs || about(e.finding, this.forgotten)) {
        const done: Finding = { ...e.finding, state: 'resolved', resolvedAt: now };
        this.entries.delete(id);
        resolved.push(done);
        this.resolvedRing.push(done);
        if (this.resolvedRing.length > (this.o.keepResolved ?? 100)) this.resolvedRing.shift();
      }
    }
    this.forgotten.clear();
    return { firing: this.firing(), fired, resolved };
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
    return this.entries.get(id)?.finding ?? this.resolvedRing.findLast((f) => f.id === id);
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

/** Stable id of a label set: the same on every replica. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  const text = JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
