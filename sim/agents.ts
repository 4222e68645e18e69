// Simulated agents over real gRPC: for each node of a shard, one channel (its
// own TCP connection, as on a cluster) and one Collector stream, a Hello, and
// then, every interval of the plan it was sent, a report answering that plan
// (every peer but itself × every kind, and the DNS probes) with what the
// fault model says each probe saw. Each agent reports at its own phase of the
// interval (a hash of its node index, as agents started at different times
// do), up to --jitter late. Round r of every agent is due at
// startAt + phase + r × interval, so all agents (and all worker threads) agree
// on round numbers, and the fault model's draws are the same in every run.
//
// Like an agent: it follows the newest plan it is sent, refuses one whose
// timing no aggregator can be configured with, reconnects with backoff when
// its stream fails, and keeps at most `maxUnacked` reports unacknowledged (a
// round that would exceed it is skipped and counted: the aggregator is not
// keeping up). Unlike an agent it does not replay what was not acknowledged.
//
// Every wait has a deadline: each connection must bring a plan within
// connectTimeoutMs, every stream has a deadline past the end of the run, and
// the run ends at endAt whatever happens.
import { FaultModel, mix, unit } from './faults.js';
import { helloOf, type SimNodes } from './nodes.js';
import { PlanCache, type Decoded, type SimPlan } from './plan.js';
import { ReportEncoder, type ReportLimits } from './report-wire.js';
import { AgentStream, type SimCredentials } from './stream.js';
import { SimWalk } from './walk.js';

export type { SimCredentials } from './stream.js';

/** A clock every worker thread shares: wall-clock based, monotonic within a thread. */
export const simNow = () => performance.timeOrigin + performance.now();

/** Streams live this much past the end of the run (their deadline), so the run's own end closes them. */
const STREAM_GRACE_MS = 30_000;
const BACKOFF_MIN_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** The scheduler's tick. */
const TICK_MS = 5;
/** Agents connected per event-loop turn at start (so acks and plans get in between). */
const CONNECT_BATCH = 100;
/** Distinct error messages kept for the summary. */
const ERROR_SAMPLES = 5;
/** Lateness histogram: 1 ms buckets up to this, the last one for everything later. */
export const LATE_BUCKETS = 2_000;

export interface ChurnSpec {
  /** Agent restarts per minute across the simulated cluster. */
  readonly perMinute: number;
  /** How long each restarting agent is away. */
  readonly downtimeMs: number;
}

/** simNow() times: rounds count from startAt, faults are on from faultAt, everything stops at endAt. */
export interface Timeline {
  readonly startAt: number;
  readonly faultAt: number;
  readonly endAt: number;
}

export interface SimAgentsOptions extends Timeline {
  readonly address: string;
  readonly nodes: SimNodes;
  readonly model: FaultModel;
  /** Node indexes this instance runs (a worker thread's share). */
  readonly shard: readonly number[];
  readonly credentials: SimCredentials;
  readonly limits: ReportLimits;
  readonly maxUnacked: number;
  readonly connectTimeoutMs: number;
  /** A report goes out up to this late (a hash of node and round). */
  readonly jitterMs: number;
  readonly churn?: ChurnSpec;
  /** Part of every instance id, so two runs against one aggregator are two instances. */
  readonly runId: string;
  readonly agentVersion?: string;
}

export interface SimStats {
  /** Agents with an open stream and a plan, now; and at the end of the run, before the streams were closed. */
  agentsUp: number;
  agentsAtEnd: number;
  /** Agents that got at least one plan. */
  agentsPlanned: number;
  connects: number;
  reconnects: number;
  /** Agent restarts (churn), and agents that died (dead nodes). */
  restarts: number;
  deaths: number;
  plansReceived: number;
  /** Plans with a Sampling part (the aggregator's sampled planner), and plans refused (their timing). */
  plansSampled: number;
  plansRefused: number;
  /** Plans decoded (the rest came from the shared-plan cache). */
  planDecodes: number;
  /** The epoch of the last plan received, and when (simNow). */
  planEpoch: number;
  planAt: number;
  reportsSent: number;
  reportsAcked: number;
  /** Rounds not sent because the agent had maxUnacked reports unacknowledged. */
  roundsSkipped: number;
  results: number;
  connectErrors: number;
  streamErrors: number;
  errorSamples: string[];
  /** late[ms]: rounds sent that late after their due time (jitter included). */
  late: number[];
}

export function newStats(): SimStats {
  return {
    agentsUp: 0,
    agentsAtEnd: 0,
    agentsPlanned: 0,
    connects: 0,
    reconnects: 0,
    restarts: 0,
    deaths: 0,
    plansReceived: 0,
    plansSampled: 0,
    plansRefused: 0,
    planDecodes: 0,
    planEpoch: 0,
    planAt: 0,
    reportsSent: 0,
    reportsAcked: 0,
    roundsSkipped: 0,
    results: 0,
    connectErrors: 0,
    streamErrors: 0,
    errorSamples: [],
    late: new Array<number>(LATE_BUCKETS + 1).fill(0),
  };
}

/** Adds `b` into `a` (stats of several shards). */
export function addStats(a: SimStats, b: SimStats): SimStats {
  for (const k of Object.keys(a) as (keyof SimStats)[]) {
    if (k === 'planAt' || k === 'planEpoch') continue;
    if (k === 'errorSamples') for (const e of b.errorSamples) addSample(a.errorSamples, e);
    else if (k === 'late') b.late.forEach((c, i) => (a.late[i] = (a.late[i] ?? 0) + c));
    else (a[k] as number) += b[k] as number;
  }
  if (b.planAt > a.planAt) {
    a.planAt = b.planAt;
    a.planEpoch = b.planEpoch;
  }
  return a;
}

/** The p-quantile (0–1) of a lateness histogram, ms; LATE_BUCKETS means "that or later". */
export function lateQuantile(late: readonly number[], p: number): number {
  const total = late.reduce((s, c) => s + c, 0);
  if (total === 0) return NaN;
  let seen = 0;
  for (let i = 0; i < late.length; i++) {
    seen += late[i]!;
    if (seen >= Math.ceil(p * total)) return i;
  }
  return LATE_BUCKETS;
}

function addSample(samples: string[], e: string): void {
  if (samples.length < ERROR_SAMPLES && !samples.includes(e)) samples.push(e);
}

type State = 'idle' | 'connecting' | 'up' | 'backoff' | 'away' | 'dead';

interface Agent {
  readonly node: number;
  readonly slot: number;
  state: State;
  stream: AgentStream | undefined;
  /** Restarts so far: part of the instance id. */
  restarts: number;
  sequence: number;
  acked: number;
  plan: SimPlan | undefined;
  /** The walk of a sampled plan: kept across plans, so a new one continues where the last stopped. */
  walk: SimWalk | undefined;
  planned: boolean;
  failures: number;
  /** When a connecting stream must have its plan, or a backoff ends (simNow). */
  deadline: number;
  /** Round due next, and when (simNow; jitter included); NaN: none scheduled. */
  round: number;
  due: number;
  wake: (() => void) | undefined;
}

export class SimAgents {
  readonly stats: SimStats = newStats();
  private readonly agents: Agent[];
  private readonly encoder: ReportEncoder;
  private readonly plans: PlanCache;
  private readonly phase: Float64Array;
  private timer: NodeJS.Timeout | undefined;
  private nextChurn = 0;
  private faultsOn = false;
  private stopped = false;
  private finished: (() => void) | undefined;
  private closing: (() => void) | undefined;
  private t: Timeline;

  constructor(private readonly o: SimAgentsOptions) {
    this.t = { startAt: o.startAt, faultAt: o.faultAt, endAt: o.endAt };
    this.encoder = new ReportEncoder(o.model, o.limits);
    this.plans = new PlanCache(o.nodes.index);
    this.agents = o.shard.map((node, slot) => ({
      node,
      slot,
      state: 'idle' as State,
      stream: undefined,
      restarts: 0,
      sequence: 0,
      acked: 0,
      plan: undefined,
      walk: undefined,
      planned: false,
      failures: 0,
      deadline: Infinity,
      round: 0,
      due: NaN,
      wake: undefined,
    }));
    this.phase = Float64Array.from(o.shard, (node) => unit(node + 1));
  }

  /**
   * Opens every agent's stream: all at once (a batch per event-loop turn), as
   * after an aggregator restart, or `perSecond` a second, as in a rollout.
   */
  async connect(perSecond = 0): Promise<void> {
    const t0 = simNow();
    for (let i = 0; i < this.agents.length; i++) {
      if (this.stopped) return;
      if (perSecond > 0) {
        const wait = t0 + (i * 1000) / perSecond - simNow();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (this.stopped) return;
      }
      this.open(this.agents[i]!);
      if (i % CONNECT_BATCH === CONNECT_BATCH - 1) await new Promise((r) => setImmediate(r));
    }
  }

  /** Resolves once every live agent has a plan; rejects after `timeoutMs` naming how many have none. */
  async ready(timeoutMs: number): Promise<void> {
    const until = simNow() + timeoutMs;
    const missing = () => this.agents.filter((a) => a.state !== 'dead' && a.state !== 'away' && !a.planned).length;
    while (missing() > 0) {
      if (simNow() > until) throw new Error(`${missing()} of ${this.agents.length} simulated agents got no plan within ${timeoutMs} ms${this.stats.errorSamples.length ? ` (${this.stats.errorSamples.join('; ')})` : ''}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Reports round after round (and restarts agents, kills the dead ones) until
   * endAt, then closes every stream. Resolves at the end.
   */
  run(timeline?: Timeline): Promise<void> {
    if (timeline) {
      // (Benchmarks) a timeline set once the agents are connected: rounds are due from its start.
      this.t = timeline;
      for (const a of this.agents) if (a.state === 'up') this.schedule(a, undefined);
    }
    return new Promise<void>((resolve) => {
      if (this.stopped) return resolve();
      this.finished = resolve;
      this.timer = setInterval(() => {
        const now = simNow();
        if (now >= this.t.endAt) this.close();
        else this.tick(now);
      }, TICK_MS);
    });
  }

  /**
   * (Benchmarks) every agent keeps maxUnacked reports unacknowledged, as fast
   * as the aggregator acks them, for `durationMs`; round numbers just count.
   */
  async flood(durationMs: number): Promise<void> {
    const until = simNow() + durationMs;
    await Promise.all(
      this.agents.map(async (a) => {
        let round = 0;
        while (a.state === 'up' && simNow() < until) {
          if (a.sequence - a.acked >= this.o.maxUnacked) {
            // Woken by the next ack (or a close); a timer bounds the wait.
            await new Promise<void>((r) => {
              const t = setTimeout(r, 100);
              a.wake = () => (clearTimeout(t), r());
            });
            a.wake = undefined;
            continue;
          }
          this.startFaults(simNow());
          if (this.dies(a) || a.state !== 'up') break;
          this.send(a, round++, simNow(), false);
          // Let acks in between writes.
          if (round % 4 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
  }

  /** The faults start now (if they have not yet): what SIGUSR1 does. */
  startFaultsNow(): void {
    this.t = { ...this.t, faultAt: Math.min(this.t.faultAt, simNow()) };
  }

  /** `f` is called once when the run ends, with the statistics final, before the streams are closed. */
  onClose(f: () => void): void {
    this.closing = f;
  }

  /** Closes every stream and stops every timer. */
  close(): void {
    if (!this.stopped) {
      this.stats.agentsAtEnd = this.stats.agentsUp;
      this.closing?.();
      this.closing = undefined;
    }
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const a of this.agents) this.teardown(a, a.state === 'dead' ? 'dead' : 'idle');
    this.finished?.();
    this.finished = undefined;
  }

  private tick(now: number): void {
    const o = this.o;
    this.startFaults(now);
    if (o.churn && o.churn.perMinute > 0) this.churn(now, o.churn);
    for (const a of this.agents) {
      if (this.dies(a)) continue;
      if (a.state === 'connecting' && now > a.deadline) {
        this.fail(a, 'connect', `no plan within ${o.connectTimeoutMs} ms`);
      } else if ((a.state === 'backoff' && now >= a.deadline) || (a.state === 'away' && now >= o.model.awayUntil[a.node]!)) {
        this.open(a);
      } else if (a.state === 'up' && a.due <= now) {
        const round = a.round;
        const late = now - a.due;
        this.schedule(a, round + 1);
        if (this.send(a, round, now, true)) this.stats.late[Math.min(LATE_BUCKETS, Math.floor(late))]!++;
      }
    }
  }

  /** At faultAt: the faults are on. */
  private startFaults(now: number): void {
    if (!this.faultsOn && now >= this.t.faultAt) this.faultsOn = true;
  }

  /**
   * Once the faults are on, a dead node's agent goes, as soon as it has said
   * Hello and been taken (it has a plan), so the aggregator knows the node
   * that died however early the faults start; one that can't connect is gone
   * at once.
   */
  private dies(a: Agent): boolean {
    if (!this.faultsOn || a.state === 'dead' || a.state === 'idle' || a.state === 'connecting' || !this.o.model.isDead(a.node)) return false;
    this.teardown(a, 'dead');
    this.stats.deaths++;
    return true;
  }

  /** Restarts due by the churn schedule (the same in every worker: each marks every node away, restarts its own). */
  private churn(now: number, c: ChurnSpec): void {
    const every = 60_000 / c.perMinute;
    const n = this.o.nodes.n;
    for (;;) {
      const at = this.t.startAt + (this.nextChurn + 1) * every;
      if (at > now) return;
      let node = Math.floor(unit(mix(this.nextChurn) ^ this.o.model.spec.seed) * n);
      // Dead nodes don't restart: the next live one does.
      for (let tries = 0; this.o.model.isDead(node) && tries < n; tries++) node = (node + 1) % n;
      this.nextChurn++;
      if (this.o.model.isDead(node)) return;
      const until = at + c.downtimeMs;
      this.o.model.awayUntil[node] = Math.max(this.o.model.awayUntil[node]!, until);
      const slot = this.slotOf(node);
      if (slot === undefined) continue;
      const a = this.agents[slot]!;
      if (a.state === 'dead' || a.state === 'away') continue;
      this.teardown(a, 'away');
      this.stats.restarts++;
      // A restarted agent is a new instance: its sequence starts again.
      a.restarts++;
      a.sequence = 0;
      a.acked = 0;
    }
  }

  private slotMap: Map<number, number> | undefined;
  private slotOf(node: number): number | undefined {
    this.slotMap ??= new Map(this.agents.map((a) => [a.node, a.slot]));
    return this.slotMap.get(node);
  }

  private open(a: Agent): void {
    const o = this.o;
    if (this.stopped) return;
    if (a.stream) this.teardown(a, 'idle');
    this.stats.connects++;
    if (a.planned) this.stats.reconnects++;
    const hello = helloOf(o.nodes, a.node, `${o.nodes.names[a.node]}-${o.runId}-${a.restarts}`, o.agentVersion);
    const stream: AgentStream = new AgentStream(
      {
        address: o.address,
        credentials: o.credentials,
        maxSendBytes: o.limits.maxMessageBytes,
        deadline: this.t.endAt - simNow() + Date.now() + STREAM_GRACE_MS,
        plans: this.plans,
        onMessage: (m) => this.receive(a, stream, m),
        onEnd: (why) => {
          if (a.stream === stream) this.fail(a, 'stream', why);
        },
      },
      hello,
    );
    a.stream = stream;
    a.state = 'connecting';
    a.deadline = simNow() + o.connectTimeoutMs;
    a.plan = undefined;
    // Nothing is replayed: what the last stream did not get acknowledged is gone.
    a.acked = a.sequence;
  }

  private receive(a: Agent, stream: AgentStream, m: Decoded): void {
    if (a.stream !== stream) return;
    if ('ack' in m) {
      if (m.ack > a.acked) {
        this.stats.reportsAcked += Math.min(m.ack, a.sequence) - a.acked;
        a.acked = m.ack;
      }
      a.wake?.();
      return;
    }
    if ('refused' in m) {
      this.stats.plansRefused++;
      addSample(this.stats.errorSamples, `plan refused: ${m.refused}`);
      return;
    }
    if (!('plan' in m)) return;
    this.stats.plansReceived++;
    this.stats.planDecodes = this.plans.decodes;
    this.stats.planEpoch = m.plan.epoch;
    this.stats.planAt = simNow();
    // Like the agent: the newest plan of the stream is followed (an epoch is a fingerprint, not a time).
    if (m.sampling) {
      this.stats.plansSampled++;
      const peersPerRound = m.sampling.peersPerRound;
      a.walk ??= new SimWalk(this.o.nodes.names[a.node]!);
      a.walk.setPlan(m.plan, { peersPerRound, fixed: m.sampling.fixed, followMax: Math.min(m.sampling.followMax, peersPerRound) });
    } else a.walk = undefined;
    const first = a.state === 'connecting';
    const interval = a.plan?.intervalMs;
    a.plan = m.plan;
    if (first) {
      a.state = 'up';
      a.failures = 0;
      a.deadline = Infinity;
      this.stats.agentsUp++;
      if (!a.planned) this.stats.agentsPlanned++;
      a.planned = true;
    }
    // The first plan, or a new interval: the next round is the first due from now.
    if (first || interval !== m.plan.intervalMs) this.schedule(a, undefined);
    a.wake?.();
  }

  /** Sets the agent's next round: `round`, or (undefined) the first one not yet due. */
  private schedule(a: Agent, round: number | undefined): void {
    const interval = a.plan!.intervalMs;
    const base = this.t.startAt + this.phase[a.slot]! * interval;
    const r = round ?? Math.max(0, Math.ceil((simNow() - base) / interval));
    a.round = r;
    a.due = base + r * interval + this.o.jitterMs * unit(mix(a.node) ^ Math.imul(r + 1, 0x2545f491));
  }

  /** Writes the agent's round; false when it was skipped (too many unacknowledged). */
  private send(a: Agent, round: number, now: number, timed: boolean): boolean {
    const plan = a.plan!;
    if (timed && a.sequence - a.acked >= this.o.maxUnacked) {
      this.stats.roundsSkipped++;
      return false;
    }
    const sentAt = Date.now();
    const targets = a.walk?.next();
    const r = this.encoder.encode(a.node, plan, round, a.sequence + 1, sentAt - plan.timeoutMs, sentAt, this.faultsOn, now, targets);
    if (a.walk && targets) {
      // Follow-ups: a walk peer any of whose probes failed this round is probed again next round.
      const failed = new Set(this.encoder.failed);
      for (const t of targets) a.walk.observe(t, !failed.has(t));
    }
    for (const m of r.messages) a.stream!.write(m);
    a.sequence += r.messages.length;
    this.stats.reportsSent += r.messages.length;
    this.stats.results += r.results;
    return true;
  }

  private fail(a: Agent, what: 'connect' | 'stream', message: string): void {
    if (what === 'connect') this.stats.connectErrors++;
    else this.stats.streamErrors++;
    addSample(this.stats.errorSamples, `${what}: ${message}`);
    this.teardown(a, 'backoff');
    if (this.stopped || simNow() >= this.t.endAt) return;
    a.failures++;
    const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (a.failures - 1));
    a.deadline = simNow() + backoff * (0.5 + 0.5 * unit(mix(a.node) ^ a.failures));
  }

  /** Closes the agent's stream and channel, and puts it in `state`. */
  private teardown(a: Agent, state: State): void {
    if (a.state === 'up') this.stats.agentsUp--;
    const stream = a.stream;
    a.stream = undefined;
    a.state = state;
    a.due = NaN;
    stream?.close();
    a.wake?.();
  }
}
