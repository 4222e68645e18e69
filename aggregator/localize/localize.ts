// Localization: from the assessment's tallies and non-ok cells to the fewest
// findings that explain them, widest first (docs/findings.md):
//   0. targets whose agent is away while the node is fine: their cells are
//      unknown, not evidence (a DaemonSet rollout is not an outage);
//   1. a probe kind failing across most of the cluster (a firewall rule, a
//      NetworkPolicy): one ProbeKindFailing, and that kind leaves the rest of
//      the reasoning;
//   2. zone partitions;
//   3. isolated and unreachable nodes: NodeUnreachable needs independent
//      paths to agree (pod ICMP, the responder's TCP/HTTP, the node IP) or
//      Kubernetes to say NotReady; one path failing towards a node is
//      ProbeKindFailing for that node, pod paths failing while the node IP
//      answers is PodNetworkUnreachable;
//   4. loss pooled over all of a node's cells (PacketLoss for the node),
//      latency towards or from most of a node's peers;
//   5. what is left, pair by pair (the findings engine caps these after
//      hysteresis, by the rank given here);
//   6. agents missing or stale.
// Each step takes the cells it explains away from the next. Pure: no clock, no I/O.
import type { RaisedKind } from '../findings/kinds.js';
import { CODE_FAILING, CODE_LOSSY, CODE_SLOW, CONFIRMING_RUN, PAIR_MIN_LOSS_SAMPLES, PAIR_SILENT_RUN, PAIR_WILSON_Z, lossy, pct, wilsonLower } from '../matrix/rule.js';
import { PAIR_KINDS, type PairKind } from '../../common/vocabulary.js';
import { orderBy } from '../matrix/typed.js';
import { newTally, type Assessment, type BadCell, type Tally } from './assess.js';

export interface Condition {
  readonly kind: RaisedKind;
  /** The labels that say where (node, src/dst, src_zone/dst_zone, kind); {} for an aggregate. */
  readonly subject: Readonly<Record<string, string>>;
  readonly summary: string;
  /** Built only for the conditions the findings engine keeps (pair conditions can be many). */
  readonly description: string | (() => string);
  /** Evidence strength: the engine keeps the strongest when a cap applies (failing before lossy, more probers first). */
  readonly rank?: number;
}

export interface LocalizeOptions {
  readonly staleAfterMs: number;
  readonly latencyThresholdMs: number;
  /** Loss at which a node or pair is lossy (judged with the Wilson bound, matrix/rule.ts). */
  readonly degradedLoss: number;
  /** An agent away this long is AgentMissing; a target whose agent is away is unknown meanwhile when nothing says the node is down. */
  readonly agentGraceMs?: number;
  /** Monotonic → wall ms, for the times a description shows. */
  readonly toWall?: (mono: number) => number;
}

export interface Localized {
  readonly conditions: Condition[];
  /** Targets whose cells are unknown this evaluation (agent away, node fine), by position, with why. */
  readonly away: ReadonlyMap<number, string>;
}

/** More than half, and at least two (one witness could be the witness's own fault). */
export const most = (hit: number, of: number): boolean => hit >= 2 && hit * 2 > of;

/** Paths that fail independently: a dead node takes all; a port blocked or a responder down takes one. */
const PATH_OF: Record<PairKind, 'pod' | 'responder' | 'node' | 'mtu'> = { icmp: 'pod', tcp: 'responder', http: 'responder', node: 'node', mtu: 'mtu' };
/** Kinds that go wrong together for one cause: ProbeKindFailing names the first, its text the rest. */
const PROTOCOL_OF: Record<PairKind, string> = { icmp: 'icmp', node: 'icmp', mtu: 'icmp', tcp: 'tcp', http: 'tcp' };

export function localize(a: Assessment, o: LocalizeOptions): Localized {
  const n = a.nodes.length;
  const conditions: Condition[] = [];
  const name = (i: number) => a.nodes[i]!.name;
  const wall = (ms: number) => (o.toWall ? o.toWall(ms) : ms);
  const K = a.kinds.length;
  const inT = (d: number, k: number) => a.stats[k]![d]!.in;
  const outT = (s: number, k: number) => a.stats[k]![s]!.out;
  // Non-ok cells by target and by source (positions → cells).
  const badIn = new Map<number, BadCell[]>();
  const badOut = new Map<number, BadCell[]>();
  // Indexed loops over the non-ok cells here and below: tens of thousands of them, and an
  // iterator per loop in a function this size is garbage the optimizer does not always remove.
  for (let i = 0; i < a.bad.length; i++) {
    const c = a.bad[i]!;
    if (c.k < 0) continue;
    (badIn.get(c.d) ?? badIn.set(c.d, []).get(c.d)!).push(c);
    (badOut.get(c.s) ?? badOut.set(c.s, []).get(c.s)!).push(c);
  }

  // 0. Agents away on nodes that are fine.
  const away = new Map<number, string>();
  const answers = (d: number, kind: PairKind) => {
    const k = a.kinds.indexOf(kind);
    if (k < 0) return false;
    const t = inT(d, k);
    return t.known >= 2 && t.failing * 2 < t.known;
  };
  const failsMost = (d: number, kind: PairKind) => {
    const k = a.kinds.indexOf(kind);
    return k >= 0 && most(inT(d, k).failing, inT(d, k).known);
  };
  const pathData = (d: number, kind: PairKind) => {
    const k = a.kinds.indexOf(kind);
    return k >= 0 && inT(d, k).known > 0;
  };
  a.nodes.forEach((node, d) => {
    const ag = node.agent;
    if (ag.connected) return;
    const goneFor = a.at - (ag.disconnectedAt ?? node.knownSince);
    // Probes that answer are the best witness; Kubernetes Ready only when the
    // node path does not say otherwise (Ready means the kubelet reaches the API
    // server, not that other nodes reach the node). Pod ICMP failing does not
    // contradict it: during a rollout the old pod IP is gone.
    const deadByProbe = pathData(d, 'node') && failsMost(d, 'node');
    const fine = answers(d, 'node') ? 'its node IP answers' : answers(d, 'icmp') ? 'its pod IP answers ICMP' : node.kube?.ready === true && !deadByProbe ? 'Kubernetes says it is Ready' : null;
    const noWitness = node.kube === null && !pathData(d, 'node');
    if (fine !== null) away.set(d, `${node.name}'s agent is away (${fine}): probes towards it say nothing about the network until it is back`);
    else if (noWitness && goneFor < (o.agentGraceMs ?? 0)) away.set(d, `${node.name}'s agent is away for ${Math.round(goneFor / 1000)}s and nothing else says whether the node is up (no node probes, no Kubernetes API): unknown for --agent-grace`);
  });
  // Explained cells: key s*n+d per kind position.
  const explained = new Set<number>();
  const key = (s: number, d: number, k: number) => (s * n + d) * K + k;
  const isExplained = (c: BadCell) => away.has(c.d) || explained.has(key(c.s, c.d, c.k));
  // Kinds still in the reasoning.
  const live = new Set(a.kinds.map((_, k) => k));

  // A tally over live kinds minus what is explained, from the target's (or source's) side.
  const awayIn = (s: number) => {
    // Cells from s towards away targets, per kind, to take out of s's out-tally.
    const out: Tally[] = a.kinds.map(() => newTally());
    for (const d of away.keys()) {
      for (let k = 0; k < K; k++) {
        const code = a.code(s, d, a.kinds[k]!);
        if (code !== 0) (out[k]!.known++, code === CODE_FAILING && out[k]!.failing++);
      }
    }
    return out;
  };

  // 1. Kinds failing across the cluster.
  const cluster = a.kinds.map((_, k) => {
    let known = 0;
    let failing = 0;
    a.nodes.forEach((_, d) => {
      if (away.has(d)) return;
      known += inT(d, k).known;
      failing += inT(d, k).failing;
    });
    return { known, failing };
  });
  const widelyFailing = (k: number) => {
    const t = cluster[k]!;
    let targets = 0;
    a.nodes.forEach((_, d) => {
      if (!away.has(d) && most(inT(d, k).failing, inT(d, k).known)) targets++;
    });
    return most(t.failing, t.known) && targets >= 2 && targets * 2 > n - away.size;
  };
  const failingKinds = a.kinds.map((_, k) => widelyFailing(k));
  const someKindWorks = a.kinds.some((_, k) => !failingKinds[k] && cluster[k]!.known > 0 && cluster[k]!.failing * 2 < cluster[k]!.known);
  if (someKindWorks) {
    const byProtocol = new Map<string, number[]>();
    failingKinds.forEach((bad, k) => {
      if (!bad) return;
      const p = PROTOCOL_OF[a.kinds[k]!];
      byProtocol.set(p, [...(byProtocol.get(p) ?? []), k]);
    });
    for (const ks of byProtocol.values()) {
      // The label is the protocol's first kind in the vocabulary's order (icmp before node, tcp before http), whatever --probe-kinds says.
      ks.sort((x, y) => PAIR_KINDS.indexOf(a.kinds[x]!) - PAIR_KINDS.indexOf(a.kinds[y]!));
      const first = a.kinds[ks[0]!]!;
      const lines = ks.map((k) => `${a.kinds[k]}: ${cluster[k]!.failing} of ${cluster[k]!.known} cells failing`).join('; ');
      const working = a.kinds.filter((_, k) => !failingKinds[k] && cluster[k]!.known > 0).join(', ');
      conditions.push({
        kind: 'ProbeKindFailing',
        subject: { kind: first },
        summary: `${ks.map((k) => a.kinds[k]).join(' and ')} probes fail across the cluster while ${working} probes work`,
        description: () =>
          `${lines}. ${outcomesLine(a, a.bad.filter((c) => ks.includes(c.k)))} One rule blocks one kind everywhere: a host firewall or security group rule, a NetworkPolicy selecting the agents` +
          `${first === 'node' ? ', or node probes planned without their node CIDRs in the agents\' NetworkPolicy (--probe-kinds, networkPolicy.nodeCidrs)' : ''}; the nodes themselves are reachable. Those kinds are left out of node and pair findings meanwhile.`,
      });
      for (const k of ks) live.delete(k);
    }
  }
  const liveKinds = [...live];

  // 2. Zone partitions.
  const z = a.zones.length;
  const zoneT = (za: number, zb: number) => {
    let known = 0;
    let failing = 0;
    for (const k of liveKinds) {
      const t = a.zoneTallies[k]![za * z + zb]!;
      known += t.known;
      failing += t.failing;
    }
    return { known, failing };
  };
  const partitioned = new Set<number>();
  for (let za = 0; za < z; za++) {
    for (let zb = za + 1; zb < z; zb++) {
      const ab = zoneT(za, zb);
      const ba = zoneT(zb, za);
      const inA = zoneT(za, za);
      const inB = zoneT(zb, zb);
      const cross = { known: ab.known + ba.known, failing: ab.failing + ba.failing };
      const sizeA = a.zoneOf.filter((x) => x === za).length;
      const sizeB = a.zoneOf.filter((x) => x === zb).length;
      if (sizeA < 2 || sizeB < 2 || !most(cross.failing, cross.known) || inA.known === 0 || inB.known === 0) continue;
      if (inA.failing * 2 > inA.known || inB.failing * 2 > inB.known) continue;
      partitioned.add(za * z + zb).add(zb * z + za);
      const [zs, zd] = [a.zones[za]!, a.zones[zb]!];
      conditions.push({
        kind: 'ZonePartition',
        subject: { src_zone: zs, dst_zone: zd },
        summary: `zones ${zs} and ${zd} can't reach each other: ${cross.failing} of ${cross.known} cells between them fail`,
        description: () =>
          `${zs}→${zd}: ${ab.failing}/${ab.known} cells failing; ${zd}→${zs}: ${ba.failing}/${ba.known}. Inside ${zs}: ${inA.failing}/${inA.known} failing; inside ${zd}: ${inB.failing}/${inB.known}. ` +
          `${outcomesLine(a, a.bad.filter((c) => partitioned.has(a.zoneOf[c.s]! * z + a.zoneOf[c.d]!)))}${sinceLine(a, a.bad.filter((c) => partitioned.has(a.zoneOf[c.s]! * z + a.zoneOf[c.d]!)), wall)}`,
      });
    }
  }
  if (partitioned.size > 0) {
    for (let i = 0; i < a.bad.length; i++) {
      const c = a.bad[i]!;
      if (c.k >= 0 && partitioned.has(a.zoneOf[c.s]! * z + a.zoneOf[c.d]!)) explained.add(key(c.s, c.d, c.k));
    }
  }

  // 3. Isolated and unreachable nodes, per independent path.
  /** Failing/known towards d for kind k, leaving out sources in `skip` and partitioned zone pairs. */
  const inOf = (d: number, k: number, skip: ReadonlySet<number>) => {
    const t = inT(d, k);
    let known = t.known;
    let failing = t.failing;
    for (const s of skip) {
      const code = a.code(s, d, a.kinds[k]!);
      if (code !== 0) (known--, code === CODE_FAILING && failing--);
    }
    const cells = badIn.get(d) ?? [];
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (c.k === k && c.code === CODE_FAILING && !skip.has(c.s) && explained.has(key(c.s, c.d, k))) (failing--, known--);
    }
    return { known, failing };
  };
  const pathsFailing = (d: number, skip: ReadonlySet<number>) => {
    const failing = new Map<string, number[]>();
    const withData = new Set<string>();
    for (const k of liveKinds) {
      const p = PATH_OF[a.kinds[k]!];
      const t = inOf(d, k, skip);
      if (t.known > 0) withData.add(p);
      if (most(t.failing, t.known)) failing.set(p, [...(failing.get(p) ?? []), k]);
    }
    return { failing, withData };
  };
  /**
   * Whether "most cells failing" can still hold for tally t once up to `less`
   * cells that are not failing are left out (leaving out failing ones only
   * makes it harder): a node with no such kind is skipped before the per-cell
   * reads of the steps below, which are cache misses at 1,000 nodes.
   */
  const mayFail = (t: Tally, less: number) => t.failing >= 2 && 2 * t.failing > t.known - less;
  const none = new Set<number>();
  const candidates = new Set<number>();
  a.nodes.forEach((_, d) => {
    if (!away.has(d) && liveKinds.some((k) => mayFail(inT(d, k), 0)) && pathsFailing(d, none).failing.size > 0) candidates.add(d);
  });
  const isolated = new Set<number>();
  a.nodes.forEach((_, s) => {
    if (!liveKinds.some((k) => mayFail(outT(s, k), away.size + candidates.size))) return;
    const awayOut = awayIn(s);
    let paths = 0;
    let withData = 0;
    const seen = new Set<string>();
    for (const k of liveKinds) {
      const t = outT(s, k);
      let known = t.known - awayOut[k]!.known;
      let failing = t.failing - awayOut[k]!.failing;
      for (const d of candidates) {
        if (d === s || away.has(d)) continue;
        const code = a.code(s, d, a.kinds[k]!);
        if (code !== 0) (known--, code === CODE_FAILING && failing--);
      }
      // Cells a zone partition explains are not the node's doing either.
      const cells = badOut.get(s) ?? [];
      for (let i = 0; i < cells.length; i++) {
        const c = cells[i]!;
        if (c.k !== k || c.code !== CODE_FAILING || candidates.has(c.d) || away.has(c.d) || !explained.has(key(c.s, c.d, k))) continue;
        known--;
        failing--;
      }
      const p = PATH_OF[a.kinds[k]!];
      if (known > 0 && !seen.has(`d${p}`)) (seen.add(`d${p}`), withData++);
      if (most(failing, known) && !seen.has(p)) (seen.add(p), paths++);
    }
    if (paths >= 2 || (paths === 1 && withData === 1)) isolated.add(s);
  });
  const downTargets = new Set<number>();
  for (const x of isolated) {
    conditions.push({
      kind: 'NodeIsolated',
      subject: { node: name(x) },
      summary: `${name(x)} can't reach most other nodes`,
      description: () =>
        `${name(x)} fails to reach most nodes that others reach. Its agent still reports, so the aggregator's path to it works. ${outcomesLine(a, badOut.get(x) ?? [])}${sinceLine(a, badOut.get(x) ?? [], wall)}`,
    });
    for (const c of [...(badOut.get(x) ?? []), ...(badIn.get(x) ?? [])]) explained.add(key(c.s, c.d, c.k));
    downTargets.add(x);
  }
  a.nodes.forEach((node, d) => {
    if (isolated.has(d) || away.has(d) || !liveKinds.some((k) => mayFail(inT(d, k), isolated.size))) return;
    const { failing, withData } = pathsFailing(d, isolated);
    if (failing.size === 0) return;
    const notReady = node.kube?.ready === false;
    const agent = node.agent;
    const cells = (badIn.get(d) ?? []).filter((c) => !isolated.has(c.s));
    const kindsFailing = [...failing.values()].flat();
    const nodePath = withData.has('node');
    const podPaths = ['pod', 'responder'].filter((p) => failing.has(p)).length;
    const agentLine = !agent.connected
      ? ` ${name(d)}'s agent is not connected either${agent.disconnectedAt !== null ? ` (since ${iso(wall(agent.disconnectedAt))})` : ''}.`
      : ` ${name(d)}'s agent reports normally.`;
    const count = () => {
      const k = kindsFailing[0]!;
      return inOf(d, k, isolated);
    };
    const explain = (kinds: readonly number[]) => {
      for (const c of cells) if (kinds.includes(c.k)) explained.add(key(c.s, c.d, c.k));
    };
    // Unreachable means nothing reaches it: every independent path with data
    // fails (a host firewall dropping all ICMP fails two paths while TCP
    // answers: that is ProbeKindFailing, not a dead node), or Kubernetes says
    // NotReady; with a single path, only when its agent is gone too.
    const allPaths = failing.size === withData.size && (withData.size >= 2 || !agent.connected);
    if (allPaths || (notReady && failing.size >= 1)) {
      const t = count();
      downTargets.add(d);
      conditions.push({
        kind: 'NodeUnreachable',
        subject: { node: name(d) },
        summary: notReady ? `${name(d)} is NotReady and unreachable from ${t.failing} of ${t.known} nodes` : `${name(d)} is unreachable from ${t.failing} of ${t.known} nodes`,
        description: () =>
          `${outcomesLine(a, cells)}${agentLine}${notReady ? ` Kubernetes reports ${name(d)} NotReady: its kubelet stopped posting status (node down, kubelet dead, or cut off from the API server).` : ''}${sinceLine(a, cells, wall)}`,
      });
      explain(liveKinds);
    } else if (podPaths === 2 && nodePath && !failing.has('node')) {
      const t = count();
      downTargets.add(d);
      conditions.push({
        kind: 'PodNetworkUnreachable',
        subject: { node: name(d) },
        summary: `pods on ${name(d)} are unreachable from ${t.failing} of ${t.known} nodes, while its node IP answers`,
        description: () =>
          `${outcomesLine(a, cells)} The node answers on its node IP, so it is up: the pod network on ${name(d)} is broken (CNI plugin or agent, veth, bridge or overlay, routes to its pod CIDR).${agentLine}${sinceLine(a, cells, wall)}`,
      });
      explain(liveKinds);
    } else {
      // One finding per protocol: ICMP to the pod and to the node IP blocked together is one rule.
      const byProtocol = new Map<string, number[]>();
      for (const k of kindsFailing) byProtocol.set(PROTOCOL_OF[a.kinds[k]!], [...(byProtocol.get(PROTOCOL_OF[a.kinds[k]!]) ?? []), k]);
      for (const ks of byProtocol.values()) {
        ks.sort((x, y) => PAIR_KINDS.indexOf(a.kinds[x]!) - PAIR_KINDS.indexOf(a.kinds[y]!));
        const kind = a.kinds[ks[0]!]!;
        const t = inOf(d, ks[0]!, isolated);
        const mine = cells.filter((c) => ks.includes(c.k));
        conditions.push({
          kind: 'ProbeKindFailing',
          subject: { kind, node: name(d) },
          summary: `${ks.map((k) => a.kinds[k]).join(' and ')} probes towards ${name(d)} fail from ${t.failing} of ${t.known} nodes; other probes reach it`,
          description: () =>
            `${outcomesLine(a, mine)}${agentLine} The node is up (other kinds reach it): ${PROTOCOL_OF[kind] === 'tcp' ? `a firewall rule or NetworkPolicy on ${name(d)} blocks the agent's responder port, or its responder is not listening` : ks.length > 1 ? `ICMP to ${name(d)} is blocked (a host firewall or security group dropping ICMP) while TCP passes` : PATH_OF[kind] === 'node' ? `ICMP to ${name(d)}'s node IP is blocked (host firewall, security group), or its node IP is wrong` : `ICMP to its pod is blocked (NetworkPolicy, host firewall) while TCP passes`}.${sinceLine(a, mine, wall)}`,
        });
        explain(ks);
      }
    }
  });

  // 4. Loss pooled over each node's cells, and latency towards or from most peers.
  // Not the node's loss: failing cells (outages, which the steps above or the
  // pair step say) and non-ok cells between it and a node named down or
  // isolated, or whose agent is away.
  const gone = new Set([...downTargets, ...away.keys()]);
  // Judged over the whole loss window and over its most recent buckets: a
  // node that starts losing is named before its loss fills the window.
  const pooled = (x: number) => {
    const full = { samples: 0, failures: 0 };
    const recent = { samples: 0, failures: 0 };
    for (const k of liveKinds) {
      const st = a.stats[k]![x]!;
      full.samples += st.in.samples + st.out.samples;
      full.failures += st.in.failedSamples + st.out.failedSamples;
      recent.samples += st.in.recentSamples + st.out.recentSamples;
      recent.failures += st.in.recentFailures + st.out.recentFailures;
    }
    for (const cells of [badOut.get(x) ?? [], badIn.get(x) ?? []]) {
      for (let i = 0; i < cells.length; i++) {
        const c = cells[i]!;
        if (!live.has(c.k) || (c.code !== CODE_FAILING && !gone.has(c.s === x ? c.d : c.s))) continue;
        full.samples -= c.lossSamples;
        full.failures -= c.lossFailures;
        recent.samples -= c.recentSamples;
        recent.failures -= c.recentFailures;
      }
    }
    return { full, recent };
  };
  /** The stronger of the two windows: the one whose lower bound is higher. */
  const judged = (p: ReturnType<typeof pooled>) => (wilsonLower(p.recent.failures, p.recent.samples) > wilsonLower(p.full.failures, p.full.samples) ? { ...p.recent, window: 'the last minutes of the loss window' } : { ...p.full, window: 'the loss window' });
  const lossyNodes: number[] = [];
  const order = a.nodes.map((_, x) => x).filter((x) => !downTargets.has(x) && !away.has(x));
  const ranked = order
    .map((x) => {
      const j = judged(pooled(x));
      return { x, lb: wilsonLower(j.failures, j.samples) };
    })
    .filter((r) => r.lb >= o.degradedLoss)
    .sort((p, q) => q.lb - p.lb);
  for (const { x } of ranked) {
    // Leave out the cells shared with nodes already named: their loss is explained.
    const q = pooled(x);
    for (const y of lossyNodes) {
      for (const [s, d] of [[x, y], [y, x]] as const) {
        const l = a.pairLoss(s, d, liveKinds, true); // failing cells are taken out already
        q.full.samples -= l.samples;
        q.full.failures -= l.failures;
        q.recent.samples -= l.recentSamples;
        q.recent.failures -= l.recentFailures;
      }
    }
    const p = judged(q);
    if (!lossy(p.failures, p.samples, o.degradedLoss)) continue;
    lossyNodes.push(x);
    const dirs = liveKinds
      .map((k) => {
        const i = inT(x, k);
        const out = outT(x, k);
        return `${a.kinds[k]}: ${i.samples ? pct(i.failedSamples / i.samples) : '-'} of ${i.samples} towards it, ${out.samples ? pct(out.failedSamples / out.samples) : '-'} of ${out.samples} from it`;
      })
      .join('; ');
    conditions.push({
      kind: 'PacketLoss',
      subject: { node: name(x) },
      summary: `packet loss to and from ${name(x)}: ${pct(p.failures / p.samples)} of ${p.samples} probes`,
      description: `Lost over ${p.window}, pooled over every cell of ${name(x)} (at least ${pct(wilsonLower(p.failures, p.samples))} with 99 % confidence); over the whole loss window: ${dirs}. Loss on most of a node's paths points at the node: its NIC, its link, its CPU (softirq), or its CNI datapath.`,
    });
  }
  const lossyNode = new Set(lossyNodes);
  const slowNodes = new Set<number>();
  a.nodes.forEach((node, x) => {
    if (downTargets.has(x) || away.has(x)) return;
    let inK = 0;
    let inS = 0;
    let outK = 0;
    let outS = 0;
    for (const k of liveKinds) {
      inK += inT(x, k).known;
      inS += inT(x, k).slow;
      outK += outT(x, k).known;
      outS += outT(x, k).slow;
    }
    const towards = most(inS, inK);
    const from = most(outS, outK);
    if (!towards && !from) return;
    slowNodes.add(x);
    const rtt = liveKinds
      .map((k) => {
        const st = a.stats[k]![x]!;
        return st.rttP50Ms === null ? null : `${a.kinds[k]}: RTT p50 ${st.rttP50Ms.toFixed(1)} ms, p99 ${st.rttP99Ms?.toFixed(1)} ms`;
      })
      .filter(Boolean)
      .join('; ');
    conditions.push({
      kind: 'HighLatency',
      subject: { node: node.name },
      summary: `high latency ${towards && from ? 'to and from' : towards ? 'towards' : 'from'} ${node.name}`,
      description: `${[towards && `${inS} of ${inK} cells towards ${node.name} are slow`, from && `${outS} of ${outK} cells from ${node.name} are slow`].filter(Boolean).join('; ')} (threshold ${o.latencyThresholdMs} ms). ${rtt}`,
    });
  });

  // 5. Pairs.
  // The non-ok cells still unexplained, grouped by pair: sorted by pair (there
  // can be tens of thousands), then one slice per pair.
  const open = a.bad.filter((c) => c.k >= 0 && live.has(c.k) && !isExplained(c));
  const ordered = orderBy(open, (c) => c.s * n + c.d, n * n);
  // One pair at a time: ordered[i, j) are its cells. Counted in place; arrays only for a condition.
  for (let i = 0, j = 0; i < ordered.length; i = j) {
    const { s, d } = ordered[i]!;
    let failing = 0;
    let lossyCells = 0;
    let slowCells = 0;
    let explicitAnswer = false;
    let sustained = 0;
    let silent = false;
    for (j = i; j < ordered.length && ordered[j]!.s === s && ordered[j]!.d === d; j++) {
      const c = ordered[j]!;
      if (c.code === CODE_LOSSY) lossyCells++;
      else if (c.code === CODE_SLOW) slowCells++;
      if (c.code !== CODE_FAILING) continue;
      failing++;
      // Evidence that pages: an answer from the path (refused, unreachable…),
      // two kinds failing for two rounds in a row, or one kind silent for a long
      // run. A single round in which two kinds time out together happens to
      // ~150 pairs a round at 1,000 nodes with 0.5 % background loss.
      if (c.run > 0 && c.lastOutcome !== null && c.lastOutcome !== 'timeout' && c.lastOutcome !== 'error') explicitAnswer = true;
      if (c.run >= CONFIRMING_RUN) sustained++;
      if (c.run >= PAIR_SILENT_RUN) silent = true;
    }
    const evidence = explicitAnswer || sustained >= 2 || silent;
    // Timeouts alone on a pair with a node already named lossy are that node's loss.
    const byLossyNode = !explicitAnswer && (lossyNode.has(s) || lossyNode.has(d));
    if (failing > 0 && evidence && !byLossyNode) {
      const failingCells = ordered.slice(i, j).filter((c) => c.code === CODE_FAILING);
      conditions.push({
        kind: 'PairUnreachable',
        subject: { src: name(s), dst: name(d) },
        summary: `${name(s)} can't reach ${name(d)} (${failingCells.map((c) => c.kind).join(', ')})`,
        description: () => `${pairLine(a, s, d, liveKinds)}${sinceLine(a, failingCells, wall)}`,
        rank: 1000 + failingCells.length,
      });
      continue;
    }
    if (failing > 0) continue;
    if (lossyCells > 0 && !lossyNode.has(s) && !lossyNode.has(d)) {
      const { samples, failures } = a.pairLoss(s, d, liveKinds, false);
      // Pooled over the pair's kinds: a chance run of losses on one kind is not the path's loss.
      if (samples >= PAIR_MIN_LOSS_SAMPLES && lossy(failures, samples, o.degradedLoss, PAIR_WILSON_Z)) {
        conditions.push({
          kind: 'PacketLoss',
          subject: { src: name(s), dst: name(d) },
          summary: `packet loss from ${name(s)} to ${name(d)}: ${pct(failures / samples)} of ${samples} probes`,
          description: () => `${pairLine(a, s, d, liveKinds)} Pooled over the pair's kinds: at least ${pct(wilsonLower(failures, samples, PAIR_WILSON_Z))} with 99.98 % confidence.`,
          rank: 100 + wilsonLower(failures, samples, PAIR_WILSON_Z) * 100,
        });
      }
    }
    if (slowCells > 0 && !slowNodes.has(s) && !slowNodes.has(d)) {
      conditions.push({
        kind: 'HighLatency',
        subject: { src: name(s), dst: name(d) },
        summary: `high latency from ${name(s)} to ${name(d)}`,
        description: () => pairLine(a, s, d, liveKinds),
        rank: 10 + slowCells,
      });
    }
  }

  // 6. Agents.
  a.nodes.forEach((node, i) => {
    if (downTargets.has(i)) return;
    const ag = node.agent;
    const goneFor = a.at - (ag.disconnectedAt ?? node.knownSince);
    if (!ag.connected && goneFor >= (o.agentGraceMs ?? 0)) {
      const notReady = node.kube?.ready === false ? ` Kubernetes reports ${node.name} NotReady.` : '';
      conditions.push({
        kind: 'AgentMissing',
        subject: { node: node.name },
        summary: `no netmatrix agent is connected on ${node.name}`,
        description:
          ag.disconnectedAt !== null
            ? `${node.name}'s agent disconnected at ${iso(wall(ag.disconnectedAt))} (${ago(goneFor)} ago) and has not come back; probes from it are missing${away.has(i) ? `, and probes towards it are unknown: ${away.get(i)}` : ''}.${notReady}`
            : node.kube
              ? `Kubernetes lists ${node.name} (since ${ago(goneFor)} ago) but no netmatrix agent on it has connected: is the DaemonSet pod scheduled there (taints, node selector), pulling its image, or crash-looping?${notReady}`
              : `${node.name} is known but its agent never connected to this aggregator.`,
      });
    } else if (ag.connected && a.at - (ag.lastReportAt ?? ag.connectedSince ?? a.at) > o.staleAfterMs) {
      conditions.push({
        kind: 'AgentStale',
        subject: { node: node.name },
        summary: `${node.name}'s agent is connected but sends no reports`,
        description: `No report from ${node.name} for ${ago(a.at - (ag.lastReportAt ?? ag.connectedSince ?? a.at))} (stale after ${o.staleAfterMs / 1000}s); its stream is open since ${iso(wall(ag.connectedSince ?? a.at))}. The agent may be stuck or starved of CPU.`,
      });
    }
  });
  return { conditions, away };
}

/** "tcp: refused 3/3; icmp: ok" for the cells of a pair, kind by kind. */
function pairLine(a: Assessment, s: number, d: number, kinds: readonly number[]): string {
  return `${kinds
    .map((k) => {
      const v = a.view(s, d, a.kinds[k]!);
      if (!v || v.status === 'unknown') return null;
      const what = v.status === 'ok' ? 'ok' : v.status === 'failing' ? `failing (${v.lastOutcome})` : v.degradedBy === 'latency' ? `slow (p50 ${v.rttP50Ms} ms)` : `lossy (${pct(v.lossRatio ?? 0)} of ${v.lossSamples})`;
      return `${a.kinds[k]}: ${what}`;
    })
    .filter(Boolean)
    .join('; ')}.`;
}

/**
 * Per kind, how the given non-ok cells ended: "tcp: refused 3, timeout 1;
 * icmp: lossy 1". Telling ICMP-ok-but-TCP-refused from all-timeout is most of
 * the diagnosis. Reads at most 64 cells per kind.
 */
export function outcomesLine(a: Assessment, cells: readonly BadCell[]): string {
  const parts: string[] = [];
  a.kinds.forEach((kind, k) => {
    const mine = cells.filter((c) => c.k === k);
    if (mine.length === 0) return;
    const words = new Map<string, number>();
    for (const c of mine.slice(0, 64)) {
      const v = c.code === CODE_FAILING ? a.view(c.s, c.d, kind) : undefined;
      const w = c.code === CODE_FAILING ? (v?.lastOutcome && v.lastOutcome !== 'ok' ? v.lastOutcome : 'failing (loss)') : c.code === CODE_LOSSY ? 'lossy' : 'slow';
      words.set(w, (words.get(w) ?? 0) + 1);
    }
    const more = mine.length > 64 ? ` (of ${mine.length}, 64 read)` : '';
    parts.push(`${kind}: ${[...words].sort((x, y) => y[1] - x[1]).map(([w, c]) => `${w} ${c}`).join(', ')}${more}`);
  });
  return parts.length ? `${parts.join('; ')}.` : 'No fresh failing probe results.';
}

/** " Since <time>." from the earliest start of the current outcome among (at most 64) failing cells. */
function sinceLine(a: Assessment, cells: readonly BadCell[], wall: (ms: number) => number): string {
  let since = Infinity;
  for (const c of cells.slice(0, 64)) {
    const v = a.view(c.s, c.d, c.kind);
    if (v?.since != null && v.since < since) since = v.since;
  }
  void wall;
  return Number.isFinite(since) ? ` Since ${iso(since)}.` : '';
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

function iso(ms: number | null): string {
  return ms === null ? 'unknown' : new Date(ms).toISOString();
}

