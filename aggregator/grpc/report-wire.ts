// Agent messages off the wire. A Report, the bulk of what agents send (at
// 1,000 nodes, 4,000 results every 5 s from each), is decoded here straight
// from the protobuf wire format into a ReportBatch (../report-batch.ts), with
// no object per result: protobufjs (through proto-loader) made two objects
// and their strings per result, about half of the aggregator's CPU under
// 1,000 agents plus most of its garbage. Every other message (Hello,
// CniSnapshot), and an AgentMessage of an unexpected shape (two reports, a
// report beside another member of the oneof, a member with another wire
// type), goes to proto-loader as before; its report, if any, then becomes a
// batch too.
//
// Protobuf rules as the other runtimes apply them: fields in any order, the
// last value of a non-repeated field wins, unknown fields are skipped whatever
// their wire type (groups included), and a known field arriving with another
// wire type than its own is unknown too (C++ and Go treat it so; protobufjs
// misreads it). Refused with a WireError naming the result and field: a length
// or varint running past the end of its message (truncated input), a varint
// longer than 10 bytes, wire types 6 and 7, an end-group without its start,
// groups nested deeper than 100, field number 0. proto-loader threw on
// truncated input too; grpc-js ends the stream with INTERNAL either way.
//
// The collector gives a batch back once ingested (releaseBatch), and the next
// report is decoded into it.
import type { AgentMessage__Output } from '../../proto/load.js';
import { dnsTypes } from '../../common/vocabulary.js';
import type { DnsResultWire, ResultInput } from '../agents.js';
import { batchOf, DNS_KIND, ReportBatch } from '../report-batch.js';
import { AGENT_MESSAGE_REPORT, REPORT_SEQUENCE, REPORT_ROUND, REPORT_SENT_AT, REPORT_RESULT, RESULT_KIND, RESULT_TARGET_NODE, RESULT_TARGET_IP, RESULT_FAMILY, RESULT_OUTCOME, RESULT_RTT, RESULT_TIMESTAMP, RESULT_HTTP, RESULT_DNS, RESULT_LOOP_DELAY } from '../../proto/wire-tags.js';

/** An agent message as the collector gets it: proto-loader's shape, but its report a batch. */
export type AgentMessageIn = Omit<AgentMessage__Output, 'report'> & { readonly report?: ReportBatch | null };

export class WireError extends Error {
  override readonly name = 'WireError';
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const I32 = 5;
const MAX_GROUP_DEPTH = 100;

/** ProbeResult's field names by number, for errors. */
const RESULT_FIELDS = ['', 'kind', 'target_node', 'target_ip', 'family', 'outcome', 'rtt_us', 'timestamp_ms', 'detail', 'http', 'dns', 'loop_delay_us'];
const DNS_SERVER = 0x0a;
const DNS_NAME = 0x12;
const DNS_TYPE = 0x18;
const DNS_NX_CHECK = 0x20;
const DNS_ANSWERS = 0x2a;
const DNS_RCODE = 0x32;
const DNS_TCP = 0x38;
const DNS_IGNORED = 0x40;
const DNS_TCP_CHECK = 0x48;

// The reader's state: one message is decoded at a time, synchronously, so the
// position and the high half of the last varint live here rather than in an
// object per call.
let pos = 0;
let hi = 0;

function fail(what: string): never {
  throw new WireError(`${what} at byte ${pos}`);
}

/** Prefixes a WireError with where it happened; anything else is a bug and passes through. */
function within(e: unknown, where: string): unknown {
  return e instanceof WireError ? new WireError(`${where}: ${e.message}`) : e;
}

/** The varint at `pos`, not reading past `end`: its low 32 bits unsigned, the high 32 in `hi`. */
function varint(buf: Uint8Array, end: number): number {
  let p = pos;
  // Within 10 bytes of the buffer's end, every byte is checked. Elsewhere the
  // varint is read unrolled and then checked against the end of its message
  // (a result's last fields are always within 10 bytes of it).
  if (buf.length - p < 10) return varintNearEnd(buf, end);
  let b = buf[p++]!;
  let lo = b & 0x7f;
  if (b < 0x80) return done(p, end, lo, 0);
  b = buf[p++]!;
  lo |= (b & 0x7f) << 7;
  if (b < 0x80) return done(p, end, lo, 0);
  b = buf[p++]!;
  lo |= (b & 0x7f) << 14;
  if (b < 0x80) return done(p, end, lo, 0);
  b = buf[p++]!;
  lo |= (b & 0x7f) << 21;
  if (b < 0x80) return done(p, end, lo, 0);
  b = buf[p++]!;
  lo |= (b & 0x0f) << 28;
  let h = (b & 0x7f) >>> 4;
  if (b < 0x80) return done(p, end, lo, h);
  b = buf[p++]!;
  h |= (b & 0x7f) << 3;
  if (b < 0x80) return done(p, end, lo, h);
  b = buf[p++]!;
  h |= (b & 0x7f) << 10;
  if (b < 0x80) return done(p, end, lo, h);
  b = buf[p++]!;
  h |= (b & 0x7f) << 17;
  if (b < 0x80) return done(p, end, lo, h);
  b = buf[p++]!;
  h |= (b & 0x7f) << 24;
  if (b < 0x80) return done(p, end, lo, h);
  // The tenth byte holds bit 63; bits past it are dropped, as every runtime does.
  b = buf[p++]!;
  h |= (b & 1) << 31;
  if (b < 0x80) return done(p, end, lo, h);
  pos = Math.min(p, end);
  return fail(p > end ? 'varint runs past the end of its message' : 'varint longer than 10 bytes');
}

function done(p: number, end: number, lo: number, h: number): number {
  if (p > end) {
    pos = end;
    fail('varint runs past the end of its message');
  }
  pos = p;
  hi = h >>> 0;
  return lo >>> 0;
}

/** varint() within 10 bytes of the end of the buffer: every byte checked against the end of its message. */
function varintNearEnd(buf: Uint8Array, end: number): number {
  let lo = 0;
  let h = 0;
  let b: number;
  let shift = 0;
  do {
    if (pos >= end) fail('varint runs past the end of its message');
    b = buf[pos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      h = (b & 0x7f) >>> 4;
    } else if (shift < 63) h |= (b & 0x7f) << (shift - 32);
    else {
      h |= (b & 1) << 31;
      if (b & 0x80) fail('varint longer than 10 bytes');
    }
    shift += 7;
  } while (b & 0x80);
  hi = h >>> 0;
  return lo >>> 0;
}

/** A tag: field number 1 to 2^29 − 1 and wire type. */
function tag(buf: Uint8Array, end: number): number {
  const t = varint(buf, end);
  if (t < 8 || hi !== 0) fail(`field number ${hi !== 0 ? 'over 2^29' : 0}`);
  return t;
}

/** A length prefix that must fit in what is left of the message. */
function length(buf: Uint8Array, end: number): number {
  const n = varint(buf, end);
  if (hi !== 0 || n > end - pos) fail(`length ${hi !== 0 ? hi * 2 ** 32 + n : n} runs past the end of its message (${end - pos} bytes left)`);
  return n;
}

/** Reads a length prefix; returns where its bytes end (they start at `pos`). */
function lengthEnd(buf: Uint8Array, end: number): number {
  const n = length(buf, end);
  return pos + n;
}

/** int64 as proto-loader gives it with longs: Number (protobufjs LongBits.toNumber). */
function int64(lo: number, h: number): number {
  if (h >>> 31 === 0) return lo + h * 4294967296;
  const l = (~lo + 1) >>> 0;
  let x = ~h >>> 0;
  if (l === 0) x = (x + 1) >>> 0;
  return -(l + x * 4294967296);
}

/** Skips one field of wire type `wire` (its tag read). */
function skip(buf: Uint8Array, end: number, wire: number, field: number, depth: number): void {
  switch (wire) {
    case VARINT:
      varint(buf, end);
      return;
    case I64:
      if (end - pos < 8) fail(`fixed64 of field ${field} runs past the end of its message`);
      pos += 8;
      return;
    case LEN:
      pos = lengthEnd(buf, end);
      return;
    case I32:
      if (end - pos < 4) fail(`fixed32 of field ${field} runs past the end of its message`);
      pos += 4;
      return;
    case START_GROUP:
      if (depth >= MAX_GROUP_DEPTH) fail(`groups nested deeper than ${MAX_GROUP_DEPTH}`);
      for (;;) {
        if (pos >= end) fail(`group of field ${field} has no end`);
        const t = tag(buf, end);
        if ((t & 7) === END_GROUP) {
          if (t >>> 3 !== field) fail(`end-group of field ${t >>> 3} inside the group of field ${field}`);
          return;
        }
        skip(buf, end, t & 7, t >>> 3, depth + 1);
      }
    case END_GROUP:
      fail(`end-group of field ${field} without its start`);
    default:
      fail(`invalid wire type ${wire} (field ${field})`);
  }
}

/** Checks a message nobody reads (HttpTimings) is well formed, as protobufjs's decoding of it would have. */
function skipMessage(buf: Uint8Array, end: number): void {
  while (pos < end) {
    const t = tag(buf, end);
    skip(buf, end, t & 7, t >>> 3, 0);
  }
}

function text(buf: Buffer, end: number): string {
  const n = length(buf, end);
  // As protobufjs reads strings from a Buffer (utf8Slice): invalid UTF-8 becomes U+FFFD, never an error.
  return buf.toString('utf8', pos, (pos += n));
}

function bool(buf: Uint8Array, end: number): boolean {
  return varint(buf, end) !== 0 || hi !== 0;
}

/** DnsType names by wire number, as proto-loader gives them (enums: String); it gives the number for one the schema lacks. */
const DNS_TYPE_NAMES: readonly string[] = ['DNS_TYPE_UNSPECIFIED', ...dnsTypes.words.map((w) => dnsTypes.toProto(w))];

function decodeDns(buf: Buffer, end: number): DnsResultWire & { readonly tcp: boolean; readonly ignored: number } {
  let server = '';
  let name = '';
  let type = 0;
  let nxCheck = false;
  const answers: string[] = [];
  let rcode = '';
  let tcp = false;
  let ignored = 0;
  let tcpCheck = false;
  while (pos < end) {
    const t = tag(buf, end);
    switch (t) {
      case DNS_SERVER: server = text(buf, end); break;
      case DNS_NAME: name = text(buf, end); break;
      case DNS_TYPE: type = varint(buf, end) | 0; break;
      case DNS_NX_CHECK: nxCheck = bool(buf, end); break;
      case DNS_ANSWERS: answers.push(text(buf, end)); break;
      case DNS_RCODE: rcode = text(buf, end); break;
      case DNS_TCP: tcp = bool(buf, end); break;
      case DNS_IGNORED: ignored = varint(buf, end); break;
      case DNS_TCP_CHECK: tcpCheck = bool(buf, end); break;
      default: skip(buf, end, t & 7, t >>> 3, 0);
    }
  }
  return { server, name, type: (type >= 0 ? DNS_TYPE_NAMES[type] : undefined) ?? type, nxCheck, answers, rcode, tcp, ignored, tcpCheck };
}

interface Name {
  readonly hash: number;
  readonly bytes: Uint8Array;
  readonly value: string;
  /** The batch that last used it (Names.batch), and its index in that batch's targets. */
  batch: number;
  id: number;
}

/** Names longer than this are no node's (DNS-1123: 253): not kept, each occurrence a string of its own. */
const MAX_NAME_BYTES = 253;
const MAX_NAMES = 1 << 16;

/**
 * Target node names by their bytes, across reports: a name seen before costs a
 * hash and a compare instead of a new string. At most MAX_NAMES are kept (an
 * agent sending made-up names only empties it now and then).
 */
class Names {
  private table: (Name | undefined)[] = new Array<Name | undefined>(1024);
  private count = 0;
  batch = 0;

  /** The index in b.targets of the name in buf[s, e), adding it there on its first use in this batch. */
  id(buf: Buffer, s: number, e: number, b: ReportBatch): number {
    let h = 0x811c9dc5;
    for (let j = s; j < e; j++) h = Math.imul(h ^ buf[j]!, 0x01000193);
    let mask = this.table.length - 1;
    let k = h & mask;
    for (let x = this.table[k]; x !== undefined; x = this.table[k]) {
      if (x.hash === h && same(x.bytes, buf, s, e)) return this.use(x, b);
      k = (k + 1) & mask;
    }
    const value = buf.toString('utf8', s, e);
    if (e - s > MAX_NAME_BYTES) {
      b.targets.push(value);
      return b.targets.length - 1;
    }
    if (this.count >= this.table.length >>> 1) {
      // Grow while it may, then start afresh: names of removed nodes go too.
      const old = this.table.length < 2 * MAX_NAMES ? this.table : [];
      this.table = new Array<Name | undefined>(old.length > 0 ? old.length * 2 : 1024);
      this.count = 0;
      mask = this.table.length - 1;
      for (const x of old) if (x !== undefined) this.insert(x, mask);
      k = this.insert(undefined, mask, h);
    }
    const bytes = new Uint8Array(e - s);
    bytes.set(buf.subarray(s, e));
    const x: Name = { hash: h, bytes, value, batch: -1, id: 0 };
    this.table[k] = x;
    this.count++;
    return this.use(x, b);
  }

  /** Puts x in the first free slot from its hash (or finds that slot for `hash`). */
  private insert(x: Name | undefined, mask: number, hash = x!.hash): number {
    let k = hash & mask;
    while (this.table[k] !== undefined) k = (k + 1) & mask;
    if (x !== undefined) {
      this.table[k] = x;
      this.count++;
    }
    return k;
  }

  private use(x: Name, b: ReportBatch): number {
    if (x.batch !== this.batch) {
      x.batch = this.batch;
      x.id = b.targets.length;
      b.targets.push(x.value);
    }
    return x.id;
  }
}

function same(bytes: Uint8Array, buf: Uint8Array, s: number, e: number): boolean {
  if (bytes.length !== e - s) return false;
  for (let j = 0; j < bytes.length; j++) if (bytes[j] !== buf[s + j]) return false;
  return true;
}

function sameRange(buf: Uint8Array, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let j = 0; j < e1 - s1; j++) if (buf[s1 + j] !== buf[s2 + j]) return false;
  return true;
}

const names = new Names();

// Batches the collector has ingested, for the next reports. A batch's columns
// are one ArrayBuffer outside the V8 heap: at 1,000 agents, 20 MB/s of them,
// enough external memory to bring on a mark-compact every second or so.
const POOL_MAX = 16;
/** A batch with room for more results than this is not kept. */
const POOL_MAX_CAPACITY = 1 << 16;
const pool: ReportBatch[] = [];

/** A batch for `count` results: a released one with room for them, or a new one (room rounded up, to fit its successors). */
function takeBatch(count: number): ReportBatch {
  for (let i = pool.length - 1; i >= 0; i--) {
    const b = pool[i]!;
    if (b.capacity < count) continue;
    pool[i] = pool[pool.length - 1]!;
    pool.pop();
    b.reuse(count);
    return b;
  }
  return new ReportBatch(count, count <= 256 ? 256 : 2 ** Math.ceil(Math.log2(count)));
}

/**
 * Gives a batch back once ingested and no longer used (AgentSessions.reportBatch
 * keeps nothing of it), so that the next report's decoding reuses its columns.
 */
export function releaseBatch(b: ReportBatch): void {
  if (pool.length < POOL_MAX && b.capacity <= POOL_MAX_CAPACITY && !pool.includes(b)) pool.push(b);
}

/** Decodes the Report in buf[start, end) into a batch. */
export function decodeReport(buf: Buffer, start: number, end: number): ReportBatch {
  // First pass: the report's own fields, and how many results to make room for.
  let count = 0;
  let sequence = 0;
  let round = 0;
  let sentAtMs = 0;
  pos = start;
  try {
    while (pos < end) {
      const t = tag(buf, end);
      switch (t) {
        case REPORT_SEQUENCE: sequence = varint(buf, end) + hi * 4294967296; break;
        case REPORT_ROUND: round = varint(buf, end) + hi * 4294967296; break;
        case REPORT_SENT_AT: sentAtMs = int64(varint(buf, end), hi); break;
        case REPORT_RESULT:
          pos = lengthEnd(buf, end);
          count++;
          break;
        default: skip(buf, end, t & 7, t >>> 3, 0);
      }
    }
  } catch (e) {
    throw within(e, 'Report');
  }
  const b = takeBatch(count);
  b.sequence = sequence;
  b.round = round;
  b.sentAtMs = sentAtMs;
  names.batch++;
  // Second pass: the results (the report's framing is known good now).
  pos = start;
  let i = 0;
  // The previous result's target: results come grouped by target (every kind towards one node), so a
  // compare with it mostly saves hashing the name.
  let prevStart = -1;
  let prevEnd = -1;
  let prevId = -1;
  while (pos < end) {
    const t = tag(buf, end);
    if (t !== REPORT_RESULT) {
      skip(buf, end, t & 7, t >>> 3, 0);
      continue;
    }
    const resultEnd = lengthEnd(buf, end);
    let kind = 0;
    let family = 0;
    let outcome = 0;
    let rtt = 0;
    let loopDelay = 0;
    let ts = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let ipStart = 0;
    let ipEnd = 0;
    let dnsStart = -1;
    let dnsEnd = -1;
    let field = 0;
    try {
      while (pos < resultEnd) {
        field = 0;
        let r = buf[pos]!;
        if (r < 0x80 && r >= 8) pos++;
        else r = tag(buf, resultEnd);
        field = r >>> 3;
        switch (r) {
          case RESULT_KIND: kind = varint(buf, resultEnd) | 0; break;
          case RESULT_TARGET_NODE: {
            const n = length(buf, resultEnd);
            nameStart = pos;
            nameEnd = pos += n;
            break;
          }
          case RESULT_TARGET_IP: {
            const n = length(buf, resultEnd);
            ipStart = pos;
            ipEnd = pos += n;
            break;
          }
          case RESULT_FAMILY: family = varint(buf, resultEnd) | 0; break;
          case RESULT_OUTCOME: outcome = varint(buf, resultEnd) | 0; break;
          case RESULT_RTT: rtt = varint(buf, resultEnd); break;
          case RESULT_LOOP_DELAY: loopDelay = varint(buf, resultEnd); break;
          case RESULT_TIMESTAMP: ts = varint(buf, resultEnd); ts = hi === 0 ? ts : int64(ts, hi); break;
          case RESULT_HTTP: skipMessage(buf, lengthEnd(buf, resultEnd)); break;
          case RESULT_DNS: {
            dnsEnd = lengthEnd(buf, resultEnd);
            dnsStart = pos;
            skipMessage(buf, dnsEnd);
            break;
          }
          default: skip(buf, resultEnd, r & 7, field, 0);
        }
      }
    } catch (e) {
      throw within(e, `Report.results[${i}]${field > 0 ? `.${RESULT_FIELDS[field] ?? `field ${field}`}` : ''}`);
    }
    b.kind[i] = kind;
    b.family[i] = family;
    b.outcome[i] = outcome;
    b.rttUs[i] = rtt;
    b.loopDelayUs[i] = loopDelay;
    b.timestampMs[i] = ts;
    const id = prevId >= 0 && sameRange(buf, nameStart, nameEnd, prevStart, prevEnd) ? prevId : names.id(buf, nameStart, nameEnd, b);
    b.target[i] = id;
    prevStart = nameStart;
    prevEnd = nameEnd;
    prevId = id;
    if (kind === DNS_KIND) {
      let dns: ResultInput['dns'] = null;
      if (dnsStart >= 0) {
        pos = dnsStart;
        dns = decodeDns(buf, dnsEnd);
      }
      const res: ResultInput = {
        kind,
        targetNode: b.targets[id]!,
        targetIp: buf.toString('utf8', ipStart, ipEnd),
        family,
        outcome,
        rttUs: rtt,
        timestampMs: ts,
        dns,
        loopDelayUs: loopDelay,
      };
      b.dns.push(res);
      pos = resultEnd;
    }
    i++;
  }
  return b;
}

/**
 * The Collector's request deserializer: a lone Report straight into a batch,
 * anything else through `fallback` (proto-loader's), its report made a batch.
 */
export function decodeAgentMessage(buf: Buffer, fallback: (buf: Buffer) => AgentMessage__Output): AgentMessageIn {
  let reportStart = -1;
  let reportEnd = -1;
  let reports = 0;
  let other = false;
  pos = 0;
  const end = buf.length;
  try {
    while (pos < end) {
      const t = tag(buf, end);
      const field = t >>> 3;
      if (t === AGENT_MESSAGE_REPORT) {
        reportEnd = lengthEnd(buf, end);
        reportStart = pos;
        pos = reportEnd;
        reports++;
      } else if (field <= 3) {
        // hello or cni, or a member of the oneof with another wire type: proto-loader's, as before.
        other = true;
        break;
      } else skip(buf, end, t & 7, field, 0);
    }
  } catch (e) {
    throw within(e, 'AgentMessage');
  }
  if (other || reports !== 1) {
    const m = fallback(buf);
    return m.report ? { ...m, report: batchOf(m.report) } : (m as AgentMessageIn);
  }
  return { hello: null, report: decodeReport(buf, reportStart, reportEnd), cni: null, msg: 'report' };
}
