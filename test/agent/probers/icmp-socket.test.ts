// ICMP in four layers: parsing crafted packets (pure); the socket's matching,
// DF, pause/resume and close logic against a fake raw socket fed crafted bytes
// (deterministic, a ManualClock for RTTs, RFC 5737 addresses: nothing is sent);
// live echoes through the real raw socket on loopback; and child processes for
// what one process can't show: no CAP_NET_RAW, real ICMP errors and a real
// blackhole (in a private network namespace, never the host's), and that an
// idle socket lets the process exit. This suite runs as root in CI; without
// CAP_NET_RAW the live parts say so and are skipped.
import { EventEmitter } from 'node:events';
import type { Socket as RawSocket } from 'raw-socket';
import t from 'tap';
import { buildEchoRequest, checksum, IcmpSocket, icmpErrorOutcome, MAX_PAYLOAD, parseIcmpPacket } from '../../../agent/probers/icmp-socket.js';
import { ManualClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/logger.js';
import { missingHere, skipUnlessCi } from '../../helpers/ci.js';
import { canRun, childSkip, mod, runChild } from '../../helpers/child.js';
import { logSink } from '../../helpers/log-sink.js';

function ipHeader(src: string, dst: string, payloadLength: number, ihlWords = 5): Buffer {
  const h = Buffer.alloc(ihlWords * 4);
  h[0] = 0x40 | ihlWords;
  h.writeUInt16BE(h.length + payloadLength, 2);
  h[8] = 64;
  h[9] = 1; // ICMP
  src.split('.').forEach((o, i) => (h[12 + i] = Number(o)));
  dst.split('.').forEach((o, i) => (h[16 + i] = Number(o)));
  return h;
}

/** An ICMP message (checksum filled in) inside an IPv4 packet. */
function packet(src: string, dst: string, icmp: Buffer, ihlWords = 5): Buffer {
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(checksum(icmp), 2);
  return Buffer.concat([ipHeader(src, dst, icmp.length, ihlWords), icmp]);
}

const token = Buffer.from('0123456789abcdef', 'hex');

function reply(id: number, seq: number, ihlWords = 5, tok: Buffer = token, src = '192.0.2.2'): Buffer {
  const icmp = buildEchoRequest(id, seq, tok);
  icmp[0] = 0; // echo reply
  return packet(src, '192.0.2.1', icmp, ihlWords);
}

/** An ICMP error from `router` quoting `request` (sent from 192.0.2.1 to `dst`): its first `quote` bytes. */
function icmpError(type: number, code: number, request: Buffer, o: { dst?: string; router?: string; mtu?: number; quote?: number } = {}): Buffer {
  const quote = request.subarray(0, o.quote ?? 8);
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = code;
  if (o.mtu) head.writeUInt16BE(o.mtu, 6);
  const icmp = Buffer.concat([head, ipHeader('192.0.2.1', o.dst ?? '192.0.2.9', request.length), quote]);
  return packet(o.router ?? '198.51.100.1', '192.0.2.1', icmp);
}

t.test('echo requests are well formed', (t) => {
  const p = buildEchoRequest(0x1234, 0xbeef, token, 56);
  t.equal(p.length, 64);
  t.equal(p[0], 8);
  t.equal(p.readUInt16BE(4), 0x1234);
  t.equal(p.readUInt16BE(6), 0xbeef);
  t.same(p.subarray(8, 16), token);
  t.equal(checksum(p), 0, 'a correct checksum sums to zero');
  t.equal(buildEchoRequest(1, 1, token, 0).length, 16, 'the token always fits');
  t.equal(checksum(buildEchoRequest(1, 1, token, 57)), 0, 'odd length checksummed too');
  t.end();
});

t.test('replies: identifier, sequence and token; IHL honoured', (t) => {
  t.same(parseIcmpPacket(reply(7, 9)), { kind: 'reply', id: 7, seq: 9, token });
  t.same(parseIcmpPacket(reply(7, 9, 6)), { kind: 'reply', id: 7, seq: 9, token }, 'IP options (IHL 6)');
  t.same(parseIcmpPacket(reply(7, 9, 15)), { kind: 'reply', id: 7, seq: 9, token }, 'IP options (IHL 15)');
  t.same(parseIcmpPacket(reply(0xffff, 0xfffe)), { kind: 'reply', id: 0xffff, seq: 0xfffe, token }, 'other identifiers parse as they are');
  t.same(parseIcmpPacket(packet('192.0.2.1', '192.0.2.2', buildEchoRequest(7, 9, token))), { kind: 'request', id: 7, seq: 9 });
  t.end();
});

t.test('ICMP errors quote our request', (t) => {
  const req = buildEchoRequest(7, 9, token);
  t.same(parseIcmpPacket(icmpError(3, 1, req)), { kind: 'error', type: 3, code: 1, id: 7, seq: 9, dst: '192.0.2.9', nextHopMtu: 0 }, 'RFC 792 quote: no token');
  t.same(parseIcmpPacket(icmpError(3, 3, req, { quote: 64 })), { kind: 'error', type: 3, code: 3, id: 7, seq: 9, dst: '192.0.2.9', nextHopMtu: 0, token }, 'long quote carries the token');
  t.match(parseIcmpPacket(icmpError(3, 4, req, { mtu: 1400 })), { kind: 'error', type: 3, code: 4, nextHopMtu: 1400 });
  t.match(parseIcmpPacket(icmpError(11, 0, req)), { kind: 'error', type: 11, code: 0, seq: 9, nextHopMtu: 0 });
  const udp = Buffer.concat([ipHeader('192.0.2.1', '192.0.2.9', 8), Buffer.alloc(8)]);
  udp[9] = 17;
  const head = Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]);
  t.equal(parseIcmpPacket(packet('198.51.100.1', '192.0.2.1', Buffer.concat([head, udp]))), undefined, 'an error about UDP is not ours');
  const quotedReply = Buffer.from(req);
  quotedReply[0] = 0;
  t.same(parseIcmpPacket(icmpError(3, 1, quotedReply)), { kind: 'other', type: 3 }, 'an error about something other than an echo request');
  t.end();
});

t.test('what an ICMP error means', (t) => {
  t.equal(icmpErrorOutcome(3, 1), 'unreachable', 'host unreachable');
  t.equal(icmpErrorOutcome(3, 0), 'unreachable', 'net unreachable');
  t.equal(icmpErrorOutcome(3, 3), 'refused', 'port unreachable: a REJECT');
  t.equal(icmpErrorOutcome(3, 13), 'refused', 'administratively prohibited');
  t.equal(icmpErrorOutcome(3, 4), 'mtu_exceeded', 'fragmentation needed');
  t.equal(icmpErrorOutcome(11, 0), 'unreachable', 'time exceeded');
  t.end();
});

t.test('garbage, truncated and corrupted packets never throw', (t) => {
  t.equal(parseIcmpPacket(Buffer.alloc(0)), undefined);
  t.equal(parseIcmpPacket(Buffer.from('not a packet at all, just text')), undefined);
  t.equal(parseIcmpPacket(reply(1, 1).subarray(0, 25)), undefined, 'truncated ICMP header');
  t.equal(parseIcmpPacket(reply(1, 1).subarray(0, 40)), undefined, 'shorter than its IP total length');
  const noToken = packet('192.0.2.2', '192.0.2.1', Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0xaa, 0xbb]));
  t.equal(parseIcmpPacket(noToken), undefined, 'a reply too short to carry our token');
  const req = buildEchoRequest(1, 1, token);
  t.equal(parseIcmpPacket(icmpError(3, 1, req).subarray(0, 40)), undefined, 'error cut inside the quote');
  t.equal(parseIcmpPacket(icmpError(3, 1, req, { quote: 4 })), undefined, 'error quoting less than 8 bytes of our header');
  const badSum = reply(1, 1);
  badSum[badSum.length - 1]! ^= 0xff;
  t.equal(parseIcmpPacket(badSum), undefined, 'wrong ICMP checksum');
  const notIcmp = reply(1, 1);
  notIcmp[9] = 6;
  t.equal(parseIcmpPacket(notIcmp), undefined, 'not ICMP');
  const badIhl = reply(1, 1);
  badIhl[0] = 0x42;
  t.equal(parseIcmpPacket(badIhl), undefined, 'IHL below 5');
  const ipv6 = reply(1, 1);
  ipv6[0] = 0x65;
  t.equal(parseIcmpPacket(ipv6), undefined, 'not IPv4');
  const padded = Buffer.concat([reply(1, 1), Buffer.from([1, 2, 3])]);
  t.same(parseIcmpPacket(padded), { kind: 'reply', id: 1, seq: 1, token }, 'bytes past the IP total length are ignored');
  for (let i = 0; i < 5000; i++) {
    const junk = Buffer.from(Array.from({ length: (i % 120) + 1 }, (_, j) => (i * 31 + j * 17 + ((i * j) >> 3)) & 0xff));
    junk[0] = 0x45 + (i % 3);
    if (junk.length > 3) junk.writeUInt16BE(Math.min(junk.length, (i * 7) % 140), 2);
    parseIcmpPacket(junk);
  }
  t.pass('5000 junk packets parsed without throwing');
  t.match(parseIcmpPacket(packet('192.0.2.2', '192.0.2.1', Buffer.from([13, 0, 0, 0, 0, 0, 0, 0]))), { kind: 'other', type: 13 });
  t.end();
});

/**
 * Stands in for raw-socket's Socket: sends wait in a queue until `flush()`,
 * which runs each request as raw-socket does on a writable event
 * (beforeCallback, sendto, afterCallback in one step); tests feed crafted
 * packets with `emit('message', buf, source)`.
 */
class FakeRawSocket extends EventEmitter implements RawSocket {
  recvPaused = false; // raw-socket starts polling for reads at creation
  closed = false;
  sendError: Error | undefined;
  readonly calls: string[] = [];
  readonly sent: { packet: Buffer; ip: string }[] = [];
  private queue: { packet: Buffer; ip: string; before: (() => void) | null; after: (e: Error | null, n: number) => void }[] = [];

  send(buffer: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (error: Error | null, bytes: number) => void): void {
    this.queue.push({ packet: Buffer.from(buffer.subarray(offset, offset + length)), ip: address, before, after });
  }
  flush(): void {
    for (const r of this.queue.splice(0)) {
      try {
        r.before?.();
        this.calls.push(`sendto ${r.ip}`);
        if (this.sendError) throw this.sendError;
        this.sent.push({ packet: r.packet, ip: r.ip });
      } catch (err) {
        r.after(err as Error, 0);
        continue;
      }
      r.after(null, r.packet.length);
    }
  }
  setOption(level: number, option: number, value: number): void {
    this.calls.push(`setOption ${level} ${option} ${value}`);
  }
  pauseRecv(): this {
    this.recvPaused = true;
    return this;
  }
  resumeRecv(): this {
    this.recvPaused = false;
    return this;
  }
  close(): void {
    this.closed = true;
    this.emit('close');
  }
  /** The last request sent, as the peer sees it. */
  last(): { packet: Buffer; ip: string; id: number; seq: number; token: Buffer } {
    const s = this.sent.at(-1)!;
    return { ...s, id: s.packet.readUInt16BE(4), seq: s.packet.readUInt16BE(6), token: s.packet.subarray(8, 16) };
  }
  /** The peer's answer to the last request (fields overridable to make it wrong). */
  answer(o: { id?: number; seq?: number; token?: Buffer; from?: string } = {}): void {
    const l = this.last();
    this.emit('message', reply(o.id ?? l.id, o.seq ?? l.seq, 5, o.token ?? l.token, o.from ?? l.ip), o.from ?? l.ip);
  }
}

function fakeSocket(o: { maxPending?: number; clock?: ManualClock; identifier?: number; log?: ReturnType<typeof silentLogger> } = {}) {
  const raw = new FakeRawSocket();
  const sock = IcmpSocket.open({ log: o.log ?? silentLogger(), createSocket: () => raw, ...o })!;
  return { raw, sock };
}

const never = () => new AbortController().signal;
const DONT = 'setOption 0 10 0';
const DO = 'setOption 0 10 2';

t.test('open: DF off by default, idle socket paused; no permission → undefined without throwing', (t) => {
  const { raw, sock } = fakeSocket({ identifier: 0x1abcd });
  t.same(raw.calls, [DONT], 'IP_MTU_DISCOVER = IP_PMTUDISC_DONT at open');
  t.equal(raw.recvPaused, true, 'nothing pending: not polling');
  t.equal(sock.identifier, 0xabcd, 'identifier kept to 16 bits');
  sock.close();

  const denied = logSink();
  const none = IcmpSocket.open({
    log: denied.log,
    createSocket: () => {
      throw new Error('Operation not permitted');
    },
  });
  t.equal(none, undefined);
  t.ok(denied.find('raw ICMP socket not permitted (no CAP_NET_RAW)'), 'said why, at debug');
  const broken = logSink();
  const half = new FakeRawSocket();
  half.setOption = () => {
    throw new Error('Bad file descriptor');
  };
  t.equal(IcmpSocket.open({ log: broken.log, createSocket: () => half }), undefined);
  t.equal(half.closed, true, 'a socket that could not be set up is closed');
  t.match(broken.find('raw ICMP socket could not be opened'), { level: 40 }, 'other failures are warnings');
  t.end();
});

t.test('a reply is matched on identifier, sequence, token and source; RTT from the send', async (t) => {
  const clock = new ManualClock();
  const { raw, sock } = fakeSocket({ clock, identifier: 0x4242 });
  t.teardown(() => sock.close());
  const p = sock.echo('192.0.2.7', {}, never());
  t.equal(raw.recvPaused, false, 'polling while an echo is pending');
  clock.advance(10); // queued behind other sends: not part of the RTT
  raw.flush();
  const l = raw.last();
  t.equal(l.id, 0x4242);
  t.equal(l.packet.length, 64, '56 payload bytes by default');
  clock.advance(1.5);
  raw.answer({ id: 0x4243 });
  raw.answer({ seq: (l.seq + 1) & 0xffff });
  raw.answer({ token: Buffer.alloc(8) });
  raw.answer({ from: '192.0.2.8' });
  raw.emit('message', Buffer.from('garbage'), '192.0.2.7');
  raw.emit('message', packet('192.0.2.1', '192.0.2.7', Buffer.from(l.packet)), '192.0.2.1'); // our own request, seen on loopback
  t.equal(sock.inFlight, 1, 'none of those settled it');
  t.equal(sock.repliesUnmatched, 5, 'each ignored packet counted (our own request is not)');
  raw.answer();
  t.same(await p, { outcome: 'ok', rttUs: 1500 });
  t.equal(sock.inFlight, 0);
  t.equal(raw.recvPaused, true, 'idle again: the event loop is free to exit');
  raw.answer();
  t.equal(sock.repliesUnmatched, 6, 'a duplicate reply is ignored');
});

t.test('ICMP errors settle the quoted echo at once', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const cases: [number, number, { mtu?: number; quote?: number }, object][] = [
    [3, 1, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMP host unreachable from 198.51.100.1' }],
    [3, 0, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMP net unreachable from 198.51.100.1' }],
    [3, 3, { quote: 64 }, { outcome: 'refused', rttUs: 0, detail: 'ICMP port unreachable from 198.51.100.1' }],
    [3, 4, { mtu: 1400 }, { outcome: 'mtu_exceeded', rttUs: 0, detail: 'ICMP fragmentation needed from 198.51.100.1, next-hop MTU 1400' }],
    [11, 0, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMP time exceeded from 198.51.100.1' }],
    [3, 15, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMP unreachable code 15 from 198.51.100.1' }],
  ];
  for (const [type, code, o, want] of cases) {
    const p = sock.echo('192.0.2.9', {}, never());
    raw.flush();
    const req = raw.last().packet;
    const wrongToken = Buffer.from(req);
    wrongToken[8]! ^= 1;
    raw.emit('message', icmpError(type, code, req, { ...o, dst: '192.0.2.10' }), '198.51.100.1');
    raw.emit('message', icmpError(type, code, wrongToken, { ...o, quote: 64, dst: '192.0.2.9' }), '198.51.100.1');
    t.equal(sock.inFlight, 1, `${type}/${code}: errors about another destination or token ignored`);
    raw.emit('message', icmpError(type, code, req, { ...o, dst: '192.0.2.9' }), '198.51.100.1');
    t.same(await p, want, `type ${type} code ${code}`);
  }
});

t.test('DF is set for exactly the one send that asks for it', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const a = sock.echo('192.0.2.7', { size: 1472, dontFragment: true }, never());
  const b = sock.echo('192.0.2.8', { size: 1472 }, never());
  raw.flush();
  t.same(raw.calls, [DONT, DO, 'sendto 192.0.2.7', DONT, 'sendto 192.0.2.8']);
  t.equal(raw.sent[0]!.packet.length, 1480, 'size is the ICMP payload');
  raw.sendError = new Error('Message too long'); // what raw-socket says for EMSGSIZE
  const c = sock.echo('192.0.2.7', { size: 9000, dontFragment: true }, never());
  raw.flush();
  t.same(await c, { outcome: 'mtu_exceeded', rttUs: 0, detail: 'Message too long' });
  t.same(raw.calls.slice(-3), [DO, 'sendto 192.0.2.7', DONT], 'DF cleared after a failed send too');
  raw.sendError = undefined;
  raw.emit('message', reply(sock.identifier, raw.sent[0]!.packet.readUInt16BE(6), 5, raw.sent[0]!.packet.subarray(8, 16), '192.0.2.7'), '192.0.2.7');
  raw.emit('message', reply(sock.identifier, raw.sent[1]!.packet.readUInt16BE(6), 5, raw.sent[1]!.packet.subarray(8, 16), '192.0.2.8'), '192.0.2.8');
  t.match(await a, { outcome: 'ok' });
  t.match(await b, { outcome: 'ok' });
});

t.test('send failures and bad arguments are outcomes, not throws', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  raw.sendError = new Error('Operation not permitted'); // DROP in our own OUTPUT chain (LAB-NOTES 5)
  const p = sock.echo('192.0.2.7', {}, never());
  raw.flush();
  t.same(await p, { outcome: 'error', rttUs: 0, detail: 'Operation not permitted' });
  raw.sendError = new Error('No route to host');
  const q = sock.echo('192.0.2.7', {}, never());
  raw.flush();
  t.same(await q, { outcome: 'unreachable', rttUs: 0, detail: 'No route to host' });
  t.same(await sock.echo('::1', {}, never()), { outcome: 'error', rttUs: 0, detail: 'not an IPv4 address: ::1' });
  t.match(await sock.echo('192.0.2.7', { size: MAX_PAYLOAD + 1 }, never()), { outcome: 'error', detail: /payload size/ });
  t.match(await sock.echo('192.0.2.7', { size: 1.5 }, never()), { outcome: 'error', detail: /payload size/ });
  t.equal(raw.sent.length, 0, 'nothing was sent');
  t.equal(sock.inFlight, 0);
  t.equal(raw.recvPaused, true);
});

t.test('sequences increase, wrap, and skip one still pending', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const stuck = sock.echo('192.0.2.7', {}, never());
  raw.flush();
  const held = raw.last().seq;
  const seen = new Set<number>();
  let prev = held;
  const signal = never();
  for (let i = 0; i < 0x10000 + 10; i++) {
    void sock.echo('192.0.2.8', {}, signal);
    raw.flush();
    const { seq } = raw.last();
    if (seq === held) return t.fail(`sequence ${held} reused while pending`);
    const expected = (prev + 1) & 0xffff;
    if (seq !== expected && !(expected === held && seq === ((held + 1) & 0xffff))) return t.fail(`sequence ${seq} after ${prev}`);
    seen.add(seq);
    prev = seq;
    raw.answer();
  }
  t.equal(seen.size, 0xffff, 'every other sequence used, across the wrap');
  t.equal(sock.inFlight, 1);
  sock.close();
  t.same(await stuck, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
});

t.test('abort → timeout at once; a late reply is ignored', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const c = new AbortController();
  const p = sock.echo('192.0.2.7', {}, c.signal);
  raw.flush();
  c.abort();
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  t.equal(sock.inFlight, 0);
  t.equal(raw.recvPaused, true);
  raw.answer();
  t.equal(sock.repliesUnmatched, 1);
  t.same(await sock.echo('192.0.2.7', {}, c.signal), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' }, 'already aborted: nothing sent');
  t.equal(raw.sent.length, 1);
});

t.test('the pending bound is counted and logged once', async (t) => {
  const sink = logSink();
  const { raw, sock } = fakeSocket({ maxPending: 2, log: sink.log });
  const full = { outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' };
  const a = sock.echo('192.0.2.7', {}, never());
  const b = sock.echo('192.0.2.8', {}, never());
  t.same(await sock.echo('192.0.2.9', {}, never()), full);
  t.same(await sock.echo('192.0.2.9', {}, never()), full);
  t.equal(sock.droppedFull, 2);
  t.equal(sink.lines.filter((l) => /too many pending/.test(String(l.msg))).length, 1, 'logged once');
  raw.flush();
  raw.answer();
  t.match(await b, { outcome: 'ok' });
  const c = sock.echo('192.0.2.9', {}, never());
  t.equal(sock.inFlight, 2, 'room again once one settled');
  sock.close();
  t.same(await a, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  t.same(await c, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
});

t.test('close() settles what is pending and lets go of the socket', async (t) => {
  const { raw, sock } = fakeSocket();
  const c = new AbortController();
  const p = sock.echo('192.0.2.7', {}, c.signal);
  sock.close();
  t.same(await p, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  t.equal(raw.closed, true);
  t.equal(raw.listenerCount('message') + raw.listenerCount('error') + raw.listenerCount('close'), 0, 'no listeners left');
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  sock.close();
  t.pass('close is idempotent');
});

t.test('a socket raw-socket closes by itself (poll error) fails its echoes at once', async (t) => {
  const sink = logSink();
  const { raw, sock } = fakeSocket({ log: sink.log });
  const p = sock.echo('192.0.2.7', {}, never());
  raw.emit('error', new Error('-9')); // raw-socket: emits the poll error, then closes
  raw.close();
  t.same(await p, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  t.ok(sink.find('ICMP socket error'));
  t.ok(sink.find(/closed unexpectedly/));
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'socket closed' }, 'and does not reopen it');
});

// ---- live, on loopback (127/8) ----

const sock = IcmpSocket.open({ log: silentLogger() });
if (!sock) {
  missingHere(t, 'no CAP_NET_RAW here (live ICMP on loopback)');
} else {
  t.teardown(() => sock.close());

  t.test('live: echo to loopback addresses', async (t) => {
    for (const ip of ['127.0.0.1', '127.0.0.5']) {
      const r = await sock.echo(ip, {}, never());
      t.equal(r.outcome, 'ok', ip);
      t.ok(Number.isInteger(r.rttUs) && r.rttUs > 0 && r.rttUs < 1_000_000, `${ip}: rtt ${r.rttUs} µs`);
    }
    t.match(await sock.echo('127.0.0.1', { size: 1472, dontFragment: true }, never()), { outcome: 'ok' }, 'DF echo that fits lo');
    t.match(await sock.echo('127.0.0.1', { size: 8000 }, never()), { outcome: 'ok' }, 'a large echo after it');
    t.equal(sock.inFlight, 0);
  });

  t.test('live: many concurrent echoes each get their own reply; two sockets do not steal', async (t) => {
    // The same identifier on purpose: the worst case of two agents in one
    // namespace (random identifiers collide 1 time in 65536); each raw socket
    // gets a copy of every reply, and the token and source tell whose it is.
    const other = IcmpSocket.open({ log: silentLogger(), identifier: sock.identifier })!;
    t.teardown(() => other.close());
    // Distinct addresses: a reply is accepted only from the address probed, so
    // an ok for each means each matched its own request.
    const ips = Array.from({ length: 100 }, (_, i) => `127.0.${i % 5}.${10 + i}`);
    const results = await Promise.all([...ips.map((ip) => sock.echo(ip, {}, never())), ...ips.map((ip) => other.echo(ip, {}, never()))]);
    t.equal(results.filter((r) => r.outcome === 'ok').length, 200, 'all 200 answered');
    t.equal(sock.inFlight + other.inFlight, 0);
    t.comment(`ignored: ${sock.repliesUnmatched} by one, ${other.repliesUnmatched} by the other`);
    t.ok(sock.repliesUnmatched + other.repliesUnmatched > 0, "they saw (and ignored) each other's replies");
  });

  t.test('live: abort → timeout, nothing left pending', async (t) => {
    const c = new AbortController();
    c.abort();
    t.same(await sock.echo('127.0.0.1', {}, c.signal), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
    // The reply can't be read before this tick ends, so this aborts a sent echo.
    const c2 = new AbortController();
    const p = sock.echo('127.0.0.1', {}, c2.signal);
    c2.abort();
    t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
    t.equal(sock.inFlight, 0);
  });

  t.test('live: the pending bound is counted; close settles what is pending', async (t) => {
    const small = IcmpSocket.open({ log: silentLogger(), maxPending: 1 })!;
    const first = small.echo('127.0.0.1', {}, never());
    t.same(await small.echo('127.0.0.1', {}, never()), { outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });
    t.equal(small.droppedFull, 1);
    small.close(); // the first reply can't have been read yet: no I/O ran since it was sent
    t.same(await first, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
    t.same(await small.echo('127.0.0.1', {}, never()), { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  });
}

// ---- child processes ----





t.test('child: without CAP_NET_RAW, open() declines instead of throwing', { skip: skipUnlessCi(childSkip || (!canRun('setpriv', ['--version']) && 'no setpriv')) }, async (t) => {
  const r = await runChild(
    ['setpriv', '--inh-caps=-net_raw', '--bounding-set=-net_raw', '--'],
    `import { IcmpSocket } from ${mod('agent/probers/icmp-socket.js')};
     import { silentLogger } from ${mod('common/logger.js')};
     console.log(JSON.stringify({ open: IcmpSocket.open({ log: silentLogger() }) !== undefined }));`,
  );
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { open: false });
});

const netnsSkip = skipUnlessCi(childSkip || (!canRun('unshare', ['-n', '--', 'iptables', '-L', '-n']) && 'no private network namespace with iptables here'));

t.test('child, private netns: ICMP errors settle at once, a blackhole times out, DF too big fails at send, the idle socket lets the process exit', { skip: netnsSkip }, async (t) => {
  // Only this new namespace's rules and lo are changed; the host's are untouched.
  const setup = [
    'ip link set lo up',
    'ip link set lo mtu 1500',
    'iptables -A INPUT -p icmp --icmp-type echo-request -d 127.0.0.9 -j REJECT --reject-with icmp-host-unreachable',
    'iptables -A INPUT -p icmp --icmp-type echo-request -d 127.0.0.11 -j REJECT',
    'iptables -A INPUT -p icmp --icmp-type echo-request -d 127.0.0.10 -j DROP',
  ].join(' && ');
  const r = await runChild(
    ['unshare', '-n', '--', 'sh', '-c', `${setup} && exec "$@"`, 'sh'],
    `import { IcmpSocket } from ${mod('agent/probers/icmp-socket.js')};
     import { silentLogger } from ${mod('common/logger.js')};
     const s = IcmpSocket.open({ log: silentLogger() });
     const run = async (ip, opts, ms) => {
       const c = new AbortController();
       const timer = setTimeout(() => c.abort(), ms);
       const t0 = performance.now();
       const r = await s.echo(ip, opts, c.signal);
       clearTimeout(timer);
       return { ...r, ms: performance.now() - t0 };
     };
     console.log(JSON.stringify({
       hostUnreachable: await run('127.0.0.9', {}, 5000),
       rejected: await run('127.0.0.11', {}, 5000),
       blackholed: await run('127.0.0.10', {}, 300),
       dfTooBig: await run('127.0.0.1', { size: 2000, dontFragment: true }, 5000),
       fragmented: await run('127.0.0.1', { size: 2000 }, 5000),
       pending: s.inFlight,
     }));
     // No close(): with nothing pending the socket must not hold the process.`,
  );
  t.equal(r.status, 0, `child exited by itself (${r.stderr.trim()})`);
  const o = JSON.parse(r.stdout) as Record<string, { outcome: string; detail?: string; ms: number }> & { pending: number };
  t.match(o.hostUnreachable, { outcome: 'unreachable', detail: 'ICMP host unreachable from 127.0.0.9' });
  t.ok(o.hostUnreachable!.ms < 1000, `unreachable known in ${o.hostUnreachable!.ms.toFixed(1)} ms, not at the deadline`);
  t.match(o.rejected, { outcome: 'refused', detail: 'ICMP port unreachable from 127.0.0.11' });
  t.match(o.blackholed, { outcome: 'timeout' });
  t.ok(o.blackholed!.ms >= 290, `blackhole waited for the deadline (${o.blackholed!.ms.toFixed(1)} ms)`);
  t.match(o.dfTooBig, { outcome: 'mtu_exceeded', detail: 'Message too long' });
  t.match(o.fragmented, { outcome: 'ok' }, 'the same size without DF is fragmented and answered: DF did not stick');
  t.equal(o.pending, 0);
});
