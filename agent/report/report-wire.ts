// Reports on the wire, encoded once. A round's results are serialized when the
// round ends, with the Collector method's own serializer, and split into
// reports that fit the message limits (the aggregator refuses a larger one,
// and would refuse it again on every stream). The outboxes keep the encoded
// results, shared by every aggregator's outbox: compact, and their size is
// what the byte bound counts and what goes on the wire. A (re)send only puts
// the report's sequence, round and sent_at in front (sent_at is the time of
// that send, as the proto says), and the stream's serializer passes the
// result through unchanged (connection.ts).
import { loadProto, type AgentMessage, type WireProbeResult } from '../../proto/load.js';

/** A report ready to be framed: its results as encoded `ProbeResult` fields of a `Report`. */
export interface WireReport {
  readonly sequence: number;
  readonly round: number;
  /** How many results `body` holds. */
  readonly results: number;
  /** Concatenated `results` fields (tag, length, ProbeResult) of a Report. */
  readonly body: Buffer;
  /** `body.length`: what the outbox's byte bound counts. */
  readonly bytes: number;
}

/** The results of one round, encoded, and where each ends in `body`. */
export interface EncodedResults {
  readonly body: Buffer;
  readonly ends: readonly number[];
}

const AGENT_MESSAGE_REPORT = 0x12; // field 2, length-delimited
const REPORT_SEQUENCE = 0x08; // field 1, varint
const REPORT_ROUND = 0x10; // field 2, varint
const REPORT_SENT_AT = 0x18; // field 3, varint
const REPORT_RESULT = 0x22; // field 4, length-delimited

/**
 * What framing adds to a report's body at most: the AgentMessage's tag and a
 * length of up to 5 bytes, and three tagged varints of up to 10 bytes each.
 */
export const FRAME_OVERHEAD = 1 + 5 + 3 * (1 + 10);

export function encodeResults(results: readonly WireProbeResult[]): EncodedResults {
  const msg: AgentMessage = { report: { results: results as WireProbeResult[] } };
  const raw = loadProto().netmatrix.v1.Collector.service.Connect.requestSerialize(msg);
  const all = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  if (all[0] !== AGENT_MESSAGE_REPORT) throw new Error('encodeResults: the serializer did not start with the report field');
  const [len, start] = readVarint(all, 1);
  if (start + len !== all.length) throw new Error('encodeResults: the report field is not the whole message');
  const body = all.subarray(start);
  const ends: number[] = [];
  let at = 0;
  while (at < body.length) {
    if (body[at] !== REPORT_RESULT) throw new Error(`encodeResults: unexpected tag ${body[at]} at ${at}`);
    const [n, next] = readVarint(body, at + 1);
    at = next + n;
    ends.push(at);
  }
  if (ends.length !== results.length) throw new Error(`encodeResults: ${ends.length} results encoded for ${results.length}`);
  return { body, ends };
}

/**
 * Cuts encoded results into report bodies of at most `maxMessageBytes` once
 * framed and at most `maxResults` results each, in order; always at least one
 * body (an empty round still says the agent is alive). A single result larger
 * than the limit gets a body of its own: the aggregator refuses it, and it is
 * dropped then like any refused report. Each body is copied into a buffer of
 * its own, so what the outbox holds is what it counts.
 */
export function splitResults(r: EncodedResults, maxMessageBytes: number, maxResults: number): { body: Buffer; results: number }[] {
  const room = maxMessageBytes - FRAME_OVERHEAD;
  const out: { body: Buffer; results: number }[] = [];
  let first = 0; // the current body's first result
  let start = 0; // and where it starts
  for (let i = 0; i < r.ends.length; i++) {
    if (i > first && (r.ends[i]! - start > room || i - first >= maxResults)) {
      out.push({ body: copyOf(r.body, start, r.ends[i - 1]!), results: i - first });
      start = r.ends[i - 1]!;
      first = i;
    }
  }
  out.push({ body: copyOf(r.body, start, r.body.length), results: r.ends.length - first });
  return out;
}

/** The whole AgentMessage of a report, sent at `sentAtMs`. */
export function frameReport(r: WireReport, sentAtMs: number): Buffer {
  const head = [REPORT_SEQUENCE, ...varint(r.sequence), REPORT_ROUND, ...varint(r.round), REPORT_SENT_AT, ...varint(Math.max(0, Math.trunc(sentAtMs)))];
  const length = head.length + r.body.length;
  const prefix = [AGENT_MESSAGE_REPORT, ...varint(length)];
  const out = Buffer.allocUnsafe(prefix.length + length);
  out.set(prefix, 0);
  out.set(head, prefix.length);
  r.body.copy(out, prefix.length + head.length);
  return out;
}

function copyOf(b: Buffer, start: number, end: number): Buffer {
  // allocUnsafeSlow: a buffer of exactly this size, not a slice of the shared pool.
  const out = Buffer.allocUnsafeSlow(end - start);
  b.copy(out, 0, start, end);
  return out;
}

/** A non-negative integer up to 2^53 as a protobuf varint (no bit operations: they are 32-bit). */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function readVarint(b: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    value += (b[i]! & 0x7f) * scale;
    scale *= 0x80;
    if (b[i]! < 0x80) return [value, i + 1];
  }
  throw new Error(`encodeResults: bad varint at ${at}`);
}
