// DNS health from the DNS store: the node × server table of GET /api/v1/dns,
// the replicas' answers compared, each node's resolver, and the conditions the
// findings engine turns into DnsFailing, DnsReplicaUnhealthy and DnsLatencyHigh.
// Localization, narrowest explanation first (docs/findings.md):
//   1. a replica that fails, is slow, answers differently from the others, or
//      answers a name that must not exist, from most nodes while another
//      replica is fine: DnsReplicaUnhealthy names it;
//   2. the service (or NodeLocal) address failing from a node is explained by
//      such a replica when that node still reaches a healthy replica directly
//      (kube-proxy sends part of its queries to the bad one); what is left is
//      DnsFailing for the node, or for the server when most nodes fail;
//   3. the same for latency: DnsLatencyHigh per node, or per server;
//   4. the TCP check (the first name over TCP each round) failing where UDP
//      answers: a replica when the others answer over TCP, else DnsFailing
//      for the front address, server-wide or per node.
import { lookupCost, type LookupCost, type ResolvConf } from '../../common/resolv-conf.js';
import type { Outcome, Status } from '../../common/vocabulary.js';
import type { Condition } from '../localize/localize.js';
import { most } from '../localize/localize.js';
import { pct } from '../matrix/rule.js';
import type { NodeRecord, ResolverInfo } from '../nodes/registry.js';
import type { DnsQuestion, DnsServerSpec } from './servers.js';
import type { DnsStore, NxCheck } from './store.js';

export interface DnsAssessOptions {
  readonly latencyThresholdMs: number;
  readonly degradedLoss: number;
  readonly windowMs: number;
  readonly clusterDomain: string;
  readonly questions: readonly DnsQuestion[];
}

export interface DnsCell {
  readonly status: Status;
  readonly reason: string;
  readonly degradedBy?: 'loss' | 'latency' | undefined;
  /** The address this node asked (an "auto" service is each node's resolv.conf nameserver). */
  readonly address: string | null;
  /** Failed queries / queries in the window. */
  readonly errorRatio: number | null;
  /** Failed queries in the window by outcome. */
  readonly errors: Readonly<Partial<Record<Outcome, number>>>;
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly lastOutcome: Outcome | null;
  readonly since: number | null;
  readonly samples: number;
  /** The last "must not exist" check: ok when the server said NXDOMAIN. */
  readonly nxCheck: CheckView | null;
  /** The last TCP check (the first name over TCP): ok when it resolved. Not part of the cell's status, which is UDP's. */
  readonly tcpCheck: CheckView | null;
}

export interface CheckView {
  readonly lastOutcome: Outcome;
  readonly ok: boolean;
  readonly since: number;
}

export interface DnsServerInfo {
  readonly name: string;
  readonly role: DnsServerSpec['role'];
  /** "auto" for a service server whose address is each agent's resolv.conf nameserver. */
  readonly address: string;
  readonly port: number;
}

export interface AnswerComparison {
  readonly name: string;
  readonly type: 'A' | 'AAAA';
  /** Per server, the answer most nodes got in the window (sorted addresses), null when none. */
  readonly servers: Readonly<Record<string, readonly string[] | null>>;
  /** The answer of the largest group of replicas, null without a strict largest group. */
  readonly consensus: readonly string[] | null;
  /** Replicas whose answer is not the consensus (every answering replica when there is none). */
  readonly divergent: readonly string[];
}

export interface ResolverReport extends ResolverInfo {
  readonly node: string;
  /** False when the first nameserver is not a DNS server this aggregator knows; null without a resolver view. */
  readonly nameserverKnown: boolean | null;
  /** What one lookup of a short name costs with this resolv.conf (A and AAAA per name tried). */
  readonly lookups: readonly LookupCost[];
}

export interface ServerTally {
  readonly server: string;
  readonly role: DnsServerSpec['role'];
  readonly ok: number;
  readonly degraded: number;
  readonly failing: number;
  readonly unknown: number;
}

export interface DnsAssessment {
  /** When it was computed (wall-clock ms: `now` through the store's toWall). */
  readonly at: number;
  readonly nodes: readonly string[];
  readonly servers: readonly DnsServerInfo[];
  /** Row = node, column = server. */
  readonly cells: readonly (readonly DnsCell[])[];
  readonly answers: readonly AnswerComparison[];
  readonly resolvers: readonly ResolverReport[];
  readonly tallies: readonly ServerTally[];
  readonly conditions: readonly Condition[];
}

/** What the aggregator keeps of an agent's resolv.conf (from its Hello); `error` when the agent could not read it. */
/** The median of fewer answers than this says little (a cold start, one slow reply): latency is not judged yet. */
export const MIN_LATENCY_SAMPLES = 3;

/** A name people look up from a pod that is not in the cluster: what ndots costs it. */
const EXTERNAL_EXAMPLE = 'example.com';

const UNKNOWN_CELL: DnsCell = Object.freeze({
  status: 'unknown',
  reason: 'no DNS results from this node yet',
  address: null,
  errorRatio: null,
  errors: {},
  latencyP50Ms: null,
  latencyP99Ms: null,
  lastOutcome: null,
  since: null,
  samples: 0,
  nxCheck: null,
  tcpCheck: null,
});

export function assessDns(nodes: readonly NodeRecord[], store: DnsStore, now: number, o: DnsAssessOptions): DnsAssessment {
  const columns = store.columns();
  const servers = columns.map((c) => c.spec);
  const cells = nodes.map((n) => columns.map((c) => dnsCell(store, n.index, c.slot, now, o)));
  const answers = compareAnswers(nodes, store, now, o);
  const tallies = servers.map((s, j) => {
    const t = { server: s.name, role: s.role, ok: 0, degraded: 0, failing: 0, unknown: 0 };
    for (const row of cells) t[row[j]!.status]++;
    return t;
  });
  return {
    at: store.options.toWall ? store.options.toWall(now) : now,
    nodes: nodes.map((n) => n.name),
    servers: servers.map((s) => ({ name: s.name, role: s.role, address: s.address || 'auto', port: s.port })),
    cells,
    answers,
    resolvers: resolvers(nodes, servers, o),
    tallies,
    conditions: localizeDns(nodes, servers, cells, answers, o),
  };
}

/** A cell's status is the store's, by the cell rule shared with the matrix (matrix/rule.ts); this adds what DNS shows besides. */
export function dnsCell(store: DnsStore, src: number, dst: number, now: number, _o?: Pick<DnsAssessOptions, 'latencyThresholdMs' | 'degradedLoss'>): DnsCell {
  const view = store.view(src, dst, now);
  // Check times are kept on the store's (monotonic) clock; shown in wall-clock ms, as the view's are.
  const wall = store.options.toWall ?? ((ms: number) => ms);
  const check = (c: NxCheck | undefined, good: Outcome): CheckView | null => (c && now - c.at <= store.options.windowMs ? { lastOutcome: c.outcome, ok: c.outcome === good, since: wall(c.since) } : null);
  const nxCheck = check(store.nxCheck(src, dst), 'nxdomain');
  const tcpCheck = check(store.tcpCheck(src, dst), 'ok');
  if (!view) return nxCheck || tcpCheck ? { ...UNKNOWN_CELL, nxCheck, tcpCheck } : UNKNOWN_CELL;
  const samples = store.samples(src, dst);
  const errors: Partial<Record<Outcome, number>> = {};
  for (const s of samples) if (s.outcome !== 'ok') errors[s.outcome] = (errors[s.outcome] ?? 0) + 1;
  const base = {
    address: store.address(src, dst)?.ip ?? null,
    errorRatio: view.lossRatio,
    errors,
    latencyP50Ms: view.rttP50Ms,
    latencyP99Ms: view.rttP99Ms,
    lastOutcome: view.lastOutcome,
    since: view.since,
    samples: view.samples,
    nxCheck,
    tcpCheck,
  };
  if (view.status === 'unknown' || view.status === 'ok') return { ...base, status: view.status, reason: view.reason };
  return { ...base, status: view.status, degradedBy: view.degradedBy, reason: `${view.reason}; ${errorSummary(errors, samples.length)}` };
}

function errorSummary(errors: Partial<Record<Outcome, number>>, total: number): string {
  const parts = Object.entries(errors).map(([k, v]) => `${k} ${v}/${total}`);
  return parts.length > 0 ? parts.join(', ') : `no errors in ${total}`;
}

function compareAnswers(nodes: readonly NodeRecord[], store: DnsStore, now: number, o: DnsAssessOptions): AnswerComparison[] {
  const from = now - o.windowMs;
  return o.questions.map((q) => {
    const byServer: Record<string, readonly string[] | null> = {};
    for (const s of store.servers) {
      const votes = new Map<string, { answers: readonly string[]; n: number }>();
      for (const node of nodes) {
        const a = store.answer(node.index, s.name, q.name, q.type);
        if (!a || a.at < from) continue;
        const key = a.answers.join(',');
        const v = votes.get(key);
        if (v) v.n++;
        else votes.set(key, { answers: a.answers, n: 1 });
      }
      byServer[s.name] = [...votes.values()].sort((x, y) => y.n - x.n)[0]?.answers ?? null;
    }
    // Only replicas vote: the service address answers with whichever replica kube-proxy picked.
    const groups = new Map<string, string[]>();
    for (const s of store.servers) {
      const a = byServer[s.name];
      if (s.role !== 'replica' || !a) continue;
      const key = a.join(',');
      groups.set(key, [...(groups.get(key) ?? []), s.name]);
    }
    const ranked = [...groups.entries()].sort((x, y) => y[1].length - x[1].length);
    const top = ranked[0];
    const strict = top !== undefined && (ranked[1] === undefined || ranked[1][1].length < top[1].length);
    const consensus = strict ? byServer[top[1][0]!]! : null;
    const divergent = ranked.length <= 1 ? [] : ranked.flatMap(([, names], i) => (strict && i === 0 ? [] : names));
    return { name: q.name, type: q.type, servers: byServer, consensus, divergent };
  });
}

function resolvers(nodes: readonly NodeRecord[], servers: readonly DnsServerSpec[], o: DnsAssessOptions): ResolverReport[] {
  // Known: every configured address; with an "auto" service, also the first
  // nameserver most nodes have (a node that differs is worth a look).
  const known = new Set(servers.filter((s) => s.address !== '').map((s) => s.address));
  if (servers.some((s) => s.address === '')) {
    const counts = new Map<string, number>();
    for (const n of nodes) {
      const first = n.agent.resolver?.nameservers[0];
      if (first) counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (top) known.add(top[0]);
  }
  const shortNames = new Set<string>();
  for (const q of o.questions) {
    const suffix = [`.svc.${o.clusterDomain}`, `.${o.clusterDomain}`].find((x) => q.name.endsWith(x));
    shortNames.add(suffix ? q.name.slice(0, -suffix.length) : q.name);
  }
  const fqdns = new Set(o.questions.map((q) => q.name));
  const out: ResolverReport[] = [];
  for (const n of nodes) {
    const r = n.agent.resolver;
    if (!r) continue;
    const lookups = r.error
      ? []
      : [
          ...[...shortNames].map((name) => lookupCost(name, r, (fqdn) => fqdns.has(fqdn))),
          lookupCost(EXTERNAL_EXAMPLE, r, (fqdn) => fqdn === EXTERNAL_EXAMPLE),
        ];
    out.push({
      node: n.name,
      ...r,
      nameserverKnown: r.nameservers[0] === undefined ? null : known.has(r.nameservers[0]),
      lookups,
    });
  }
  return out;
}

function localizeDns(nodes: readonly NodeRecord[], servers: readonly DnsServerSpec[], cells: readonly (readonly DnsCell[])[], answers: readonly AnswerComparison[], o: DnsAssessOptions): Condition[] {
  const conditions: Condition[] = [];
  const column = (j: number) => cells.map((row) => row[j]!);
  const known = (j: number) => column(j).filter((c) => c.status !== 'unknown').length;
  const count = (j: number, pred: (c: DnsCell) => boolean) => column(j).filter(pred).length;
  const bad = (c: DnsCell) => c.status === 'failing' || c.status === 'degraded';
  const replicas = servers.map((s, j) => ({ s, j })).filter((x) => x.s.role === 'replica');

  // 1. Replicas.
  const reasons = new Map<number, string[]>();
  const add = (j: number, why: string) => reasons.set(j, [...(reasons.get(j) ?? []), why]);
  const healthy = new Set(replicas.filter(({ j }) => most(count(j, (c) => c.status === 'ok'), known(j)) || (known(j) === 1 && count(j, (c) => c.status === 'ok') === 1)).map(({ j }) => j));
  for (const { s, j } of replicas) {
    const k = known(j);
    const nBad = count(j, bad);
    const othersFine = [...healthy].some((h) => h !== j);
    if (othersFine && most(nBad, k)) {
      const failing = count(j, (c) => c.status === 'failing');
      const slow = count(j, (c) => c.degradedBy === 'latency');
      const p50s = column(j).flatMap((c) => (c.latencyP50Ms === null ? [] : [c.latencyP50Ms]));
      const others = [...healthy].filter((h) => h !== j).flatMap((h) => column(h).flatMap((c) => (c.latencyP50Ms === null ? [] : [c.latencyP50Ms])));
      const what = failing * 2 > nBad ? `fails from ${failing} of ${k} nodes (${outcomesOf(column(j))})` : slow * 2 > nBad ? `is slow from ${slow} of ${k} nodes (p50 ${median(p50s)} ms; healthy replicas ${median(others)} ms)` : `has errors from ${nBad} of ${k} nodes (${outcomesOf(column(j))})`;
      add(j, what);
    }
  }
  // A wrong "yes" needs no healthy peer to compare with, and is wrong from any server, replica or not.
  for (const [j] of servers.entries()) {
    const nxBad = column(j).filter((c) => c.nxCheck && !c.nxCheck.ok && c.nxCheck.lastOutcome === 'ok').length;
    if (most(nxBad, column(j).filter((c) => c.nxCheck).length) || (nxBad === 1 && nodes.length === 1)) {
      add(j, `answers NOERROR for a name that must not exist (from ${nxBad} nodes): a wildcard or a hijacking upstream`);
    }
  }
  // UDP answers but TCP does not (a policy or firewall allowing only UDP 53): every answer too large for UDP fails.
  const tcpOnlyBad = (c: DnsCell) => c.tcpCheck !== null && !c.tcpCheck.ok && (c.status === 'ok' || c.status === 'degraded');
  const tcpWhy = (j: number, n: number) => `answers over UDP but not over TCP from ${n} of ${known(j)} nodes (${tcpOutcomes(column(j))}): answers too large for UDP (truncated) fail`;
  const tcpFine = (j: number) => most(count(j, (c) => c.tcpCheck?.ok === true), known(j));
  for (const { j } of replicas) {
    const n = count(j, tcpOnlyBad);
    // With every replica's TCP gone it is the path, not a replica: the service's DnsFailing says it once.
    if (most(n, known(j)) && replicas.some((r) => r.j !== j && tcpFine(r.j))) add(j, tcpWhy(j, n));
  }
  for (const a of answers) {
    for (const name of a.divergent) {
      const j = servers.findIndex((s) => s.name === name);
      const mine = a.servers[name]?.join(', ') || '(empty)';
      add(j, a.consensus ? `answers ${a.name} ${a.type} with ${mine}, other replicas with ${a.consensus.join(', ') || '(empty)'}` : `replicas disagree on ${a.name} ${a.type}: ${divergence(a)}`);
    }
  }
  for (const [j, why] of [...reasons.entries()].sort((x, y) => x[0] - y[0])) {
    const s = servers[j]!;
    const what = ROLE_WORDS[s.role];
    const address = s.address || 'each node\'s resolv.conf nameserver';
    conditions.push({
      kind: 'DnsReplicaUnhealthy',
      subject: { server: s.name },
      summary: `DNS ${what} ${s.name} (${address}) ${why[0]}`,
      description: `DNS ${what} ${s.name} at ${address}${s.port === 53 ? '' : `:${s.port}`}: ${why.join('; ')}. ${s.role === 'replica' ? 'Pods reach it through the DNS service, so some of their lookups fail, wait or get a wrong answer.' : 'Pods ask it for every lookup.'}`,
    });
  }
  const unhealthy = new Set([...reasons.keys()].filter((j) => servers[j]!.role === 'replica'));

  // Does node i still reach a healthy replica directly? Then its trouble through a front address is the bad replica's.
  const explained = (i: number) => unhealthy.size > 0 && [...healthy].some((h) => !unhealthy.has(h) && cells[i]![h]!.status !== 'failing' && cells[i]![h]!.status !== 'unknown');
  const replicaLine = (i: number) => replicas.map(({ s, j }) => `${s.name} ${cells[i]![j]!.lastOutcome ?? 'no result'}`).join(', ');

  // 2 and 3. Front addresses: the service IP, NodeLocal DNSCache.
  const tcpConditions: Condition[] = [];
  for (const [j, s] of servers.entries()) {
    if (s.role === 'replica') continue;
    const k = known(j);
    const address = s.address || 'its resolv.conf nameserver';
    const failing = nodes.flatMap((n, i) => (cells[i]![j]!.status === 'failing' && !explained(i) ? [i] : []));
    if (most(failing.length, k)) {
      conditions.push({
        kind: 'DnsFailing',
        subject: { server: s.name },
        summary: `DNS through ${s.name} (${address}) fails from ${failing.length} of ${k} nodes`,
        description: `Queries to ${s.name} at ${address} fail from ${failing.length} of ${k} nodes (${outcomesOf(failing.map((i) => cells[i]![j]!))}). Replicas asked directly: ${replicas.length > 0 ? replicaLine(failing[0]!) : 'none configured'}.`,
      });
    } else {
      for (const i of failing) {
        const c = cells[i]![j]!;
        const direct = replicas.length === 0 ? '' : replicas.some(({ j: r }) => cells[i]![r]!.status === 'ok') ? ` Replicas answer this node directly (${replicaLine(i)}): suspect the service path on the node (kube-proxy rules, conntrack).` : ` Replicas fail from this node too (${replicaLine(i)}): suspect the node's network or a policy dropping DNS.`;
        conditions.push({
          kind: 'DnsFailing',
          subject: { node: nodes[i]!.name },
          summary: `${nodes[i]!.name} cannot resolve through ${s.name} (${c.address ?? address}): ${c.lastOutcome}`,
          description: `${c.reason}.${direct} Other nodes resolve normally.`,
        });
      }
    }
    const slow = nodes.flatMap((n, i) => (cells[i]![j]!.degradedBy === 'latency' && !explained(i) ? [i] : []));
    if (most(slow.length, k)) {
      conditions.push({
        kind: 'DnsLatencyHigh',
        subject: { server: s.name },
        summary: `DNS through ${s.name} is slow from ${slow.length} of ${k} nodes (p50 ${median(slow.map((i) => cells[i]![j]!.latencyP50Ms!))} ms > ${o.latencyThresholdMs} ms)`,
        description: `Lookups through ${s.name} (${address}) take p50 ${median(slow.map((i) => cells[i]![j]!.latencyP50Ms!))} ms from ${slow.length} of ${k} nodes. Every lookup of a short name pays it once per search domain tried.`,
      });
    } else {
      for (const i of slow) {
        const c = cells[i]![j]!;
        conditions.push({
          kind: 'DnsLatencyHigh',
          subject: { node: nodes[i]!.name },
          summary: `DNS from ${nodes[i]!.name} through ${s.name} is slow (p50 ${c.latencyP50Ms} ms > ${o.latencyThresholdMs} ms)`,
          description: `${c.reason} from ${nodes[i]!.name}; other nodes are fast. Replicas from this node: ${replicas.map(({ s: r, j: rj }) => `${r.name} p50 ${cells[i]![rj]!.latencyP50Ms ?? '-'} ms`).join(', ') || 'none configured'}.`,
        });
      }
    }
    // TCP only, on nodes whose UDP works (UDP failing is said above): one server-wide finding, or one per node.
    const tcpBad = nodes.flatMap((n, i) => (tcpOnlyBad(cells[i]![j]!) && !explained(i) ? [i] : []));
    const tcpAdvice = 'Pods get an error for every answer too large for UDP (many A/AAAA records, DNSSEC, long SRV lists): check NetworkPolicies and host firewalls for TCP 53.';
    if (most(tcpBad.length, k)) {
      tcpConditions.push({
        kind: 'DnsFailing',
        subject: { server: s.name },
        summary: `DNS over TCP through ${s.name} (${address}) fails from ${tcpBad.length} of ${k} nodes; UDP answers`,
        description: `The TCP check (${o.questions[0]?.name ?? 'the first name'} over TCP) to ${s.name} fails from ${tcpBad.length} of ${k} nodes (${tcpOutcomes(tcpBad.map((i) => cells[i]![j]!))}) while UDP queries are answered. ${tcpAdvice}`,
      });
    } else {
      for (const i of tcpBad) {
        const c = cells[i]![j]!;
        tcpConditions.push({
          kind: 'DnsFailing',
          subject: { node: nodes[i]!.name },
          summary: `${nodes[i]!.name} cannot resolve over TCP through ${s.name} (${c.address ?? address}): ${c.tcpCheck!.lastOutcome}; UDP answers`,
          description: `The TCP check from ${nodes[i]!.name} to ${s.name} fails (${c.tcpCheck!.lastOutcome} since ${new Date(c.tcpCheck!.since).toISOString()}) while UDP queries are answered. ${tcpAdvice} Other nodes resolve over TCP normally.`,
        });
      }
    }
  }
  // After every UDP condition: a node that fails over UDP somewhere keeps that DnsFailing (the engine keeps the first of one subject).
  return [...conditions, ...tcpConditions];
}

function tcpOutcomes(cells: readonly DnsCell[]): string {
  const counts = new Map<string, number>();
  for (const c of cells) if (c.tcpCheck && !c.tcpCheck.ok) counts.set(c.tcpCheck.lastOutcome, (counts.get(c.tcpCheck.lastOutcome) ?? 0) + 1);
  return [...counts.entries()].map(([o, n]) => `${o} from ${n}`).join(', ');
}

const ROLE_WORDS: Record<DnsServerSpec['role'], string> = { replica: 'replica', service: 'service address', nodelocal: 'NodeLocal cache' };

function outcomesOf(cells: readonly DnsCell[]): string {
  const counts = new Map<string, number>();
  for (const c of cells) if (c.lastOutcome && c.lastOutcome !== 'ok') counts.set(c.lastOutcome, (counts.get(c.lastOutcome) ?? 0) + 1);
  return [...counts.entries()].map(([o, n]) => `${o} from ${n}`).join(', ') || 'intermittent errors';
}

function divergence(a: AnswerComparison): string {
  return a.divergent.map((s) => `${s}: ${a.servers[s]?.join(', ') || '(empty)'}`).join('; ');
}

function median(xs: readonly number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!.toFixed(2);
}
