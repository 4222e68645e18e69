// ICMP: parsing crafted packets (pure), and live echoes through the real raw
// socket on loopback (this suite runs as root in CI; without CAP_NET_RAW the
// live part says so and checks that open() declines instead of throwing).
import t from 'tap';
import { buildEchoRequest, checksum, IcmpSocket, icmpErrorOutcome, parseIcmpPacket } from '../../../agent/probers/icmp-socket.js';
import { silentLogger } from '../../../common/logger.js';

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

const token = Buffer.from('0123456789abcdef', 'hex');

function reply(id: number, seq: number, ihlWords = 5): Buffer {
  const icmp = buildEchoRequest(id, seq, token);
  icmp[0] = 0; // echo reply
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(checksum(icmp), 2);
  return Buffer.concat([ipHeader('192.0.2.2', '192.0.2.1', icmp.length, ihlWords), icmp]);
}

function icmpError(type: number, code: number, id: number, seq: number, mtu = 0): Buffer {
  const original = Buffer.concat([ipHeader('192.0.2.1', '192.0.2.9', 64), buildEchoRequest(id, seq, token).subarray(0, 8)]);
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = code;
  if (mtu) head.writeUInt16BE(mtu, 6);
  const icmp = Buffer.concat([head, original]);
  icmp.writeUInt16BE(checksum(icmp), 2);
  return Buffer.concat([ipHeader('198.51.100.1', '192.0.2.1', icmp.length), icmp]);
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
  t.end();
});

t.test('replies: identifier, sequence and token; IHL honoured', (t) => {
  t.same(parseIcmpPacket(reply(7, 9)), { kind: 'reply', id: 7, seq: 9, token });
  t.same(parseIcmpPacket(reply(7, 9, 6)), { kind: 'reply', id: 7, seq: 9, token }, 'IP options (IHL 6)');
  const req = Buffer.concat([ipHeader('192.0.2.1', '192.0.2.2', 64), buildEchoRequest(7, 9, token)]);
  t.same(parseIcmpPacket(req), { kind: 'request', id: 7, seq: 9 });
  t.end();
});

t.test('ICMP errors quote our request', (t) => {
  t.match(parseIcmpPacket(icmpError(3, 1, 7, 9)), { kind: 'error', type: 3, code: 1, id: 7, seq: 9, dst: '192.0.2.9', nextHopMtu: 0 });
  t.match(parseIcmpPacket(icmpError(3, 3, 7, 10)), { kind: 'error', code: 3, seq: 10 });
  t.match(parseIcmpPacket(icmpError(3, 4, 7, 11, 1400)), { kind: 'error', code: 4, nextHopMtu: 1400 });
  t.match(parseIcmpPacket(icmpError(11, 0, 7, 12)), { kind: 'error', type: 11, seq: 12 });
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

t.test('garbage and truncated packets never throw', (t) => {
  t.equal(parseIcmpPacket(Buffer.alloc(0)), undefined);
  t.equal(parseIcmpPacket(Buffer.from('not a packet at all, just text')), undefined);
  t.equal(parseIcmpPacket(reply(1, 1).subarray(0, 25)), undefined, 'truncated ICMP header');
  t.equal(parseIcmpPacket(reply(1, 1).subarray(0, 30)), undefined, 'reply without its token');
  t.equal(parseIcmpPacket(icmpError(3, 1, 1, 1).subarray(0, 40)), undefined, 'error with a truncated quote');
  const notIcmp = reply(1, 1);
  notIcmp[9] = 6;
  t.equal(parseIcmpPacket(notIcmp), undefined, 'not ICMP');
  const badIhl = reply(1, 1);
  badIhl[0] = 0x42;
  t.equal(parseIcmpPacket(badIhl), undefined, 'IHL below 5');
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.from(Array.from({ length: (i % 90) + 1 }, (_, j) => (i * 31 + j * 17) & 0xff));
    junk[0] = 0x45;
    parseIcmpPacket(junk);
  }
  t.pass('2000 junk packets parsed without throwing');
  t.match(parseIcmpPacket(Buffer.concat([ipHeader('192.0.2.2', '192.0.2.1', 8), Buffer.from([13, 0, 0, 0, 0, 0, 0, 0])])), { kind: 'other', type: 13 });
  t.end();
});

const sock = IcmpSocket.open({ log: silentLogger() });
if (!sock) {
  t.comment('no CAP_NET_RAW here: live ICMP tests not run (CI runs as root)');
} else {
  t.teardown(() => sock.close());
  const never = () => new AbortController().signal;

  t.test('echo to loopback addresses', async (t) => {
    for (const ip of ['127.0.0.1', '127.0.0.5']) {
      const r = await sock.echo(ip, {}, never());
      t.equal(r.outcome, 'ok', ip);
      t.ok(r.rttUs > 0 && r.rttUs < 1_000_000, `${ip}: rtt ${r.rttUs} µs`);
    }
    t.equal(sock.inFlight, 0);
  });

  t.test('many concurrent echoes each get their own reply; two sockets do not steal', async (t) => {
    const other = IcmpSocket.open({ log: silentLogger() })!;
    t.teardown(() => other.close());
    const ips = Array.from({ length: 50 }, (_, i) => `127.0.${i % 5}.${10 + i}`);
    const results = await Promise.all([...ips.map((ip) => sock.echo(ip, {}, never())), ...ips.map((ip) => other.echo(ip, {}, never()))]);
    t.ok(results.every((r) => r.outcome === 'ok'), 'all 100 answered');
    t.equal(sock.inFlight + other.inFlight, 0);
    t.ok(sock.repliesUnmatched + other.repliesUnmatched >= 50, 'each saw (and ignored) the other\'s replies');
  });

  t.test('abort → timeout, nothing left pending', async (t) => {
    const c = new AbortController();
    c.abort();
    t.same(await sock.echo('127.0.0.1', {}, c.signal), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded' });
    t.equal(sock.inFlight, 0);
  });

  t.test('the pending bound is counted; close settles what is pending', async (t) => {
    const small = IcmpSocket.open({ log: silentLogger(), maxPending: 1 })!;
    const c = new AbortController();
    // The first echo is pending until its reply arrives on a later tick.
    const first = small.echo('127.0.0.1', {}, c.signal);
    const second = await small.echo('127.0.0.1', {}, c.signal);
    t.same(second, { outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });
    t.equal(small.droppedFull, 1);
    small.close();
    t.match(await first, { outcome: /ok|error/ });
    t.same(await small.echo('127.0.0.1', {}, c.signal), { outcome: 'error', rttUs: 0, detail: 'socket closed' });
  });
}
