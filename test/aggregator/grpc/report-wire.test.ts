// The hand-written Report decoder against proto-loader's decoding of the same
// bytes, on seeded random reports written field by field: any field order,
// fields missing or repeated (the last wins), unknown fields of every wire
// type at every level (groups nested), non-minimal varints, 64-bit extremes,
// names that are not UTF-8 or not node names at all; and on the same reports
// cut short and with bytes changed. What it refuses is a WireError saying
// where.
import t from 'tap';
import { decodeAgentMessage, decodeReport, releaseBatch, WireError } from '../../../aggregator/grpc/report-wire.js';
import type { DnsResultWire } from '../../../aggregator/agents.js';
import { batchOf, type ReportBatch } from '../../../aggregator/report-batch.js';
import { addressFamilies, dnsTypes, outcomes, probeKinds } from '../../../common/vocabulary.js';
import { loadProto, type AgentMessage__Output } from '../../../proto/load.js';
import { mulberry32 } from '../../helpers/random.js';

const connect = loadProto().netmatrix.v1.Collector.service.Connect;
const reference = (b: Buffer): AgentMessage__Output => connect.requestDeserialize(b);
const decode = (b: Buffer) => decodeAgentMessage(b, reference);

// --- writing the wire format by hand ---

type Bytes = number[];
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** A varint of v (two's complement over 64 bits when negative), `pad` more bytes than it needs (10 at most). */
function varint(v: bigint | number, pad = 0): Bytes {
  let x = BigInt(v);
  if (x < 0n) x += 1n << 64n;
  const out: Bytes = [];
  do {
    out.push(Number(x & 0x7fn));
    x >>= 7n;
  } while (x > 0n);
  while (pad-- > 0 && out.length < 10) out.push(0);
  return out.map((b, i) => (i < out.length - 1 ? b | 0x80 : b));
}
const key = (field: number, wire: number, pad = 0) => varint(field * 8 + wire, pad);
const fVarint = (field: number, v: bigint | number, pad = 0): Bytes => [...key(field, VARINT), ...varint(v, pad)];
const fLen = (field: number, payload: Bytes, pad = 0): Bytes => [...key(field, LEN), ...varint(payload.length, pad), ...payload];
const utf8 = (s: string): Bytes => [...Buffer.from(s)];

type Random = () => number;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
function shuffle<T>(r: Random, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(r, 0, i);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
/** Lengths and 32-bit values padded at most to 5 bytes: protobufjs reads those as uint32 (5 bytes, or skips 5 more). */
const pad32 = (r: Random, v: number) => (r() < 0.1 ? Math.max(0, 5 - varint(v).length - int(r, 0, 1)) : 0);

/** An unknown field numbered from `min` up, of any wire type; a group holds more of them. */
function unknown(r: Random, min: number, depth = 0): Bytes {
  const field = r() < 0.1 ? 2 ** 29 - 1 : int(r, min, min + 200);
  switch (int(r, 0, depth < 3 ? 4 : 3)) {
    case 0:
      return fVarint(field, pick(r, [0, 1, 300, -1, 2n ** 63n]));
    case 1:
      return [...key(field, I64), ...Array.from({ length: 8 }, () => int(r, 0, 255))];
    case 2:
      return fLen(field, Array.from({ length: int(r, 0, 12) }, () => int(r, 0, 255)));
    case 3:
      return [...key(field, I32), ...Array.from({ length: 4 }, () => int(r, 0, 255))];
    default: {
      const inner = Array.from({ length: int(r, 0, 3) }, () => unknown(r, 1, depth + 1)).flat();
      return [...key(field, 3), ...inner, ...key(field, 4)];
    }
  }
}

/** A message from its fields: some missing, some twice, shuffled, unknown ones between. */
function message(r: Random, fields: (() => Bytes)[], unknownFrom: number): Bytes {
  const parts: Bytes[] = [];
  for (const f of fields) {
    const times = r() < 0.15 ? 0 : r() < 0.1 ? 2 : 1;
    for (let i = 0; i < times; i++) parts.push(f());
  }
  for (let i = r() < 0.3 ? int(r, 1, 3) : 0; i > 0; i--) parts.push(unknown(r, unknownFrom));
  return shuffle(r, parts).flat();
}

const NAMES: Bytes[] = [
  ...['node-a', 'node-b', 'node-c', 'worker-17.example', '', 'nöde-ü', '10.0.0.1'].map(utf8),
  utf8('n'.repeat(300)),
  [0xff, 0xfe, 0x41], // not UTF-8: U+FFFD, as protobufjs reads it
  [0xc3], // a cut multi-byte sequence
];
const INT32S = [0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 99, -1, 2 ** 31 - 1, -(2 ** 31)];
const INT64S: (bigint | number)[] = [0, 1, 1_700_000_000_123, -1, -1_700_000_000_000, 2 ** 53 + 1, 2n ** 60n + 12345n, -(2n ** 63n), 2n ** 63n - 1n];
const UINT64S: (bigint | number)[] = [0, 1, 7, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 1, 2n ** 64n - 1n];
const UINT32S = [0, 1, 500, 2 ** 31, 2 ** 32 - 1];

function dnsResult(r: Random): Bytes {
  const str = () => pick(r, NAMES);
  return message(
    r,
    [
      () => fLen(1, str()),
      () => fLen(2, str()),
      () => fVarint(3, pick(r, [0, 1, 2, 9, -1])),
      () => fVarint(4, int(r, 0, 1)),
      ...Array.from({ length: int(r, 0, 3) }, () => () => fLen(5, str())),
      () => fLen(6, utf8(pick(r, ['NOERROR', 'NXDOMAIN', '']))),
      () => fVarint(7, int(r, 0, 1)),
      () => fVarint(8, pick(r, UINT32S)),
      () => fVarint(9, int(r, 0, 1)),
    ],
    10,
  );
}

function probeResult(r: Random): Bytes {
  const enumValue = (valid: number) => (r() < 0.85 ? int(r, 1, valid) : pick(r, INT32S));
  const v32 = (field: number, v: number) => fVarint(field, v, v >= 0 ? pad32(r, v) : 0);
  const kind = enumValue(6);
  return message(
    r,
    [
      () => v32(1, kind),
      () => {
        const name = pick(r, NAMES);
        return fLen(2, name, pad32(r, name.length));
      },
      () => fLen(3, utf8(pick(r, ['10.96.0.10', '192.0.2.1', '2001:db8::1', '']))),
      () => v32(4, enumValue(2)),
      () => v32(5, enumValue(12)),
      () => v32(6, pick(r, UINT32S)),
      () => fVarint(7, pick(r, INT64S), r() < 0.1 ? 1 : 0),
      () => fLen(8, utf8(pick(r, ['', 'connection refused', 'ünïcode']))),
      () => fLen(9, message(r, [() => fVarint(1, 10), () => fVarint(2, 20), () => fVarint(3, 30)], 4)),
      ...(kind === 6 || r() < 0.1 ? [() => fLen(10, dnsResult(r))] : []),
      // loop_delay_us: absent from most results, as agents send it.
      ...(r() < 0.3 ? [() => v32(11, pick(r, UINT32S))] : []),
    ],
    12,
  );
}

function report(r: Random, results = int(r, 0, 30)): Bytes {
  return message(
    r,
    [
      () => fVarint(1, pick(r, UINT64S), r() < 0.1 ? 2 : 0),
      () => fVarint(2, pick(r, UINT64S)),
      () => fVarint(3, pick(r, INT64S)),
      ...Array.from({ length: results }, () => () => fLen(4, probeResult(r))),
    ],
    5,
  );
}

/** AgentMessage{report}, with unknown fields around it now and then. */
function agentMessage(r: Random, body = report(r)): Buffer {
  const parts = [fLen(2, body, pad32(r, body.length))];
  for (let i = r() < 0.2 ? int(r, 1, 2) : 0; i > 0; i--) parts.push(unknown(r, 4));
  return Buffer.from(shuffle(r, parts).flat());
}

// --- comparing ---

const numbers = (v: { words: readonly string[]; toProto(w: never): string }) => new Map<string | number, number>(v.words.map((w, i) => [v.toProto(w as never), i + 1]));
const ENUMS = { kind: numbers(probeKinds), outcome: numbers(outcomes), family: numbers(addressFamilies), type: numbers(dnsTypes) };
/** proto-loader's enum names as numbers (UNSPECIFIED 0; a number stays). */
const wire = (names: Map<string | number, number>, v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.endsWith('_UNSPECIFIED') ? 0 : (names.get(v as string) ?? v));

/** Every DnsResult field, in one order (proto-loader's objects have their own). */
const dnsFields = (d: DnsResultWire & { tcp: boolean; ignored: number }) => ({
  server: d.server,
  name: d.name,
  type: wire(ENUMS.type, d.type),
  nxCheck: d.nxCheck,
  answers: d.answers,
  rcode: d.rcode,
  tcp: d.tcp,
  ignored: d.ignored,
  tcpCheck: d.tcpCheck,
});

/** A batch as plain rows, names resolved, so that two batches compare whatever ids they gave their names. */
function rows(b: ReportBatch) {
  const results = Array.from({ length: b.length }, (_, i) => ({
    kind: b.kind[i],
    outcome: b.outcome[i],
    family: b.family[i],
    rttUs: b.rttUs[i],
    loopDelayUs: b.loopDelayUs[i],
    timestampMs: b.timestampMs[i],
    targetNode: b.targets[b.target[i]!],
  }));
  const dns = b.dns.map((x) => ({
    kind: wire(ENUMS.kind, x.kind),
    targetNode: x.targetNode,
    targetIp: x.targetIp,
    family: wire(ENUMS.family, x.family),
    outcome: wire(ENUMS.outcome, x.outcome),
    rttUs: x.rttUs,
    loopDelayUs: x.loopDelayUs,
    timestampMs: x.timestampMs,
    dns: x.dns ? dnsFields(x.dns as DnsResultWire & { tcp: boolean; ignored: number }) : null,
  }));
  return { sequence: b.sequence, round: b.round, sentAtMs: b.sentAtMs, length: b.length, results, dns };
}

type Rows = ReturnType<typeof rows> | null;

/** The reference decoding as a batch (null: no report), or the error proto-loader threw. */
function expected(bytes: Buffer): Rows | Error {
  let m: AgentMessage__Output;
  try {
    m = reference(bytes);
  } catch (e) {
    return e as Error;
  }
  return m.report ? rows(batchOf(m.report)) : null;
}

function actual(bytes: Buffer): Rows | Error {
  try {
    const m = decode(bytes);
    return m.report ? rows(m.report) : null;
  } catch (e) {
    // Anything but a WireError must be proto-loader's own, from a message left to it.
    if (!(e instanceof WireError) && !(expected(bytes) instanceof Error)) throw e;
    return e as Error;
  }
}

t.test('seeded random reports decode as proto-loader decodes them', async (t) => {
  const r = mulberry32(0x5eed_0001);
  let results = 0;
  let dns = 0;
  for (let n = 0; n < 600; n++) {
    const bytes = agentMessage(r);
    const want = expected(bytes);
    if (want instanceof Error) throw new Error(`case ${n}: proto-loader refused a well-formed message: ${want.message}`);
    const got = actual(bytes);
    if (got instanceof Error) return t.fail(`case ${n}: ${got.message}`);
    t.same(got, want, `case ${n}`);
    results += got!.length;
    dns += got!.dns.length;
  }
  t.ok(results > 5_000 && dns > 300, `${results} results, ${dns} of them DNS`);
});

t.test('what the agent writes (protobufjs) decodes the same', async (t) => {
  const r = mulberry32(0x5eed_0002);
  for (let n = 0; n < 100; n++) {
    const results = Array.from({ length: int(r, 0, 20) }, () => ({
      kind: pick(r, ['PROBE_KIND_ICMP', 'PROBE_KIND_TCP', 'PROBE_KIND_HTTP', 'PROBE_KIND_DNS', 'PROBE_KIND_MTU', 'PROBE_KIND_NODE'] as const),
      targetNode: pick(r, ['node-a', 'node-b', '']),
      targetIp: '192.0.2.7',
      family: pick(r, ['ADDRESS_FAMILY_IPV4', 'ADDRESS_FAMILY_IPV6'] as const),
      outcome: pick(r, ['OUTCOME_OK', 'OUTCOME_TIMEOUT', 'OUTCOME_REFUSED'] as const),
      rttUs: int(r, 0, 100_000),
      timestampMs: 1_700_000_000_000 + int(r, 0, 1e6),
      detail: r() < 0.5 ? '' : 'no route',
      http: r() < 0.3 ? { connectUs: 1, firstByteUs: 2, totalUs: 3 } : null,
      dns: r() < 0.3 ? { server: 'service', name: 'kubernetes.default', type: 'DNS_TYPE_A' as const, nxCheck: false, answers: ['10.96.0.1'], rcode: 'NOERROR', tcp: false, ignored: 0, tcpCheck: r() < 0.5 } : null,
      // As the reporter writes it: only on a marked result.
      ...(r() < 0.3 ? { loopDelayUs: int(r, 1, 2 ** 32 - 1) } : {}),
    }));
    const bytes = connect.requestSerialize({ report: { sequence: n + 1, round: n, sentAtMs: 1_700_000_001_000, results } });
    const got = actual(bytes);
    t.same(got, expected(bytes), `case ${n}`, { diagnostic: false });
    if (got instanceof Error || got === null) continue;
    t.same(
      got.results.map((x) => x.loopDelayUs),
      results.map((x) => ('loopDelayUs' in x ? x.loopDelayUs : 0)),
      `case ${n}: loop_delay_us as written (0 where absent)`,
      { diagnostic: false },
    );
  }
});

t.test('cut short anywhere: refused where proto-loader refuses, the same where it does not', async (t) => {
  const r = mulberry32(0x5eed_0003);
  let refused = 0;
  for (let n = 0; n < 40; n++) {
    const bytes = agentMessage(r, report(r, int(r, 1, 4)));
    for (let cut = 1; cut < bytes.length; cut++) {
      const short = bytes.subarray(0, cut);
      const want = expected(short);
      const got = actual(short);
      if (want instanceof Error) {
        if (!(got instanceof Error)) return t.fail(`case ${n} cut at ${cut}: proto-loader refused (${want.message}), decoded as ${JSON.stringify(got).slice(0, 200)}`);
        refused++;
      } else t.same(got, want, `case ${n} cut at ${cut}`, { diagnostic: false });
    }
  }
  t.ok(refused > 1_000, `${refused} cuts refused by both`);
});

t.test('bytes changed at random: a batch or a WireError, never another exception; the same as proto-loader when both decode', async (t) => {
  const r = mulberry32(0x5eed_0004);
  let agree = 0;
  let differ = 0;
  let refused = 0;
  for (let n = 0; n < 3_000; n++) {
    const bytes = Buffer.from(agentMessage(r, report(r, int(r, 1, 5))));
    for (let k = int(r, 1, 3); k > 0; k--) bytes[int(r, 0, bytes.length - 1)] = r() < 0.5 ? int(r, 0, 255) : bytes[int(r, 0, bytes.length - 1)]! ^ (1 << int(r, 0, 7));
    const got = actual(bytes); // throws anything but a WireError
    if (got instanceof Error) {
      if (got instanceof WireError) t.match(got.message, /^(AgentMessage|Report)/, 'says where');
      refused++;
      continue;
    }
    const want = expected(bytes);
    if (want instanceof Error) continue;
    // Where protobufjs misreads (a known field with another wire type, a 32-bit varint of 6 to 9 bytes), the two may differ.
    if (JSON.stringify(got) === JSON.stringify(want)) agree++;
    else differ++;
  }
  t.ok(refused > 0 && agree > 0, `${refused} refused, ${agree} decoded as proto-loader does, ${differ} not`);
  t.ok(differ < agree / 20, 'differences are the exception');
});

t.test('malformed input is refused, naming the result and field', async (t) => {
  const result = (...fields: Bytes[]) => Buffer.from(fLen(2, fLen(4, fields.flat())));
  const cases: [string, Buffer, RegExp][] = [
    ['wire type 7', result(fVarint(1, 1), key(5, 7)), /^Report\.results\[0\]\.outcome: invalid wire type 7 \(field 5\) at byte \d+$/],
    ['wire type 6 in an unknown field', result(key(20, 6)), /^Report\.results\[0\]\.field 20: invalid wire type 6/],
    ['a varint of 11 bytes', result([...key(6, VARINT), ...Array(10).fill(0xff), 0x01]), /^Report\.results\[0\]\.rtt_us: varint longer than 10 bytes/],
    ['field number 0', result(fVarint(1, 1), [0x00, 0x01]), /^Report\.results\[0\]: field number 0/],
    ['a name longer than its result', result([...key(2, LEN), 10, 0x61]), /^Report\.results\[0\]\.target_node: length 10 runs past the end of its message \(1 bytes left\)/],
    ['an end-group without its start', result(key(30, 4)), /^Report\.results\[0\]\.field 30: end-group of field 30 without its start/],
    ['a group without its end', result([...key(30, 3), ...fVarint(1, 1)]), /^Report\.results\[0\]\.field 30: group of field 30 has no end/],
    ['a group ended by another field', result([...key(30, 3), ...key(31, 4)]), /end-group of field 31 inside the group of field 30/],
    ['groups nested 101 deep', result([...Array<Bytes>(101).fill(key(30, 3)).flat(), ...Array<Bytes>(101).fill(key(30, 4)).flat()]), /groups nested deeper than 100/],
    ['a malformed HttpTimings', result(fLen(9, [...key(1, VARINT), 0x80])), /^Report\.results\[0\]\.http: varint runs past the end of its message/],
    ['a malformed DnsResult', result(fVarint(1, 6), fLen(10, [...key(5, LEN), 3, 0x61])), /^Report\.results\[0\]\.dns: length 3 runs past/],
    ['a result longer than the report', Buffer.from(fLen(2, [...key(4, LEN), 5, 0x08])), /^Report: length 5 runs past the end of its message/],
    ['a report longer than the message', Buffer.from([...key(2, LEN), 9, ...fVarint(1, 1)]), /^AgentMessage: length 9 runs past the end of its message \(2 bytes left\) at byte 2$/],
    ['a cut tag', Buffer.from([0x92]), /^AgentMessage: varint runs past the end/],
  ];
  for (const [what, bytes, message] of cases) {
    t.throws(() => decode(bytes), { name: 'WireError', message }, what);
  }
  // Only the first result of the second report is bad: its index is named.
  const second = Buffer.from(fLen(2, [...fLen(4, fVarint(1, 1)), ...fLen(4, key(5, 7))]));
  t.throws(() => decode(second), { message: /^Report\.results\[1\]\.outcome: invalid wire type 7/ });
});

t.test('a known field of another wire type is skipped as unknown (protobuf rules); its value stays the default', async (t) => {
  const bytes = Buffer.from(fLen(2, [...fVarint(1, 3), ...fLen(4, [...fLen(1, [1]), ...fLen(2, utf8('node-a')), ...[...key(5, I32), 1, 0, 0, 0], ...fVarint(2, 5)])]));
  const b = decode(bytes).report!;
  t.same(rows(b).results, [{ kind: 0, outcome: 0, family: 0, rttUs: 0, loopDelayUs: 0, timestampMs: 0, targetNode: 'node-a' }]);
  t.equal(b.sequence, 3);
});

t.test('other messages, and a report of an odd shape, are proto-loader\'s; its report becomes a batch', async (t) => {
  const hello = connect.requestSerialize({ hello: { nodeName: 'node-a', podIps: ['192.0.2.1'], capabilities: ['CAPABILITY_TCP'], responderPort: 9402, instanceId: 'i' } });
  const m = decode(hello);
  t.match(m, { msg: 'hello', hello: { nodeName: 'node-a', capabilities: ['CAPABILITY_TCP'] }, report: null });
  t.match(decode(connect.requestSerialize({ cni: { takenAtMs: 5, full: true } })), { msg: 'cni', cni: { full: true } });
  t.same(decode(Buffer.alloc(0)), reference(Buffer.alloc(0)), 'an empty message: proto-loader says what it has (nothing)');
  const r = mulberry32(0x5eed_0005);
  // Two reports in one message, and a hello beside a report: proto-loader's semantics, whatever they are.
  for (const bytes of [Buffer.from([...fLen(2, report(r)), ...fLen(2, report(r))]), Buffer.concat([hello, agentMessage(r)])]) {
    const got = decode(bytes);
    const want = reference(bytes);
    t.equal(got.msg, want.msg);
    t.same(got.report ? rows(got.report) : null, want.report ? rows(batchOf(want.report)) : null);
  }
});

t.test('target names: interned across reports, listed once per batch, only those the batch uses', async (t) => {
  const named = (names: string[]) => Buffer.from(fLen(2, names.flatMap((n) => fLen(4, [...fVarint(1, 1), ...fLen(2, utf8(n))]))));
  const a = decode(named(['node-a', 'node-b', 'node-a', 'node-a'])).report!;
  t.same(a.targets, ['node-a', 'node-b']);
  t.same([...a.target.subarray(0, a.length)], [0, 1, 0, 0]);
  const b = decode(named(['node-c', 'node-a'])).report!;
  t.same(b.targets, ['node-c', 'node-a'], 'a name of an earlier report is listed again, in this batch\'s order');
  t.equal(b.targets[1], a.targets[0], 'the same string');
  // Past the table's bound it starts afresh: names stay right.
  for (let batch = 0; batch < 4; batch++) {
    const names = Array.from({ length: 20_000 }, (_, i) => `node-${batch}-${i}`);
    const d = decode(named(names)).report!;
    t.equal(d.targets.length, names.length);
    t.ok(names.every((n, i) => d.targets[d.target[i]!] === n), `batch ${batch}: ${names.length} new names`);
  }
  const again = decode(named(['node-a', 'n'.repeat(300), 'n'.repeat(300)])).report!;
  t.same(again.targets.slice(0, 1), ['node-a']);
  t.same([...again.target.subarray(0, again.length)].map((i) => again.targets[i]), ['node-a', 'n'.repeat(300), 'n'.repeat(300)], 'a name no node can have is not kept');
});

t.test('decodeReport reads a Report anywhere in a buffer', async (t) => {
  const body = report(mulberry32(0x5eed_0006), 5);
  const bytes = Buffer.from([7, 7, ...body, 7]);
  t.same(rows(decodeReport(bytes, 2, 2 + body.length)), rows(decode(Buffer.from(fLen(2, body))).report!));
});

t.test('a released batch is decoded into again, with nothing left of its last report', async (t) => {
  const r = mulberry32(0x5eed_0007);
  const first = decode(agentMessage(r, report(r, 30))).report!;
  releaseBatch(first);
  releaseBatch(first); // twice: still one batch
  t.equal(decode(agentMessage(r, report(r, 3))).report, first, 'the released batch');
  t.not(decode(agentMessage(r, report(r, 3))).report, first, 'handed out once');
  for (let n = 0; n < 20; n++) {
    const bytes = agentMessage(r, report(r, int(r, 0, 30)));
    const b = decode(bytes).report!;
    t.same(rows(b), expected(bytes), `report ${n}`);
    releaseBatch(b);
  }
});
