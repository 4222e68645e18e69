// Decides which findings go to Alertmanager and when; the sender decides how.
// A firing finding is sent when it fires and then every resend interval with
// endsAt four intervals ahead: if the aggregator dies, Alertmanager resolves
// the alert by itself instead of keeping it firing forever. A resolved finding
// is sent once, with endsAt when it resolved.
import type { Finding } from '../findings/finding.js';
import type { Alert } from './alertmanager.js';

export interface AlertSink {
  enqueue(alerts: readonly Alert[]): void;
}

export interface NotifierOptions {
  readonly sender: AlertSink;
  readonly resendMs: number;
  /** Where people reach this aggregator; each alert links back to its finding there. */
  readonly externalUrl: string;
}

/**
 * The start of every generatorURL this aggregator gives its alerts: how the read-back (readback.ts)
 * tells them from other aggregators' alerts in the same Alertmanager.
 */
export function findingsUrlPrefix(externalUrl: string): string {
  return `${externalUrl.replace(/\/+$/, '')}/api/v1/findings/`;
}

/** endsAt of a firing alert, in resend intervals: a few lost resends don't resolve it. */
const ENDS_AFTER_RESENDS = 4;

export class Notifier {
  private readonly sender: AlertSink;
  private readonly resendMs: number;
  private readonly findingsUrl: string;
  /** Firing finding id → when it was last enqueued. */
  private readonly lastSent = new Map<string, number>();

  constructor(opts: NotifierOptions) {
    if (!Number.isFinite(opts.resendMs) || opts.resendMs <= 0) throw new Error(`notifier: resendMs must be a positive number, got ${opts.resendMs}`);
    this.sender = opts.sender;
    this.resendMs = opts.resendMs;
    this.findingsUrl = findingsUrlPrefix(opts.externalUrl);
  }

  /**
   * After every evaluation: `firing` is every finding now firing, `resolved` those that resolved in this
   * evaluation (each comes once).
   */
  update(firing: readonly Finding[], resolved: readonly Finding[], now: number): void {
    const out: Alert[] = [];
    const current = new Set<string>();
    for (const f of firing) {
      current.add(f.id);
      const last = this.lastSent.get(f.id);
      if (last !== undefined && now - last < this.resendMs) continue;
      out.push(this.alert(f, f.firingSince ?? f.since, now + ENDS_AFTER_RESENDS * this.resendMs));
      this.lastSent.set(f.id, now);
    }
    for (const f of resolved) {
      out.push(this.alert(f, f.firingSince ?? f.since, f.resolvedAt ?? now));
      this.lastSent.delete(f.id);
    }
    // Gone from firing without resolving (dropped by a cap, say): forget it, and let its endsAt resolve it.
    for (const id of this.lastSent.keys()) if (!current.has(id)) this.lastSent.delete(id);
    if (out.length > 0) this.sender.enqueue(out);
  }

  private alert(f: Finding, startsAt: number, endsAt: number): Alert {
    return {
      labels: { ...f.labels },
      annotations: { summary: f.summary, description: f.description, runbook_url: f.runbookUrl },
      startsAt: new Date(startsAt).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      generatorURL: `${this.findingsUrl}${encodeURIComponent(f.id)}`,
    };
  }
}
