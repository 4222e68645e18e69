// Simulated agents for the benchmarks, over real gRPC: one channel (its own
// TCP connection) and one Collector stream per node of a bench mesh
// (mesh.ts), a Hello, then reports whose results the mesh decides, as
// test/helpers/sim-cluster.ts does for tests. What differs is the cost of the
// sender: 1,000 agents send 4 M results every 5 s, which protobufjs would take
// ~2 µs each to encode (8 CPU-s per interval, more than the sender has), so
// reports are written here straight in the protobuf wire format, with the
// static part of each result (kind, target, address, family) encoded once.
// The first report is checked against the proto loader's own decoding. Plans
// the aggregator sends are counted, not decoded (acks are).
//
// Everything is bounded: connecting and the first plans by a deadline, each
// agent by the number of reports it may have unacknowledged (the agent's own
// buffer bound: a report that would exceed it is skipped and counted), and
// every run by a duration.
import * as grpc from '@grpc/grpc-js';
import { addressFamilies, outcomes, probeKinds, type Outcome } from '../common/vocabulary.js';
import { loadProto, type AggregatorMessage__Output, type Hello } from '../proto/load.js';
import { helloOf, MESH_KINDS, nodeIp, podIp, probe, reports, type Mesh, type Probe } from './mesh.js';
import { AGENT_MESSAGE_REPORT, REPORT_SEQUENCE, REPORT_ROUND, REPORT_SENT_AT, REPORT_RESULT, RESULT_KIND, RESULT_TARGET_NODE, RESULT_TARGET_IP, RESULT_FAMILY, RESULT_OUTCOME, RESULT_RTT, RESULT_TIMESTAMP, AGGREGATOR_MESSAGE_PLAN } from '../proto/wire-tags.js';

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Encodes the mesh's reports; the static part of every (target, kind) result once for all sources. */
export class ReportEncoder {
  /** statics[d * K + k]: kind, target node, target IP and family of a result, encoded. */
  private readonly statics: Buffer[] = [];
  private readonly p: Probe = { outcome: 0, rttUs: 0 };
  private readonly lengths: Uint16Array;

  constructor(private readonly m: Mesh) {
    const family = addressFamilies.words.indexOf('ipv4') + 1;
    for (let d = 0; d < m.n; d++) {
      MESH_KINDS.forEach((kind) => {
        const name = Buffer.from(m.names[d]!);
        const ip = Buffer.from(kind === 'node' ? nodeIp(d) : podIp(d));
        const b = Buffer.alloc(2 + 2 + name.length + 2 + ip.length + 2);
        let pos = 0;
        b[pos++] = RESULT_KIND;
        b[pos++] = probeKinds.words.indexOf(kind) + 1;
        b[pos++] = RESULT_TARGET_NODE;
        b[pos++] = name.length;
        pos += name.copy(b, pos);
        b[pos++] = RESULT_TARGET_IP;
        b[pos++] = ip.length;
        pos += ip.copy(b, pos);
        b[pos++] = RESULT_FAMILY;
        b[pos++] = family;
        this.statics.push(b);
      });
    }
    this.lengths = new Uint16Array(m.n * MESH_KINDS.length);
  }

  /** AgentMessage{report} of source s: `sequence`, mesh round `round`, probed at `probedAtMs`, sent at `sentAtMs` (its wall clock). */
  encode(s: number, sequence: number, round: number, probedAtMs: number, sentAtMs: number): Buffer {
    const { m, statics, lengths, p } = this;
    const K = MESH_KINDS.length;
    const tsLength = 1 + varintLength(probedAtMs);
    const outcomes = new Uint8Array(m.n * K);
    const rtts = new Uint32Array(m.n * K);
    let body = 1 + varintLength(sequence) + 1 + varintLength(round) + 1 + varintLength(sentAtMs);
    for (let d = 0; d < m.n; d++) {
      if (d === s) continue;
      for (let k = 0; k < K; k++) {
        const i = d * K + k;
        probe(m, s, d, k, round, p);
        outcomes[i] = p.outcome + 1;
        rtts[i] = p.rttUs;
        const len = statics[i]!.length + 2 + 1 + varintLength(p.rttUs) + tsLength;
        lengths[i] = len;
        body += 1 + varintLength(len) + len;
      }
    }
    const buf = Buffer.allocUnsafe(1 + varintLength(body) + body);
    let pos = 0;
    buf[pos++] = AGENT_MESSAGE_REPORT;
    pos = writeVarint(buf, pos, body);
    buf[pos++] = REPORT_SEQUENCE;
    pos = writeVarint(buf, pos, sequence);
    buf[pos++] = REPORT_ROUND;
    pos = writeVarint(buf, pos, round);
    buf[pos++] = REPORT_SENT_AT;
    pos = writeVarint(buf, pos, sentAtMs);
    for (let d = 0; d < m.n; d++) {
      if (d === s) continue;
      for (let k = 0; k < K; k++) {
        const i = d * K + k;
        buf[pos++] = REPORT_RESULT;
        pos = writeVarint(buf, pos, lengths[i]!);
        pos += statics[i]!.copy(buf, pos);
        buf[pos++] = RESULT_OUTCOME;
        buf[pos++] = outcomes[i]!;
        buf[pos++] = RESULT_RTT;
        pos = writeVarint(buf, pos, rtts[i]!);
        buf[pos++] = RESULT_TIMESTAMP;
        pos = writeVarint(buf, pos, probedAtMs);
      }
    }
    if (pos !== buf.length) throw new Error(`bench: report encoded to ${pos} of ${buf.length} bytes`);
    return buf;
  }

  /** Throws unless the proto loader decodes what encode() writes into what the mesh says. */
  check(): void {
    const def = loadProto().netmatrix.v1.Collector.service.Connect;
    const s = 0;
    const bytes = this.encode(s, 7, 3, 1_700_000_000_123, 1_700_000_000_456);
    const r = def.requestDeserialize(bytes).report;
    const p: Probe = { outcome: 0, rttUs: 0 };
    const want = (this.m.n - 1) * MESH_KINDS.length;
    if (!r || r.sequence !== 7 || r.round !== 3 || r.sentAtMs !== 1_700_000_000_456 || r.results.length !== want) throw new Error('bench: encoded report header does not decode as sent');
    r.results.forEach((x, j) => {
      const d = Math.floor(j / MESH_KINDS.length) + 1;
      const k = j % MESH_KINDS.length;
      probe(this.m, s, d, k, 3, p);
      const kind = MESH_KINDS[k]!;
      const ok =
        x.kind === probeKinds.toProto(kind) &&
        x.targetNode === this.m.names[d] &&
        x.targetIp === (kind === 'node' ? nodeIp(d) : podIp(d)) &&
        x.family === 'ADDRESS_FAMILY_IPV4' &&
        x.outcome === outcomes.toProto(outcomes.words[p.outcome] as Outcome) &&
        x.rttUs === p.rttUs &&
        x.timestampMs === 1_700_000_000_123;
      if (!ok) throw new Error(`bench: encoded result ${j} decodes as ${JSON.stringify(x)}`);
    });
  }
}

interface Agent {
  readonly index: number;
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<Buffer, AggregatorMessage__Output | { plan: true }>;
  sequence: number;
  acked: number;
  plans: number;
  open: boolean;
  wake: (() => void) | undefined;
}

export interface SenderStats {
  /** Reports written, and their results. */
  reports: number;
  results: number;
  /** Reports not sent because the agent had `maxInFlight` unacknowledged. */
  skipped: number;
  /** How late each timed report went out, ms (rounds only). */
  readonly lateMs: number[];
}

export class SimAgents {
  private readonly agents: Agent[] = [];
  private readonly encoder: ReportEncoder;
  private openCount = 0;
  readonly stats: SenderStats = { reports: 0, results: 0, skipped: 0, lateMs: [] };

  private constructor(
    private readonly m: Mesh,
    private readonly maxInFlight: number,
  ) {
    this.encoder = new ReportEncoder(m);
    this.encoder.check();
  }

  /** Connects every node of the mesh to `address` and waits (at most `timeoutMs`) until each has a plan. */
  static async connect(address: string, m: Mesh, o: { maxInFlight: number; streamDeadlineMs: number; timeoutMs: number }): Promise<SimAgents> {
    const sim = new SimAgents(m, o.maxInFlight);
    const def = loadProto().netmatrix.v1.Collector.service.Connect;
    // Plans (1,000 peers each) are counted, not decoded: the sender's CPU is not what is measured.
    const deserialize = (b: Buffer) => (b[0] === AGGREGATOR_MESSAGE_PLAN ? ({ plan: true } as const) : def.responseDeserialize(b));
    for (let i = 0; i < m.n; i++) {
      const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      });
      const call = client.makeBidiStreamRequest(def.path, (b: Buffer) => b, deserialize, new grpc.Metadata(), { deadline: Date.now() + o.streamDeadlineMs });
      const a: Agent = { index: i, client, call, sequence: 0, acked: 0, plans: 0, open: true, wake: undefined };
      call.on('data', (msg: AggregatorMessage__Output | { plan: true }) => {
        if ('ack' in msg && msg.ack) a.acked = Math.max(a.acked, Number(msg.ack.sequence));
        else if (msg.plan) a.plans++;
        a.wake?.();
      });
      call.on('error', () => sim.close(a));
      call.on('end', () => sim.close(a));
      const h = helloOf(m, i);
      const hello: Hello = { nodeName: h.nodeName, podIps: [...h.podIps], nodeIps: [...h.nodeIps], zone: h.zone, agentVersion: h.agentVersion, capabilities: h.capabilities as Hello['capabilities'], responderPort: h.responderPort, instanceId: h.instanceId };
      call.write(def.requestSerialize({ hello }));
      sim.agents.push(a);
      sim.openCount++;
    }
    const until = Date.now() + o.timeoutMs;
    while (sim.agents.some((a) => a.open && a.plans === 0)) {
      if (Date.now() > until) {
        const missing = sim.agents.filter((a) => a.open && a.plans === 0).length;
        sim.closeAll();
        throw new Error(`${missing} of ${m.n} simulated agents got no plan within ${o.timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return sim;
  }

  private close(a: Agent): void {
    if (!a.open) return;
    a.open = false;
    this.openCount--;
    a.call.cancel();
    a.client.close();
    a.wake?.();
  }

  closeAll(): void {
    for (const a of this.agents) this.close(a);
  }

  get open(): number {
    return this.openCount;
  }

  /** Writes source s's report of mesh round `round`, unless it has maxInFlight unacknowledged (then counted as skipped). */
  private send(a: Agent, round: number): boolean {
    if (!a.open) return false;
    if (!reports(this.m, a.index, round)) {
      this.close(a); // the mesh's dead node: its agent is gone
      return false;
    }
    if (a.sequence - a.acked >= this.maxInFlight) {
      this.stats.skipped++;
      return false;
    }
    const now = Date.now();
    a.sequence++;
    a.call.write(this.encoder.encode(a.index, a.sequence, round, now - 1_000, now));
    this.stats.reports++;
    this.stats.results += (this.m.n - 1) * MESH_KINDS.length;
    return true;
  }

  /**
   * Every agent reports once per interval, each at its own phase (spread over
   * the interval by a hash of its index, as agents started at different times
   * are), round after round, until `durationMs` is over. Resolves at the end.
   */
  async rounds(intervalMs: number, durationMs: number, onRound?: (round: number) => void): Promise<void> {
    const phase = this.agents.map((a) => ((Math.imul(a.index + 1, 0x9e3779b1) >>> 0) / 0x1_0000_0000) * intervalMs);
    const order = this.agents.map((_, i) => i).sort((x, y) => phase[x]! - phase[y]!);
    const t0 = performance.now();
    let round = 0;
    let next = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now() - t0;
        if (now >= durationMs || this.open === 0) {
          clearInterval(timer);
          resolve();
          return;
        }
        // At most one round of sends per tick: a sender that falls behind shows as lateness, not as a burst.
        for (let sent = 0; sent < order.length; sent++) {
          const i = order[next]!;
          const due = round * intervalMs + phase[i]!;
          if (due > now) break;
          if (this.send(this.agents[i]!, round)) this.stats.lateMs.push(now - due);
          if (++next === order.length) {
            next = 0;
            onRound?.(round);
            round++;
          }
        }
      };
      const timer = setInterval(tick, 5);
    });
  }

  /** Every agent keeps `maxInFlight` reports unacknowledged, as fast as the aggregator acks, for `durationMs`. */
  async flood(durationMs: number): Promise<void> {
    const until = performance.now() + durationMs;
    await Promise.all(
      this.agents.map(async (a) => {
        let round = 0;
        while (a.open && performance.now() < until) {
          if (a.sequence - a.acked >= this.maxInFlight) {
            // Woken by the next ack (or close); a timer bounds the wait.
            await new Promise<void>((r) => {
              const t = setTimeout(r, 100);
              a.wake = () => (clearTimeout(t), r());
            });
            a.wake = undefined;
            continue;
          }
          this.send(a, round++);
          // Let acks in between writes.
          if (round % 4 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
  }
}
