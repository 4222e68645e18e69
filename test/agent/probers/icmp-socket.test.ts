// The ICMP sockets in three layers: matching, DF, sending, reopening and close
// against fake raw sockets fed crafted bytes (deterministic, a ManualClock for
// RTTs, a hand-driven reopen schedule, RFC 5737/3849 addresses: nothing is
// sent); live echoes through the real raw sockets on loopback, IPv4 and IPv6;
// and child processes in private network namespaces (never the host's) for
// what one process can't show: no CAP_NET_RAW, the kernel filter, a flood, real
// ICMP and ICMPv6 errors, a router's "packet too big", a blackhole. This suite
// runs as root in CI; under CI=true what it lacks fails it.
import raw, { type Socket as RawSocket } from 'raw-socket';
import t from 'tap';
import { ICMP_FILTER_MASK, MAX_PAYLOAD } from '../../../agent/probers/icmp-packet.js';
import { IcmpSocket, type IcmpSocketOptions } from '../../../agent/probers/icmp-socket.js';
import { ManualClock } from '../../../common/clock.js';
import { silentLogger } from '../../../common/logger.js';
import type { AddressFamily } from '../../../common/vocabulary.js';
import { missingHere, skipUnlessCi } from '../../helpers/ci.js';
import { canRun, childSkip, mod, runChild } from '../../helpers/child.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';
import { FakeRawSocket, icmp6Error, icmpError, packet, reply } from './icmp-crafted.js';

const DONT = 'setOption 0 10 0';
const DO = 'setOption 0 10 2';
const FILTER = `setOption 255 1 ${ICMP_FILTER_MASK}`;
const FILTER6 = 'setOption 58 1 <32 bytes>';
const DONTFRAG6_ON = 'setOption 41 62 1';
const DONTFRAG6_OFF = 'setOption 41 62 0';

/** An IcmpSocket on fake raw sockets (IPv4 only unless `families` says otherwise); `made` lists every fake created, reopens included. */
function fakeSocket(o: Partial<IcmpSocketOptions> & { direct?: boolean } = {}) {
  const made: FakeRawSocket[] = [];
  const sock = IcmpSocket.open({
    log: silentLogger(),
    families: ['ipv4'],
    createSocket: (family) => {
      const r = new FakeRawSocket(family, o.direct ?? true);
      made.push(r);
      return r;
    },
    ...o,
  })!;
  return { raw: made[0]!, made, sock };
}

/** A reopen schedule driven by hand: `next()` runs the earliest pending timer. */
function manualSchedule() {
  const timers: { fn: () => void; ms: number; state: 'pending' | 'fired' | 'cancelled' }[] = [];
  return {
    timers,
    schedule: (fn: () => void, ms: number) => {
      const entry = { fn, ms, state: 'pending' as 'pending' | 'fired' | 'cancelled' };
      timers.push(entry);
      return () => {
        if (entry.state === 'pending') entry.state = 'cancelled';
      };
    },
    pending: () => timers.filter((x) => x.state === 'pending'),
    next(): number {
      const x = timers.find((y) => y.state === 'pending');
      if (!x) throw new Error('no reopen scheduled');
      x.state = 'fired';
      x.fn();
      return x.ms;
    },
  };
}

const never = () => new AbortController().signal;
/** The rest of this turn of the event loop: the echoes asked for in it are sent in its check phase. */
const turn = () => new Promise<void>((r) => setImmediate(r));

t.test('open: fragmentation off and the kernel filter set; receiving from the start, never paused; no permission → undefined', async (t) => {
  const { raw, made, sock } = fakeSocket({ identifier: 0x1abcd, families: ['ipv4', 'ipv6'] });
  t.same(raw.calls, [DONT, FILTER], 'IPv4: IP_MTU_DISCOVER = IP_PMTUDISC_DONT, ICMP_FILTER passing 0, 3 and 11 only');
  t.same(made[1]!.calls, [FILTER6], 'IPv6: ICMP6_FILTER (struct icmp6_filter, 32 bytes)');
  t.same(sock.families, ['ipv4', 'ipv6']);
  t.equal(sock.identifier, 0xabcd, 'identifier kept to 16 bits');
  const p = sock.echo('192.0.2.7', {}, never());
  await turn();
  raw.answer();
  t.match(await p, { outcome: 'ok' });
  t.notOk(raw.calls.includes('pauseRecv') || made[1]!.calls.includes('pauseRecv'), 'never paused, not even with nothing pending');
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
  t.equal(IcmpSocket.open({ log: broken.log, families: ['ipv4'], createSocket: () => half }), undefined);
  t.equal(half.closed, true, 'a socket that could not be set up is closed');
  t.match(broken.find('raw ICMP socket could not be opened'), { level: 40 }, 'other failures are warnings');
});

t.test('one family that cannot be opened (IPv6 disabled) leaves the other working, and says so', async (t) => {
  const sink = logSink();
  const v4 = new FakeRawSocket('ipv4');
  const sock = IcmpSocket.open({
    log: sink.log,
    createSocket: (family) => {
      if (family === 'ipv6') throw new Error('Address family not supported by protocol');
      return v4;
    },
  })!;
  t.teardown(() => sock.close());
  t.same(sock.families, ['ipv4']);
  t.ok(sink.find(/one family could not be opened/), 'logged');
  t.same(await sock.echo('2001:db8::7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'no ICMPv6 socket: Address family not supported by protocol' });
  const p = sock.echo('192.0.2.7', {}, never());
  await turn();
  v4.answer();
  t.match(await p, { outcome: 'ok' });
});

t.test('echoes are sent in the turn of the event loop they were asked in, together, not on a later writable event', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const p = sock.echo('192.0.2.7', {}, never());
  const q = sock.echo('192.0.2.8', {}, never());
  t.same(raw.calls.slice(2), [], 'not yet: the caller finishes its synchronous work first');
  setImmediate(() => t.same(raw.calls.slice(2), ['sendto 192.0.2.7', 'sendto 192.0.2.8'], 'both sent in the check phase of the same turn, one sendto each; nothing queued'));
  await turn();
  raw.answer();
  raw.emit('message', reply(sock.identifier, raw.sent[0]!.packet.readUInt16BE(6), 5, raw.sent[0]!.packet.subarray(8, 16), '192.0.2.7'), '192.0.2.7');
  t.match(await q, { outcome: 'ok' });
  t.match(await p, { outcome: 'ok' });
  t.equal(sock.sendsQueued, 0);
});

t.test('a reply is matched on identifier, sequence, token and source; RTT from the send', async (t) => {
  const clock = new ManualClock();
  const { raw, sock } = fakeSocket({ clock, identifier: 0x4242 });
  t.teardown(() => sock.close());
  const p = sock.echo('192.0.2.7', {}, never());
  clock.advance(10); // the rest of the caller's turn: not part of the RTT
  await turn();
  const l = raw.last();
  t.equal(l.id, 0x4242);
  t.equal(l.packet.length, 64, '56 payload bytes by default');
  clock.advance(1.5);
  raw.answer({ id: 0x4243 });
  raw.answer({ seq: (l.seq + 1) & 0xffff });
  raw.answer({ token: Buffer.alloc(8) });
  raw.answer({ from: '192.0.2.8' });
  raw.emit('message', Buffer.from('garbage'), '192.0.2.7');
  raw.emit('message', packet('192.0.2.1', '192.0.2.7', Buffer.from(l.packet)), '192.0.2.1'); // an echo request (the kernel filter drops these; a fake does not)
  t.equal(sock.inFlight, 1, 'none of those settled it');
  t.equal(sock.repliesUnmatched, 5, 'each ignored packet counted (the echo request is not)');
  raw.answer();
  t.same(await p, { outcome: 'ok', rttUs: 1500 });
  t.equal(sock.inFlight, 0);
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
    await turn();
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

t.test('ICMPv6: a reply matches whatever the spelling of the address probed; errors settle at once', async (t) => {
  const clock = new ManualClock();
  const { raw, sock } = fakeSocket({ clock, families: ['ipv6'] });
  t.teardown(() => sock.close());
  const p = sock.echo('2001:DB8:0::7', {}, never());
  await turn();
  t.equal(raw.last().ip, '2001:DB8:0::7', 'sent to the address as given');
  t.equal(raw.last().packet[0], 128, 'ICMPv6 echo request');
  clock.advance(0.25);
  raw.answer({ from: '2001:db8::8' });
  t.equal(sock.inFlight, 1, 'a reply from another address is not it');
  raw.answer({ from: '2001:db8::7' }); // raw-socket reports sources as inet_ntop writes them
  t.same(await p, { outcome: 'ok', rttUs: 250 });

  const cases: [number, number, { mtu?: number; quote?: number }, object][] = [
    [1, 4, {}, { outcome: 'refused', rttUs: 0, detail: 'ICMPv6 port unreachable from 2001:db8::fe' }],
    [1, 1, { quote: 8 }, { outcome: 'refused', rttUs: 0, detail: 'ICMPv6 communication administratively prohibited from 2001:db8::fe' }],
    [1, 0, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMPv6 no route to destination from 2001:db8::fe' }],
    [1, 3, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMPv6 address unreachable from 2001:db8::fe' }],
    [2, 0, { mtu: 1280 }, { outcome: 'mtu_exceeded', rttUs: 0, detail: 'ICMPv6 packet too big from 2001:db8::fe, MTU 1280' }],
    [3, 0, {}, { outcome: 'unreachable', rttUs: 0, detail: 'ICMPv6 time exceeded from 2001:db8::fe' }],
  ];
  for (const [type, code, o, want] of cases) {
    const q = sock.echo('2001:db8:0:0::9', {}, never());
    await turn();
    const req = raw.last().packet;
    const wrongToken = Buffer.from(req);
    wrongToken[8]! ^= 1;
    raw.emit('message', icmp6Error(type, code, req, { ...o, dst: '2001:db8::10' }), '2001:db8::fe');
    raw.emit('message', icmp6Error(type, code, wrongToken, { ...o, quote: wrongToken.length, dst: '2001:db8::9' }), '2001:db8::fe');
    t.equal(sock.inFlight, 1, `${type}/${code}: errors about another destination or token ignored`);
    raw.emit('message', icmp6Error(type, code, req, { ...o, dst: '2001:db8::9' }), '2001:db8::fe');
    t.same(await q, want, `type ${type} code ${code}`);
  }
  t.match(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', detail: /^no ICMP socket/ }, 'an IPv4 address, and no IPv4 socket');
});

t.test('DF (IPv4) and IPV6_DONTFRAG are set for exactly the one send that asks for it', async (t) => {
  const { raw, made, sock } = fakeSocket({ families: ['ipv4', 'ipv6'] });
  t.teardown(() => sock.close());
  const v6 = made[1]!;
  const a = sock.echo('192.0.2.7', { size: 1472, dontFragment: true }, never());
  const b = sock.echo('192.0.2.8', { size: 1472 }, never());
  await turn();
  t.same(raw.calls, [DONT, FILTER, DO, 'sendto 192.0.2.7', DONT, 'sendto 192.0.2.8']);
  t.equal(raw.sent[0]!.packet.length, 1480, 'size is the ICMP payload');
  raw.sendError = new Error('Message too long'); // what raw-socket says for EMSGSIZE
  const c = sock.echo('192.0.2.7', { size: 9000, dontFragment: true }, never());
  t.same(await c, { outcome: 'mtu_exceeded', rttUs: 0, detail: 'Message too long' });
  t.same(raw.calls.slice(-3), [DO, 'sendto 192.0.2.7', DONT], 'DF cleared after a failed send too');
  raw.sendError = undefined;
  raw.emit('message', reply(sock.identifier, raw.sent[0]!.packet.readUInt16BE(6), 5, raw.sent[0]!.packet.subarray(8, 16), '192.0.2.7'), '192.0.2.7');
  raw.emit('message', reply(sock.identifier, raw.sent[1]!.packet.readUInt16BE(6), 5, raw.sent[1]!.packet.subarray(8, 16), '192.0.2.8'), '192.0.2.8');
  t.match(await a, { outcome: 'ok' });
  t.match(await b, { outcome: 'ok' });

  const d = sock.echo('2001:db8::7', { size: 1400, dontFragment: true }, never());
  void sock.echo('2001:db8::8', { size: 1400 }, never());
  await turn();
  t.same(v6.calls, [FILTER6, DONTFRAG6_ON, 'sendto 2001:db8::7', DONTFRAG6_OFF, 'sendto 2001:db8::8']);
  t.equal(v6.sent[0]!.packet.length, 1408);
  t.equal(await Promise.race([d, Promise.resolve('pending')]), 'pending');
});

t.test('send failures and bad arguments are outcomes, not throws; a full send buffer waits in raw-socket\'s queue', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  raw.sendError = new Error('Operation not permitted'); // DROP in our own OUTPUT chain (LAB-NOTES 5)
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'Operation not permitted' });
  raw.sendError = new Error('No route to host');
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'unreachable', rttUs: 0, detail: 'No route to host' });
  t.same(await sock.echo('nope', {}, never()), { outcome: 'error', rttUs: 0, detail: 'not an IP address: nope' });
  t.match(await sock.echo('192.0.2.7', { size: MAX_PAYLOAD.ipv4 + 1 }, never()), { outcome: 'error', detail: /payload size/ });
  t.match(await sock.echo('192.0.2.7', { size: 1.5 }, never()), { outcome: 'error', detail: /payload size/ });
  t.equal(raw.sent.length, 0, 'nothing was sent');
  t.equal(sock.inFlight, 0);

  raw.sendError = new Error('Resource temporarily unavailable'); // EAGAIN: the send buffer is full
  const q = sock.echo('192.0.2.7', { dontFragment: true }, never());
  await turn();
  t.same(raw.calls.slice(-4), [DO, 'sendto 192.0.2.7', DONT, 'queue 192.0.2.7'], 'queued after the failed sendto');
  t.equal(sock.sendsQueued, 1, 'counted');
  raw.sendError = undefined;
  void sock.echo('192.0.2.8', {}, never()); // sent into the reused buffer: the queued echo has its own copy
  await turn();
  const before = raw.calls.length;
  raw.flush();
  t.same(raw.calls.slice(before), [DO, 'sendto 192.0.2.7', DONT], 'sent on the writable event, DF around it');
  t.equal(raw.last().ip, '192.0.2.7');
  raw.answer();
  t.match(await q, { outcome: 'ok' }, 'answered: the queued copy carried its own sequence and token');

  const { raw: old, sock: queued } = fakeSocket({ direct: false });
  t.teardown(() => queued.close());
  const r = queued.echo('192.0.2.7', {}, never());
  await turn();
  t.same(old.calls.slice(2), ['queue 192.0.2.7'], 'without raw-socket\'s native handle, echoes go through its queue');
  old.flush();
  old.answer();
  t.match(await r, { outcome: 'ok' });
});

t.test('sequences increase, wrap, and skip one still pending', async (t) => {
  const { raw, sock } = fakeSocket();
  t.teardown(() => sock.close());
  const stuck = sock.echo('192.0.2.7', {}, never());
  await turn();
  const held = raw.last().seq;
  const seen = new Set<number>();
  let prev = held;
  const signal = never();
  for (let i = 0; i < 0x10000 + 10; i++) {
    void sock.echo('192.0.2.8', {}, signal);
    await turn();
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
  await turn();
  c.abort();
  t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
  t.equal(sock.inFlight, 0);
  raw.answer();
  t.equal(sock.repliesUnmatched, 1);
  t.same(await sock.echo('192.0.2.7', {}, c.signal), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' }, 'already aborted: nothing sent');
  const c2 = new AbortController();
  const q = sock.echo('192.0.2.7', {}, c2.signal);
  c2.abort();
  t.same(await q, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' }, 'aborted before its turn ended');
  await turn();
  t.equal(raw.sent.length, 1, 'and not sent');
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
  await turn();
  raw.answer();
  t.match(await b, { outcome: 'ok' });
  const c = sock.echo('192.0.2.9', {}, never());
  t.equal(sock.inFlight, 2, 'room again once one settled');
  sock.close();
  t.same(await a, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  t.same(await c, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
});

t.test('close() settles what is pending and lets go of the sockets', async (t) => {
  const { raw, made, sock } = fakeSocket({ families: ['ipv4', 'ipv6'] });
  const c = new AbortController();
  const p = sock.echo('192.0.2.7', {}, c.signal);
  const q = sock.echo('2001:db8::7', {}, c.signal);
  sock.close();
  t.same(await p, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  t.same(await q, { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  for (const r of made) {
    t.equal(r.closed, true, `${r.family} closed`);
    t.equal(r.listenerCount('message') + r.listenerCount('error') + r.listenerCount('close'), 0, `${r.family}: no listeners left`);
  }
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  sock.close();
  t.pass('close is idempotent');
  await turn();
  t.equal(raw.sent.length, 0, 'echoes settled before their turn ended are not sent');
});

t.test('a socket that dies fails its echoes at once, is reopened with a bounded backoff, counted; its probes say why meanwhile', async (t) => {
  const sink = logSink();
  const clock = new ManualClock();
  const timers = manualSchedule();
  const states: string[] = [];
  const reopens: string[] = [];
  let failNext = 0;
  const made: FakeRawSocket[] = [];
  const sock = IcmpSocket.open({
    log: sink.log,
    clock,
    reopenInitialMs: 10,
    reopenMaxMs: 80,
    schedule: timers.schedule,
    onState: (f, up) => states.push(`${f} ${up ? 'up' : 'down'}`),
    onReopen: (f, ok) => reopens.push(`${f} ${ok ? 'ok' : 'failed'}`),
    createSocket: (family: AddressFamily) => {
      if (family === 'ipv4' && made.length >= 2 && failNext > 0) {
        failNext--;
        throw new Error('Operation not permitted');
      }
      const r = new FakeRawSocket(family);
      made.push(r);
      return r;
    },
  })!;
  t.teardown(() => sock.close());
  const [v4, v6] = made as [FakeRawSocket, FakeRawSocket];
  t.equal(sock.up, true);

  const pending = sock.echo('192.0.2.7', {}, never());
  await turn();
  v4.emit('error', new Error('-9')); // raw-socket after a poll error: emits it, then closes the socket
  v4.close();
  const down = { outcome: 'error', rttUs: 0, detail: 'ICMP socket closed unexpectedly after error -9; reopening' };
  t.same(await pending, down, 'the pending echo failed at once, saying why');
  t.match(sink.find(/closed unexpectedly/), { level: 50, family: 'ipv4' });
  t.same(states, ['ipv4 down']);
  t.equal(sock.up, false);
  t.same(await sock.echo('192.0.2.7', {}, never()), down, 'while down: the same detail, nothing sent');
  t.equal(v4.sent.length, 1);
  const p6 = sock.echo('2001:db8::7', {}, never());
  await turn();
  v6.answer();
  t.match(await p6, { outcome: 'ok' }, 'the other family goes on');

  failNext = 4;
  const delays = [timers.next(), timers.next(), timers.next(), timers.next()];
  t.same(reopens, ['ipv4 failed', 'ipv4 failed', 'ipv4 failed', 'ipv4 failed'], 'each failed attempt counted');
  t.same(await sock.echo('192.0.2.7', {}, never()), { outcome: 'error', rttUs: 0, detail: 'ICMP socket down, reopening failed: Operation not permitted' });
  delays.push(timers.next());
  t.same(delays, [10, 20, 40, 80, 80], 'doubling, capped at reopenMaxMs');
  t.same(reopens.at(-1), 'ipv4 ok');
  t.same(states, ['ipv4 down', 'ipv4 up']);
  t.equal(sink.lines.filter((l) => /could not be reopened/.test(String(l.msg)) && l.level === 40).length, 1, 'the first failure warned, the others at debug');
  t.ok(sink.find('ICMP socket reopened'));
  const v4b = made.at(-1)!;
  t.not(v4b, v4, 'a new socket');
  t.same(v4b.calls, [DONT, FILTER], 'set up as the first one was');
  const again = sock.echo('192.0.2.7', {}, never());
  await turn();
  v4b.answer();
  t.match(await again, { outcome: 'ok' }, 'probes work again');

  v4b.close(); // dies again at once: the backoff goes on from where it was
  t.same(timers.pending().map((x) => x.ms), [80]);
  timers.next();
  const v4c = made.at(-1)!;
  clock.advance(80); // then it stays up for reopenMaxMs: the next death starts from the first delay
  v4c.close();
  t.same(timers.pending().map((x) => x.ms), [10]);
  sock.close();
  t.same(timers.pending(), [], 'close() cancels the reopen');
});

t.test('read errors are logged once per socket and do not close it', async (t) => {
  const sink = logSink();
  const { raw, sock } = fakeSocket({ log: sink.log });
  t.teardown(() => sock.close());
  raw.emit('error', new Error('Resource temporarily unavailable'));
  raw.emit('error', new Error('Resource temporarily unavailable'));
  t.equal(sink.lines.filter((l) => l.msg === 'ICMP socket error (later ones of this socket at debug level)').length, 1);
  const p = sock.echo('192.0.2.7', {}, never());
  await turn();
  raw.answer();
  t.match(await p, { outcome: 'ok' });
  t.equal(sock.up, true);
});

// ---- live, on loopback (127/8 and ::1) ----

const sock = IcmpSocket.open({ log: silentLogger() });
if (!sock) {
  missingHere(t, 'no CAP_NET_RAW here (live ICMP on loopback)');
} else {
  t.teardown(() => sock.close());

  t.test("live: raw-socket still has the native handle whose synchronous send the sockets use (else they would fall back to its queue unseen)", (t) => {
    for (const opts of [{ protocol: raw.Protocol.ICMP }, { addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6 }]) {
      const r = raw.createSocket(opts);
      t.equal(typeof r.wrap?.send, 'function');
      r.close();
    }
    t.end();
  });

  t.test('live: echo to loopback addresses, IPv4 and IPv6', async (t) => {
    t.same(sock.families, ['ipv4', 'ipv6'], 'both sockets open');
    for (const ip of ['127.0.0.1', '127.0.0.5', '::1', '0:0::1']) {
      const r = await sock.echo(ip, {}, never());
      t.equal(r.outcome, 'ok', ip);
      t.ok(Number.isInteger(r.rttUs) && r.rttUs > 0 && r.rttUs < 1_000_000, `${ip}: rtt ${r.rttUs} µs`);
    }
    t.match(await sock.echo('127.0.0.1', { size: 1472, dontFragment: true }, never()), { outcome: 'ok' }, 'DF echo that fits lo');
    t.match(await sock.echo('127.0.0.1', { size: 8000 }, never()), { outcome: 'ok' }, 'a large echo after it');
    t.match(await sock.echo('::1', { size: 1452, dontFragment: true }, never()), { outcome: 'ok' }, 'IPV6_DONTFRAG echo that fits lo');
    t.match(await sock.echo('::1', { size: 8000 }, never()), { outcome: 'ok' }, 'a large ICMPv6 echo');
    t.equal(sock.inFlight, 0);
    t.equal(sock.sendsQueued, 0, 'every echo sent at once');
  });

  t.test('live: many concurrent echoes each get their own reply; two sockets do not steal', async (t) => {
    // The same identifier on purpose: the worst case of two agents in one
    // namespace (random identifiers collide 1 time in 65536); each raw socket
    // gets a copy of every reply, and the token and source tell whose it is.
    const other = IcmpSocket.open({ log: silentLogger(), identifier: sock.identifier })!;
    t.teardown(() => other.close());
    // Distinct addresses: a reply is accepted only from the address probed, so
    // an ok for each means each matched its own request.
    const ips = [...Array.from({ length: 100 }, (_, i) => `127.0.${i % 5}.${10 + i}`), ...Array<string>(20).fill('::1')];
    const results = await Promise.all([...ips.map((ip) => sock.echo(ip, {}, never())), ...ips.map((ip) => other.echo(ip, {}, never()))]);
    t.equal(results.filter((r) => r.outcome === 'ok').length, 240, 'all 240 answered');
    t.equal(sock.inFlight + other.inFlight, 0);
    t.comment(`ignored: ${sock.repliesUnmatched} by one, ${other.repliesUnmatched} by the other`);
    t.ok(sock.repliesUnmatched + other.repliesUnmatched > 0, "they saw (and ignored) each other's replies");
  });

  t.test('live: abort → timeout, nothing left pending', async (t) => {
    const c = new AbortController();
    c.abort();
    t.same(await sock.echo('127.0.0.1', {}, c.signal), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
    // Aborted before its turn ends: settled at once, never sent.
    for (const ip of ['127.0.0.1', '::1']) {
      const c2 = new AbortController();
      const p = sock.echo(ip, {}, c2.signal);
      c2.abort();
      t.same(await p, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' }, ip);
    }
    t.equal(sock.inFlight, 0);
  });

  t.test('live: a raw socket closed under it is reopened, and probes work again', async (t) => {
    const real: RawSocket[] = [];
    const reopens: string[] = [];
    const s = IcmpSocket.open({
      log: silentLogger(),
      families: ['ipv4'],
      reopenInitialMs: 5,
      createSocket: () => {
        const r = raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 });
        real.push(r);
        return r;
      },
      onReopen: (family, ok) => reopens.push(`${family} ${ok ? 'ok' : 'failed'}`),
    })!;
    t.teardown(() => s.close());
    t.match(await s.echo('127.0.0.1', {}, never()), { outcome: 'ok' });
    const p = s.echo('127.0.0.1', {}, never());
    real[0]!.close(); // what raw-socket does after a poll error
    t.same(await p, { outcome: 'error', rttUs: 0, detail: 'ICMP socket closed unexpectedly; reopening' });
    await waitFor('the socket reopened', () => s.up, 5_000, 5);
    t.same(reopens, ['ipv4 ok']);
    t.equal(real.length, 2, 'a new raw socket');
    t.match(await s.echo('127.0.0.1', {}, never()), { outcome: 'ok' }, 'probes work again');
  });

  t.test('live: the pending bound is counted; close settles what is pending', async (t) => {
    const small = IcmpSocket.open({ log: silentLogger(), maxPending: 1 })!;
    const first = small.echo('127.0.0.1', {}, never());
    t.same(await small.echo('::1', {}, never()), { outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });
    t.equal(small.droppedFull, 1);
    small.close(); // the first echo was not even sent: its turn has not ended
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
const netns6Skip = skipUnlessCi(childSkip || (!canRun('unshare', ['-n', '--', 'ip6tables', '-L', '-n']) && 'no private network namespace with ip6tables here') || (!canRun('nsenter', ['--version']) && 'no nsenter'));

/** Child code: `wait(what, fn, ms)` polls fn until true, or throws naming what did not happen. */
const WAIT = `const wait = async (what, fn, ms) => {
  const until = performance.now() + ms;
  while (!fn()) {
    if (performance.now() > until) throw new Error('not within ' + ms + ' ms: ' + what);
    await new Promise((r) => setTimeout(r, 2));
  }
};`;

t.test('child, private netns: the kernel filter keeps every ICMP type but replies and errors from the socket', { skip: netnsSkip }, async (t) => {
  // The namespace answers no echo request, so the only echo replies are the
  // marker; an unfiltered raw socket of each family sends the unwanted types
  // and, as a control, shows they did arrive.
  const setup = ['ip link set lo up', 'sysctl -qw net.ipv4.icmp_echo_ignore_all=1', 'sysctl -qw net.ipv6.icmp.echo_ignore_all=1'].join(' && ');
  const r = await runChild(
    ['unshare', '-n', '--', 'sh', '-c', `${setup} && exec "$@"`, 'sh'],
    `import raw from 'raw-socket';
     import { IcmpSocket } from ${mod('agent/probers/icmp-socket.js')};
     import { buildEchoRequest, checksum } from ${mod('agent/probers/icmp-packet.js')};
     import { silentLogger } from ${mod('common/logger.js')};
     ${WAIT}
     const seen = { ipv4: [], ipv6: [] };
     const create = (family) => {
       const s = family === 'ipv4' ? raw.createSocket({ protocol: raw.Protocol.ICMP }) : raw.createSocket({ addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6 });
       s.on('message', (b) => seen[family].push(family === 'ipv4' ? b[(b[0] & 15) * 4] : b[0]));
       return s;
     };
     const s = IcmpSocket.open({ log: silentLogger(), createSocket: create });
     const control = { ipv4: [], ipv6: [] };
     const c4 = raw.createSocket({ protocol: raw.Protocol.ICMP });
     c4.on('message', (b) => control.ipv4.push(b[(b[0] & 15) * 4]));
     const c6 = raw.createSocket({ addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6 });
     c6.on('message', (b) => control.ipv6.push(b[0]));
     const message = (type, family) => {
       const m = buildEchoRequest(0x7777, 1, Buffer.alloc(8), 8, family);
       m[0] = type;
       if (family === 'ipv4') { m.writeUInt16BE(0, 2); m.writeUInt16BE(checksum(m), 2); }
       return m;
     };
     const unwanted4 = [8, 13, 15, 17, 5, 9, 10, 12, 4];
     const unwanted6 = [128, 130, 131, 133, 134, 135, 136, 137, 139, 200];
     for (const type of unwanted4) c4.wrap.send(message(type, 'ipv4'), 0, 16, '127.0.0.1', () => {});
     for (const type of unwanted6) c6.wrap.send(message(type, 'ipv6'), 0, 16, '::1', () => {});
     // The markers, last: loopback keeps the order, so once a marker is read everything before it was delivered.
     c4.wrap.send(message(0, 'ipv4'), 0, 16, '127.0.0.1', () => {});
     c6.wrap.send(message(129, 'ipv6'), 0, 16, '::1', () => {});
     await wait('the markers', () => seen.ipv4.includes(0) && seen.ipv6.includes(129) && control.ipv4.includes(0) && control.ipv6.includes(129), 5000);
     s.close(); c4.close(); c6.close();
     console.log(JSON.stringify({ seen, control, unmatched: s.repliesUnmatched }));`,
  );
  t.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as { seen: Record<string, number[]>; control: Record<string, number[]>; unmatched: number };
  t.same(o.seen, { ipv4: [0], ipv6: [129] }, "the agent's sockets read the markers and nothing else");
  for (const type of [8, 13, 14, 17]) t.ok(o.control.ipv4!.includes(type), `IPv4 type ${type} did arrive in the namespace (the control socket saw it)`);
  for (const type of [128, 133, 135, 200]) t.ok(o.control.ipv6!.includes(type), `ICMPv6 type ${type} did arrive in the namespace`);
  t.equal(o.unmatched, 2, 'the two markers, ignored as not ours');
});

/** Shell: a peer namespace P (held by a bounded sleep, so it vanishes with it) on a veth, 198.18.200.1 here and .2 there; PEER=its pid. */
const PEER_NAMESPACE = `set -e
ip link set lo up
unshare -n sleep 60 & P=$!
trap 'kill $P 2>/dev/null; wait' EXIT
self=$(readlink /proc/self/ns/net)
for i in $(seq 500); do [ "$(readlink /proc/$P/ns/net)" != "$self" ] && break; sleep 0.01; done
ip link add a0 type veth peer name p0 netns $P
ip addr add 198.18.200.1/30 dev a0
ip link set a0 up
nsenter -t $P -n sh -c 'set -e; ip link set lo up; ip addr add 198.18.200.2/30 dev p0; ip link set p0 up'
export PEER=$P`;

t.test('child, private netns: packets arriving between rounds are read as they come; a flood of echo requests never reaches the socket, delays no send, fails no probe', { skip: netnsSkip }, async (t) => {
  // Two loads. A burst of junk the filter lets through (echo replies with
  // another identifier), between rounds: a socket paused between rounds
  // would leave it queued. And what the issue saw: peers' echo requests, a
  // flood from a peer namespace while rounds run every 100 ms, bounded in
  // packets and time: without the filter they filled the queue, and sends
  // that waited for a "writable" event waited behind them.
  const FLOOD = `import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
m = bytearray(struct.pack('!BBHHH', 8, 0, 0, 0x7777, 1) + bytes(56))
t = sum(struct.unpack('!32H', bytes(m)))
while t > 0xffff: t = (t & 0xffff) + (t >> 16)
struct.pack_into('!H', m, 2, ~t & 0xffff)
end = time.monotonic() + float(sys.argv[1])
n = 0
print('ready', flush=True)
while n < 300000 and time.monotonic() < end:
    for _ in range(100): s.sendto(m, ('198.18.200.1', 0))
    n += 100
print(n, flush=True)`;
  const r = await runChild(
    ['unshare', '-n', '--', 'sh', '-c', `${PEER_NAMESPACE}\n"$@"`, 'sh'],
    `import raw from 'raw-socket';
     import { spawn } from 'node:child_process';
     import { readFileSync } from 'node:fs';
     import { IcmpSocket } from ${mod('agent/probers/icmp-socket.js')};
     import { buildEchoRequest, checksum } from ${mod('agent/probers/icmp-packet.js')};
     import { silentLogger } from ${mod('common/logger.js')};
     ${WAIT}
     let read = 0; // every packet the socket reads, whatever it is
     const create = () => raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 }).on('message', () => read++);
     const s = IcmpSocket.open({ log: silentLogger(), families: ['ipv4'], createSocket: create });
     const round = async () => {
       const c = new AbortController();
       const timer = setTimeout(() => c.abort(), 1000);
       const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => s.echo('127.0.0.' + (i + 1), {}, c.signal)));
       clearTimeout(timer);
       return rs;
     };
     const out = { quiet: [], burst: [], flood: [], readBetweenRounds: [] };
     for (let i = 0; i < 3; i++) out.quiet.push(...(await round()));
     // Bursts between rounds, sent in one tick from an unfiltered socket.
     const j = raw.createSocket({ protocol: raw.Protocol.ICMP });
     j.pauseRecv();
     const junk = buildEchoRequest(0x7777, 1, Buffer.alloc(8), 56);
     junk[0] = 0; junk.writeUInt16BE(0, 2); junk.writeUInt16BE(checksum(junk), 2);
     for (let i = 0; i < 5; i++) {
       const before = s.repliesUnmatched;
       for (let k = 0; k < 100; k++) j.wrap.send(junk, 0, junk.length, '127.0.0.1', () => {});
       await wait('the burst read with nothing pending', () => s.repliesUnmatched - before >= 100, 5000);
       out.readBetweenRounds.push(s.inFlight === 0 ? s.repliesUnmatched - before : -1);
       out.burst.push(...(await round()));
     }
     j.close();
     const rx = () => Number(readFileSync('/proc/net/dev', 'utf8').split('\\n').find((l) => l.trim().startsWith('a0:')).split(':')[1].trim().split(/\\s+/)[1]); // this namespace's (sysfs shows the host's)
     const py = spawn('nsenter', ['-t', process.env.PEER, '-n', 'python3', '-c', ${JSON.stringify(FLOOD)}, '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
     let pyOut = '';
     py.stdout.on('data', (b) => (pyOut += b));
     await wait('the flood', () => pyOut.includes('ready'), 5000);
     const read0 = read;
     const rx0 = rx();
     for (let i = 0; i < 10 && py.exitCode === null; i++) {
       out.flood.push(...(await round()));
       await new Promise((r) => setTimeout(r, 100));
     }
     const floodRead = read - read0;
     await new Promise((r) => (py.exitCode !== null ? r() : py.once('exit', r)));
     const arrived = rx() - rx0;
     s.close();
     const summary = (rs) => ({ n: rs.length, ok: rs.filter((x) => x.outcome === 'ok').length, outcomes: [...new Set(rs.map((x) => x.outcome + (x.detail ? ' ' + x.detail : '')))], medianUs: rs.map((x) => x.rttUs).sort((a, b) => a - b)[rs.length >> 1] });
     console.log(JSON.stringify({ quiet: summary(out.quiet), burst: summary(out.burst), flood: summary(out.flood), readBetweenRounds: out.readBetweenRounds, floodRead, arrived, floodSent: Number(pyOut.split('\\n')[1]), queued: s.sendsQueued }));`,
    60_000,
  );
  t.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as Record<'quiet' | 'burst' | 'flood', { n: number; ok: number; outcomes: string[]; medianUs: number }> & { readBetweenRounds: number[]; floodRead: number; arrived: number; floodSent: number; queued: number };
  t.same(o.readBetweenRounds, [100, 100, 100, 100, 100], 'each burst was read while no echo was pending: the socket keeps reading between rounds');
  t.same(o.quiet.outcomes, ['ok'], `quiet rounds: ${o.quiet.ok}/${o.quiet.n} ok`);
  t.same(o.burst.outcomes, ['ok'], `rounds after a burst: ${o.burst.ok}/${o.burst.n} ok`);
  t.ok(o.arrived > 1000, `the flood arrived: ${o.arrived} packets in on the veth (${o.floodSent} sent)`);
  t.ok(o.flood.n >= 10, `${o.flood.n} probes during the flood`);
  t.same(o.flood.outcomes, ['ok'], `rounds during the flood: ${o.flood.ok}/${o.flood.n} ok, no false timeout`);
  t.equal(o.floodRead, o.flood.n, 'the socket read the replies to its probes and not one flood packet (the kernel filter dropped them)');
  t.equal(o.queued, 0, "no send waited in raw-socket's queue");
  t.comment(`median RTT: quiet ${o.quiet.medianUs} µs, after a burst ${o.burst.medianUs} µs, during the flood ${o.flood.medianUs} µs`);
});

t.test('child, private netns: ICMP errors settle at once, a blackhole times out, DF too big fails at send; the socket holds the process until closed', { skip: netnsSkip }, async (t) => {
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
     const s = IcmpSocket.open({ log: silentLogger(), families: ['ipv4'] });
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
     // Nothing else holds the loop: once closed, the process exits by itself.
     s.close();`,
  );
  t.equal(r.status, 0, `child exited by itself once the socket was closed (${r.stderr.trim()})`);
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

t.test('child, private netns: ICMPv6 errors (REJECT, a route, a router\'s packet too big), a blackhole, IPV6_DONTFRAG', { skip: netns6Skip }, async (t) => {
  // Three namespaces: the child's (A), a router R and a host B behind R on a
  // 1280-byte link, R and B held by a bounded `sleep` so they vanish with it.
  // ULA addresses with nodad (usable at once), ICMPv6 not rate limited.
  const script = `set -e
ip link set lo up
ip link set lo mtu 1500
sysctl -qw net.ipv6.icmp.ratelimit=0
for a in fd00:9::9 fd00:9::10 fd00:9::11; do ip -6 addr add $a/128 dev lo nodad; done
ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -d fd00:9::9 -j REJECT --reject-with icmp6-addr-unreachable
ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -d fd00:9::11 -j REJECT
ip6tables -A INPUT -p icmpv6 --icmpv6-type echo-request -d fd00:9::10 -j DROP
unshare -n sleep 60 & R=$!
unshare -n sleep 60 & B=$!
trap 'kill $R $B 2>/dev/null; wait' EXIT
self=$(readlink /proc/self/ns/net)
for i in $(seq 500); do [ "$(readlink /proc/$R/ns/net)" != "$self" ] && [ "$(readlink /proc/$B/ns/net)" != "$self" ] && break; sleep 0.01; done
ip link add a0 type veth peer name r0 netns $R
ip link add r1 netns $R type veth peer name b0 netns $B
ip -6 addr add fd00:1::1/64 dev a0 nodad
ip link set a0 up
ip -6 route add fd00:2::/64 via fd00:1::2
ip -6 route add fd00:3::/64 via fd00:1::2
nsenter -t $R -n sh -c 'set -e; ip link set lo up; sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.icmp.ratelimit=0; ip -6 addr add fd00:1::2/64 dev r0 nodad; ip -6 addr add fd00:2::1/64 dev r1 nodad; ip link set r0 up; ip link set r1 mtu 1280 up; ip -6 route add unreachable fd00:3::/64'
nsenter -t $B -n sh -c 'set -e; ip link set lo up; ip -6 addr add fd00:2::2/64 dev b0 nodad; ip link set b0 mtu 1280 up; ip -6 route add fd00:1::/64 via fd00:2::1'
"$@"`;
  const r = await runChild(
    ['unshare', '-n', '--', 'sh', '-c', script, 'sh'],
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
       families: s.families,
       addrUnreachable: await run('fd00:9::9', {}, 5000),
       rejected: await run('fd00:9::11', {}, 5000),
       blackholed: await run('fd00:9::10', {}, 300),
       dfTooBig: await run('::1', { size: 2000, dontFragment: true }, 5000),
       fragmented: await run('::1', { size: 2000 }, 5000),
       viaRouter: await run('fd00:2:0:0::2', {}, 5000),
       noRoute: await run('fd00:3::7', {}, 5000),
       packetTooBig: await run('fd00:2::2', { size: 1400, dontFragment: true }, 5000),
       tooBigKnown: await run('fd00:2::2', { size: 1400, dontFragment: true }, 5000),
       fragmentedAtSource: await run('fd00:2::2', { size: 1400 }, 5000),
       pending: s.inFlight,
     }));
     s.close();`,
  );
  t.equal(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout) as Record<string, { outcome: string; detail?: string; ms: number }> & { pending: number; families: string[] };
  t.same(o.families, ['ipv4', 'ipv6']);
  t.match(o.addrUnreachable, { outcome: 'unreachable', detail: 'ICMPv6 address unreachable from fd00:9::9' });
  t.ok(o.addrUnreachable!.ms < 1000, `unreachable known in ${o.addrUnreachable!.ms.toFixed(1)} ms, not at the deadline`);
  t.match(o.rejected, { outcome: 'refused', detail: 'ICMPv6 port unreachable from fd00:9::11' }, 'ip6tables REJECT: port unreachable');
  t.match(o.blackholed, { outcome: 'timeout' });
  t.ok(o.blackholed!.ms >= 290, `blackhole waited for the deadline (${o.blackholed!.ms.toFixed(1)} ms)`);
  t.match(o.dfTooBig, { outcome: 'mtu_exceeded', detail: 'Message too long' }, 'IPV6_DONTFRAG over the interface MTU fails at send');
  t.match(o.fragmented, { outcome: 'ok' }, 'the same size without it is fragmented at the source and answered');
  t.match(o.viaRouter, { outcome: 'ok' }, 'through the router, the address written another way');
  t.match(o.noRoute, { outcome: 'unreachable', detail: 'ICMPv6 no route to destination from fd00:1::2' }, "the router's unreachable route");
  t.match(o.packetTooBig, { outcome: 'mtu_exceeded', detail: 'ICMPv6 packet too big from fd00:1::2, MTU 1280' }, "the router's packet too big, matched by its quote");
  t.match(o.tooBigKnown, { outcome: 'mtu_exceeded', detail: 'Message too long' }, 'then the path MTU is known: the next one fails at send');
  t.match(o.fragmentedAtSource, { outcome: 'ok' }, 'without IPV6_DONTFRAG the source fragments to the path MTU');
  t.equal(o.pending, 0);
});
