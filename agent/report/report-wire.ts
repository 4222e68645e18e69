// Reports on the wire, encoded once. A round's results are serialized when the
// round ends, written directly in the wire format (encodeRecords: the bytes the
// Collector method's own serializer writes, which encodeResults uses and the
// tests compare against), and split into
// reports that fit the message limits (the aggregator refuses a larger one,
// and would refuse it again on every stream). The outboxes keep the encoded
// results, shared by every aggregator's outbox: compact, and their size is
// what the byte bound counts and what goes on the wire. A (re)send only puts
// the report's sequence, round and sent_at in front (sent_at is the time of
// that send, as the proto says), and the stream's serializer passes the
// result through unchanged (connection.ts).
import { addressFamilies, dnsTypes, outcomes, probeKinds, type Outcome } from '../../common/vocabulary.js';
import { loadProto, type AgentMessage, type WireProbeResult } from '../../proto/load.js';
import { RESULT_FAMILY, RESULT_HTTP, RESULT_KIND, RESULT_LOOP_DELAY, RESULT_OUTCOME, RESULT_RTT, RESULT_TARGET_IP, RESULT_TARGET_NODE, RESULT_TIMESTAMP } from '../../proto/wire-tags.js';
import { readVarint, varintBytes, varintLength, writeVarint } from '../../proto/varint.js';
import type { ProbeSpec } from '../peers.js';
import type { ProbeRecord } from '../scheduler.js';

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
  const [len, start] = readVarint(all, 1, 'encoded message');
  if (start + len !== all.length) throw new Error('encodeResults: the report field is not the whole message');
  const body = all.subarray(start);
  const ends: number[] = [];
  let at = 0;
  while (at < body.length) {
    if (body[at] !== REPORT_RESULT) throw new Error(`encodeResults: unexpected tag ${body[at]} at ${at}`);
    const [n, next] = readVarint(body, at + 1, 'encoded result');
    at = next + n;
    ends.push(at);
  }
  if (ends.length !== results.length) throw new Error(`encodeResults: ${ends.length} results encoded for ${results.length}`);
  return { body, ends };
}

/** A probe record as the proto loader's ProbeResult object (what encodeRecords writes directly). */
export function toWire(p: ProbeRecord): WireProbeResult {
  return {
    kind: probeKinds.toProto(p.spec.kind),
    targetNode: p.spec.node,
    targetIp: p.spec.ip,
    family: addressFamilies.toProto(p.spec.family),
    outcome: outcomes.toProto(p.result.outcome),
    rttUs: p.result.rttUs,
    timestampMs: p.startedAt,
    detail: p.result.detail ?? '',
    // Only when marked: an unmarked result stays as short as before.
    ...(p.loopDelayUs !== undefined ? { loopDelayUs: p.loopDelayUs } : {}),
    ...(p.result.http ? { http: p.result.http } : {}),
    // A probe the scheduler's deadline settled has no dns detail: the spec still names the server.
    ...(p.spec.dns
      ? {
          dns: {
            server: p.spec.dns.server,
            name: p.result.dns?.name ?? (p.spec.dns.nxZone !== undefined ? '' : p.spec.dns.name),
            type: dnsTypes.toProto(p.spec.dns.type === 'A' ? 'a' : 'aaaa'),
            nxCheck: p.spec.dns.nxZone !== undefined,
            tcpCheck: p.spec.dns.tcpCheck === true,
            answers: [...(p.result.dns?.answers ?? [])],
            rcode: p.result.dns?.rcode ?? '',
            tcp: p.result.dns?.tcp ?? false,
            ignored: p.result.dns?.ignored ?? 0,
          },
        }
      : {}),
  };
}

/** What a probe spec contributes to every result of it (kind, target node and IP, family), encoded once. */
const specPrefix = new WeakMap<ProbeSpec, Buffer>();

function prefixOf(spec: ProbeSpec): Buffer {
  let b = specPrefix.get(spec);
  if (b) return b;
  b = encodeResultPrefix(kindWire(spec), Buffer.from(spec.node), Buffer.from(spec.ip), familyWire(spec));
  specPrefix.set(spec, b);
  return b;
}

/** A result's fields that depend only on what was probed (kind, target node, address, family), encoded. */
export function encodeResultPrefix(kind: number, node: Buffer, ip: Buffer, family: number): Buffer {
  const b = Buffer.allocUnsafeSlow(1 + varintLength(kind) + 1 + varintLength(node.length) + node.length + 1 + varintLength(ip.length) + ip.length + 1 + varintLength(family));
  let pos = 0;
  b[pos++] = RESULT_KIND;
  pos = writeVarint(b, pos, kind);
  b[pos++] = RESULT_TARGET_NODE;
  pos = writeVarint(b, pos, node.length);
  pos += node.copy(b, pos);
  b[pos++] = RESULT_TARGET_IP;
  pos = writeVarint(b, pos, ip.length);
  pos += ip.copy(b, pos);
  b[pos++] = RESULT_FAMILY;
  writeVarint(b, pos, family);
  return b;
}

// Enum values on the wire: declaration order from 1 (0 is UNSPECIFIED), as the aggregator's decoder reads them.
const kindWire = (spec: ProbeSpec) => probeKinds.index(spec.kind) + 1;
const familyWire = (spec: ProbeSpec) => addressFamilies.index(spec.family) + 1;
const outcomeOf = (outcome: Outcome) => outcomes.index(outcome) + 1;
const RESULT_DETAIL = 0x42; // ProbeResult.detail = 8, length-delimited

/**
 * A round's records encoded as encodeResults would encode toWire() of each
 * (the same fields, in field order, so the same bytes), written directly: no
 * object per result, the static part of each probe encoded once. A dns
 * result (a few per round) goes through the proto loader.
 */
export function encodeRecords(records: readonly ProbeRecord[]): EncodedResults {
  const n = records.length;
  const sizes = new Array<number>(n);
  const slow = new Array<Buffer | undefined>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = records[i]!;
    let size: number;
    if (p.spec.dns) {
      const one = encodeResults([toWire(p)]);
      slow[i] = one.body;
      total += one.body.length;
      sizes[i] = one.body.length;
      continue;
    }
    const r = p.result;
    const detail = r.detail ?? '';
    const detailBytes = detail === '' ? 0 : Buffer.byteLength(detail);
    size = prefixOf(p.spec).length + 1 + varintLength(outcomeOf(r.outcome)) + 1 + varintLength(r.rttUs) + 1 + varintLength(p.startedAt) + 1 + varintLength(detailBytes) + detailBytes;
    if (r.http) {
      const h = httpLength(r.http);
      size += 1 + varintLength(h) + h;
    }
    if (p.loopDelayUs !== undefined) size += 1 + varintLength(p.loopDelayUs);
    sizes[i] = size;
    total += 1 + varintLength(size) + size;
  }
  const body = Buffer.allocUnsafe(total);
  const ends = new Array<number>(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const fallback = slow[i];
    if (fallback) {
      pos += fallback.copy(body, pos);
      ends[i] = pos;
      continue;
    }
    const p = records[i]!;
    const r = p.result;
    body[pos++] = REPORT_RESULT;
    pos = writeVarint(body, pos, sizes[i]!);
    pos += prefixOf(p.spec).copy(body, pos);
    body[pos++] = RESULT_OUTCOME;
    pos = writeVarint(body, pos, outcomeOf(r.outcome));
    body[pos++] = RESULT_RTT;
    pos = writeVarint(body, pos, r.rttUs);
    body[pos++] = RESULT_TIMESTAMP;
    pos = writeVarint(body, pos, p.startedAt);
    body[pos++] = RESULT_DETAIL;
    const detail = r.detail ?? '';
    if (detail === '') body[pos++] = 0;
    else {
      pos = writeVarint(body, pos, Buffer.byteLength(detail));
      pos += body.write(detail, pos);
    }
    if (r.http) {
      body[pos++] = RESULT_HTTP;
      pos = writeVarint(body, pos, httpLength(r.http));
      body[pos++] = HTTP_CONNECT;
      pos = writeVarint(body, pos, r.http.connectUs);
      body[pos++] = HTTP_FIRST_BYTE;
      pos = writeVarint(body, pos, r.http.firstByteUs);
      body[pos++] = HTTP_TOTAL;
      pos = writeVarint(body, pos, r.http.totalUs);
    }
    if (p.loopDelayUs !== undefined) {
      body[pos++] = RESULT_LOOP_DELAY;
      pos = writeVarint(body, pos, p.loopDelayUs);
    }
    ends[i] = pos;
  }
  if (pos !== total) throw new Error(`encodeRecords: ${pos} bytes written of ${total}`);
  return { body, ends };
}

const HTTP_CONNECT = 0x08; // HttpTimings.connect_us = 1
const HTTP_FIRST_BYTE = 0x10; // HttpTimings.first_byte_us = 2
const HTTP_TOTAL = 0x18; // HttpTimings.total_us = 3

function httpLength(h: { readonly connectUs: number; readonly firstByteUs: number; readonly totalUs: number }): number {
  return 3 + varintLength(h.connectUs) + varintLength(h.firstByteUs) + varintLength(h.totalUs);
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
  const head = [REPORT_SEQUENCE, ...varintBytes(r.sequence), REPORT_ROUND, ...varintBytes(r.round), REPORT_SENT_AT, ...varintBytes(Math.max(0, Math.trunc(sentAtMs)))];
  const length = head.length + r.body.length;
  const prefix = [AGENT_MESSAGE_REPORT, ...varintBytes(length)];
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

