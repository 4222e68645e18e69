// Localization: from the assessment's failing, lossy and slow pairs to the
// fewest findings that explain them, widest first (docs/findings.md): a zone
// partition, then isolated and unreachable nodes, then single pairs. Each step
// takes the pairs it explains away from the next, so a dead node is one
// NodeUnreachable and not N−1 PairUnreachable. Pure: no clock, no I/O.
import type { RaisedKind } from '../findings/kinds.js';
import { pct } from '../matrix/status.js';
import {
  CELL_FAILING,
  CELL_LOSSY,
  CELL_OK,
  CELL_SLOW,
  CELL_UNKNOWN,
  PAIR_FAILING,
  PAIR_KNOWN,
  PAIR_LOSSY,
  PAIR_SLOW,
  type Assessment,
} from './assess.js';

export interface Condition {
  readonly kind: RaisedKind;
  /** The labels that say where (node, src/dst, src_zone/dst_zone). */
  readonly subject: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
}

export interface LocalizeOptions {
  readonly staleAfterMs: number;
  readonly maxPairFindings: number;
  readonly latencyThresholdMs: number;
  /** A node the Kubernetes API lists gets this long for its agent to connect before AgentMissing (default 0). */
  readonly agentGraceMs?: number;
}

export interface Localized {
  readonly conditions: Condition[];
  /** Findings left out by the pair cap, by kind. */
  readonly dropped: Partial<Record<RaisedKind, number>>;
}

/** More than half, and at least two (one witness could be the witness's own fault). */
export const most = (hit: number, of: number): boolean => hit >= 2 && hit * 2 > of;

export function localize(a: Assessment, o: LocalizeOptions): Localized {
  const n = a.nodes.length;
  const bits = a.pairBits;
  const explained = new Uint8Array(n * n);
  const conditions: Condition[] = [];
  const dropped: Partial<Record<RaisedKind, number>> = {};
  const name = (i: number) => a.nodes[i]!.name;
  const failing = (s: number, d: number) => (bits[s * n + d]! & PAIR_FAILING) !== 0 && explained[s * n + d] === 0;
  const known = (s: number, d: number) => (bits[s * n + d]! & PAIR_KNOWN) !== 0 && explained[s * n + d] === 0;

  // 1. Zone partitions.
  const zoneNodes = a.zones.map((_, zi) => a.nodes.map((_, i) => i).filter((i) => a.zoneOf[i] === zi));
  const count = (from: readonly number[], to: readonly number[]) => {
    let k = 0;
    let f = 0;
    for (const s of from) for (const d of to) if (s !== d && known(s, d)) (k++, failing(s, d) && f++);
    return { known: k, failing: f };
  };
  const partitions: [number, number][] = [];
  for (let za = 0; za < a.zones.length; za++) {
    for (let zb = za + 1; zb < a.zones.length; zb++) {
      const A = zoneNodes[za]!;
      const B = zoneNodes[zb]!;
      if (A.length < 2 || B.length < 2) continue;
      const ab = count(A, B);
      const ba = count(B, A);
      const inA = count(A, A);
      const inB = count(B, B);
      const cross = { known: ab.known + ba.known, failing: ab.failing + ba.failing };
      if (!most(cross.failing, cross.known) || inA.known === 0 || inB.known === 0) continue;
      if (inA.failing * 2 > inA.known || inB.failing * 2 > inB.known) continue;
      partitions.push([za, zb]);
      const [zs, zd] = [a.zones[za]!, a.zones[zb]!];
      conditions.push({
        kind: 'ZonePartition',
        subject: { src_zone: zs, dst_zone: zd },
        summary: `zones ${zs} and ${zd} can't reach each other: ${cross.failing} of ${cross.known} pairs between them fail`,
        description:
          `${zs}→${zd}: ${ab.failing}/${ab.known} pairs failing; ${zd}→${zs}: ${ba.failing}/${ba.known}. ` +
          `Inside ${zs}: ${inA.failing}/${inA.known} failing; inside ${zd}: ${inB.failing}/${inB.known}. ` +
          `${kindsLine(a, [...pairsBetween(A, B), ...pairsBetween(B, A)])}${sinceLine(a, [...pairsBetween(A, B), ...pairsBetween(B, A)])}`,
      });
    }
  }
  for (const [za, zb] of partitions) {
    for (const s of zoneNodes[za]!) for (const d of zoneNodes[zb]!) (explained[s * n + d] = 1), (explained[d * n + s] = 1);
  }

  // 2–3. Unreachable and isolated nodes.
  const inTally = (d: number, skip: (s: number) => boolean) => {
    let k = 0;
    let f = 0;
    for (let s = 0; s < n; s++) if (s !== d && !skip(s) && known(s, d)) (k++, failing(s, d) && f++);
    return { known: k, failing: f };
  };
  const outTally = (s: number, skip: (d: number) => boolean) => {
    let k = 0;
    let f = 0;
    for (let d = 0; d < n; d++) if (s !== d && !skip(d) && known(s, d)) (k++, failing(s, d) && f++);
    return { known: k, failing: f };
  };
  const candidates = new Set<number>();
  for (let d = 0; d < n; d++) {
    const t = inTally(d, () => false);
    if (most(t.failing, t.known)) candidates.add(d);
  }
  const isolated = new Set<number>();
  for (let s = 0; s < n; s++) {
    const t = outTally(s, (d) => d !== s && candidates.has(d));
    if (most(t.failing, t.known)) isolated.add(s);
  }
  const unreachable = new Set<number>();
  for (let d = 0; d < n; d++) {
    if (isolated.has(d)) continue;
    const t = inTally(d, (s) => isolated.has(s));
    if (most(t.failing, t.known)) unreachable.add(d);
  }
  for (const x of isolated) {
    const out = outTally(x, (d) => d !== x && unreachable.has(d));
    const inn = inTally(x, (s) => isolated.has(s));
    conditions.push({
      kind: 'NodeIsolated',
      subject: { node: name(x) },
      summary: `${name(x)} can't reach ${out.failing} of ${out.known} nodes`,
      description:
        `${name(x)} fails to reach ${out.failing} of ${out.known} nodes that others reach; ${inn.failing} of ${inn.known} nodes fail to reach it. ` +
        `Its agent still reports, so the aggregator's path to it works. ${kindsLine(a, outPairs(n, x))}${sinceLine(a, outPairs(n, x))}`,
    });
  }
  for (const d of unreachable) {
    const t = inTally(d, (s) => isolated.has(s));
    const agent = a.nodes[d]!.agent;
    const agentLine = !agent.connected
      ? ` ${name(d)}'s agent is not connected either${agent.disconnectedAt !== null ? ` (since ${iso(agent.disconnectedAt)})` : ''}: the node is probably down or cut off.`
      : stale(agent.lastReportAt, a.at, o.staleAfterMs)
        ? ` ${name(d)}'s agent is connected but has not reported for ${ago(agent.lastReportAt, a.at)}.`
        : ` ${name(d)}'s agent reports normally.`;
    const notReady = a.nodes[d]!.kube?.ready === false;
    conditions.push({
      kind: 'NodeUnreachable',
      subject: { node: name(d) },
      summary: notReady ? `${name(d)} is NotReady and unreachable from ${t.failing} of ${t.known} nodes` : `${name(d)} is unreachable from ${t.failing} of ${t.known} nodes`,
      description: `${kindsLine(a, inPairs(n, d, (s) => !isolated.has(s)))}${agentLine}${notReady ? ` Kubernetes reports ${name(d)} NotReady: its kubelet stopped posting status (node down, kubelet dead, or cut off from the API server).` : ''}${sinceLine(a, inPairs(n, d, (s) => !isolated.has(s)))}`,
    });
  }
  for (const x of isolated) for (let y = 0; y < n; y++) (explained[x * n + y] = 1), (explained[y * n + x] = 1);
  for (const d of unreachable) for (let s = 0; s < n; s++) explained[s * n + d] = 1;

  // 4. Single pairs.
  let pairs = 0;
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < n; d++) {
      if (s === d || !failing(s, d)) continue;
      if (pairs++ >= o.maxPairFindings) {
        dropped.PairUnreachable = (dropped.PairUnreachable ?? 0) + 1;
        continue;
      }
      conditions.push({
        kind: 'PairUnreachable',
        subject: { src: name(s), dst: name(d) },
        summary: `${name(s)} can't reach ${name(d)}`,
        description: `${kindsLine(a, [[s, d]])}${sinceLine(a, [[s, d]])}`,
      });
    }
  }

  // 5. Loss and latency on pairs that are not failing.
  degraded(a, explained, o, 'PacketLoss', PAIR_LOSSY, conditions, dropped);
  degraded(a, explained, o, 'HighLatency', PAIR_SLOW, conditions, dropped);

  // 6. Agents.
  const down = new Set([...unreachable, ...isolated]);
  a.nodes.forEach((node, i) => {
    if (down.has(i)) return;
    const ag = node.agent;
    // A Node the API lists gets --agent-grace for its agent pod to start and connect.
    const waiting = !ag.connected && ag.disconnectedAt === null && node.kube !== null && a.at - node.knownSince < (o.agentGraceMs ?? 0);
    if (!ag.connected && !waiting) {
      const notReady = node.kube?.ready === false ? ` Kubernetes reports ${node.name} NotReady.` : '';
      conditions.push({
        kind: 'AgentMissing',
        subject: { node: node.name },
        summary: `no netmatrix agent is connected on ${node.name}`,
        description: ag.disconnectedAt !== null
          ? `${node.name}'s agent disconnected at ${iso(ag.disconnectedAt)} (${ago(ag.disconnectedAt, a.at)} ago) and has not come back; probes from it are missing, probes towards it still run.${notReady}`
          : node.kube
            ? `Kubernetes lists ${node.name} (since ${ago(node.knownSince, a.at)} ago) but no netmatrix agent on it has connected: is the DaemonSet pod scheduled there (taints, node selector), pulling its image, or crash-looping?${notReady}`
            : `${node.name} is known but its agent never connected to this aggregator.`,
      });
    } else if (stale(ag.lastReportAt ?? ag.connectedSince, a.at, o.staleAfterMs)) {
      conditions.push({
        kind: 'AgentStale',
        subject: { node: node.name },
        summary: `${node.name}'s agent is connected but sends no reports`,
        description: `No report from ${node.name} for ${ago(ag.lastReportAt ?? ag.connectedSince, a.at)} (stale after ${o.staleAfterMs / 1000}s); its stream is open since ${iso(ag.connectedSince)}. The agent may be stuck or starved of CPU.`,
      });
    }
  });
  return { conditions, dropped };
}

function degraded(
  a: Assessment,
  explained: Uint8Array,
  o: LocalizeOptions,
  kind: 'PacketLoss' | 'HighLatency',
  bit: number,
  out: Condition[],
  dropped: Partial<Record<RaisedKind, number>>,
): void {
  const n = a.nodes.length;
  const hit = (s: number, d: number) => explained[s * n + d] === 0 && (a.pairBits[s * n + d]! & (bit | PAIR_FAILING)) === bit;
  const known = (s: number, d: number) => explained[s * n + d] === 0 && (a.pairBits[s * n + d]! & PAIR_KNOWN) !== 0;
  const local = new Uint8Array(n * n);
  const what = kind === 'PacketLoss' ? 'packet loss' : 'high latency';
  for (let x = 0; x < n; x++) {
    let inK = 0;
    let inH = 0;
    let outK = 0;
    let outH = 0;
    for (let y = 0; y < n; y++) {
      if (x === y) continue;
      if (known(y, x)) (inK++, hit(y, x) && inH++);
      if (known(x, y)) (outK++, hit(x, y) && outH++);
    }
    const towards = most(inH, inK);
    const from = most(outH, outK);
    if (!towards && !from) continue;
    const node = a.nodes[x]!.name;
    const dirs = [towards && `${inH} of ${inK} nodes see ${what} towards ${node}`, from && `${node} sees ${what} towards ${outH} of ${outK} nodes`].filter(Boolean).join('; ');
    out.push({
      kind,
      subject: { node },
      summary: `${what} ${towards && from ? 'to and from' : towards ? 'towards' : 'from'} ${node}`,
      description: `${dirs}. ${degradedLine(a, x, kind, o)}`,
    });
    for (let y = 0; y < n; y++) {
      if (towards) local[y * n + x] = 1;
      if (from) local[x * n + y] = 1;
    }
  }
  let pairs = 0;
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < n; d++) {
      if (s === d || local[s * n + d] || !hit(s, d)) continue;
      if (pairs++ >= o.maxPairFindings) {
        dropped[kind] = (dropped[kind] ?? 0) + 1;
        continue;
      }
      out.push({
        kind,
        subject: { src: a.nodes[s]!.name, dst: a.nodes[d]!.name },
        summary: `${what} from ${a.nodes[s]!.name} to ${a.nodes[d]!.name}`,
        description: `${kindsLine(a, [[s, d]])}${sinceLine(a, [[s, d]])}`,
      });
    }
  }
}

/** Loss or RTT towards node x, per judged kind, from the assessment's tallies. */
function degradedLine(a: Assessment, x: number, kind: 'PacketLoss' | 'HighLatency', o: LocalizeOptions): string {
  return a.kinds
    .map((k, ki) => {
      const st = a.stats[ki]![x]!;
      if (kind === 'PacketLoss') {
        const t = st.in;
        return t.samples === 0 ? null : `${k}: ${pct(t.failedSamples / t.samples)} of ${t.samples} probes towards it lost`;
      }
      return st.rttP50Ms === null ? null : `${k}: RTT p50 ${st.rttP50Ms.toFixed(1)} ms, p99 ${st.rttP99Ms?.toFixed(1)} ms (threshold ${o.latencyThresholdMs} ms)`;
    })
    .filter(Boolean)
    .join('; ');
}

type Pair = readonly [number, number];

function pairsBetween(from: readonly number[], to: readonly number[]): Pair[] {
  return from.flatMap((s) => to.map((d): Pair => [s, d]));
}
function outPairs(n: number, s: number): Pair[] {
  return Array.from({ length: n }, (_, d): Pair => [s, d]).filter(([x, y]) => x !== y);
}
function inPairs(n: number, d: number, keep: (s: number) => boolean): Pair[] {
  return Array.from({ length: n }, (_, s): Pair => [s, d]).filter(([x, y]) => x !== y && keep(x));
}

/**
 * Per judged kind, how the known cells of `pairs` ended: "tcp: refused 3/3;
 * icmp: ok 3/3". Telling ICMP-ok-but-TCP-refused from all-timeout is most of
 * the diagnosis.
 */
export function kindsLine(a: Assessment, pairs: readonly Pair[]): string {
  const n = a.nodes.length;
  const parts: string[] = [];
  a.kinds.forEach((kind, ki) => {
    const codes = a.codes[ki]!;
    const outcomes = new Map<string, number>();
    let known = 0;
    let loss = 0;
    let lossN = 0;
    for (const [s, d] of pairs) {
      const c = codes[s * n + d]!;
      if (c === CELL_UNKNOWN) continue;
      known++;
      let word = c === CELL_OK ? 'ok' : c === CELL_SLOW ? 'slow' : c === CELL_LOSSY ? 'lossy' : 'failing';
      if (c === CELL_FAILING || c === CELL_LOSSY) {
        const v = a.view(s, d, kind);
        if (c === CELL_FAILING) word = v?.lastOutcome && v.lastOutcome !== 'ok' ? v.lastOutcome : 'failing (loss)';
        if (v?.lossRatio != null) (loss += v.lossRatio, lossN++);
      }
      outcomes.set(word, (outcomes.get(word) ?? 0) + 1);
    }
    if (known === 0) return;
    const words = [...outcomes].sort((x, y) => y[1] - x[1]).map(([w, c]) => `${w} ${c}/${known}`);
    parts.push(`${kind}: ${words.join(', ')}${lossN > 0 ? ` (mean loss ${pct(loss / lossN)})` : ''}`);
  });
  return parts.length ? `${parts.join('; ')}.` : 'No fresh probe results.';
}

/** " Failing since <time>." from the earliest start of the current outcome among failing cells. */
function sinceLine(a: Assessment, pairs: readonly Pair[]): string {
  const n = a.nodes.length;
  let since = Infinity;
  a.kinds.forEach((kind, ki) => {
    for (const [s, d] of pairs) {
      const c = a.codes[ki]![s * n + d]!;
      if (c === CELL_UNKNOWN || c === CELL_OK) continue;
      const v = a.view(s, d, kind);
      if (v?.since != null && v.since < since) since = v.since;
    }
  });
  return Number.isFinite(since) ? ` Since ${iso(since)}.` : '';
}

function stale(at: number | null, now: number, staleAfterMs: number): boolean {
  return at === null || now - at > staleAfterMs;
}

function ago(at: number | null, now: number): string {
  if (at === null) return 'ever';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function iso(ms: number | null): string {
  return ms === null ? 'unknown' : new Date(ms).toISOString();
}
