// ICMP and ICMPv6 messages, pure: echo requests as written (checksums against
// a plain RFC 1071 sum, over seeded random identifiers, sequences, tokens and
// sizes), crafted packets scanned (IHL, quotes, extension headers, garbage),
// what each error means, the kernel filters' bits, and IPv6 address forms.
// RFC 5737 and RFC 3849 (2001:db8::/32) addresses: nothing is sent.
import { endianness } from 'node:os';
import t from 'tap';
import {
  buildEchoRequest,
  canonicalIpv6,
  checksum,
  EchoWriter,
  errorResult,
  ICMP_FILTER_MASK,
  icmp6ErrorOutcome,
  icmp6Filter,
  icmpErrorOutcome,
  IcmpScan,
  parseIcmp6Packet,
  parseIcmpPacket,
  sameAddress,
  SCAN,
  scanIcmp4,
} from '../../../agent/probers/icmp-packet.js';
import { mulberry32 } from '../../helpers/random.js';
import { echo6, icmp6Error, icmpError, ip6Header, ipHeader, packet, reply, token } from './icmp-crafted.js';

t.test('echo requests are well formed, their checksums right for any identifier, sequence, token and size', (t) => {
  const p = buildEchoRequest(0x1234, 0xbeef, token, 56);
  t.equal(p.length, 64);
  t.equal(p[0], 8);
  t.equal(p.readUInt16BE(4), 0x1234);
  t.equal(p.readUInt16BE(6), 0xbeef);
  t.same(p.subarray(8, 16), token);
  t.equal(checksum(p), 0, 'a correct checksum sums to zero');
  t.equal(buildEchoRequest(1, 1, token, 0).length, 16, 'the token always fits');
  t.equal(checksum(buildEchoRequest(1, 1, token, 57)), 0, 'odd length checksummed too');

  const random = mulberry32(16);
  const w = new EchoWriter('ipv4');
  const sizes = [0, 1, 7, 8, 9, 56, 57, 1472, 1473, 9000];
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const [id, seq] = [Math.floor(random() * 0x10000), Math.floor(random() * 0x10000)];
    const [t0, t1] = [Math.floor(random() * 2 ** 32), Math.floor(random() * 2 ** 32)];
    const size = sizes[i % sizes.length]!;
    const b = w.write(id, seq, t0, t1, size);
    const fresh = Buffer.from(b);
    fresh.writeUInt16BE(0, 2);
    if (b.readUInt16BE(2) !== checksum(fresh) || b.readUInt16BE(4) !== id || b.readUInt16BE(6) !== seq || b.readUInt32BE(8) !== t0 || b.readUInt32BE(12) !== t1 || b.length !== 8 + Math.max(8, size)) bad++;
  }
  t.equal(bad, 0, '20,000 seeded echoes written into reused buffers: each checksum equals a fresh RFC 1071 sum');
  t.equal(w.write(1, 2, 3, 4), w.write(5, 6, 7, 8), 'one buffer per size, reused');

  const v6 = buildEchoRequest(7, 9, token, 56, 'ipv6');
  t.equal(v6[0], 128, 'ICMPv6 echo request');
  t.equal(v6.readUInt16BE(2), 0, 'ICMPv6 checksum left to the kernel');
  t.end();
});

t.test('IPv4 replies: identifier, sequence and token; IHL honoured', (t) => {
  t.same(parseIcmpPacket(reply(7, 9)), { kind: 'reply', id: 7, seq: 9, token });
  t.same(parseIcmpPacket(reply(7, 9, 6)), { kind: 'reply', id: 7, seq: 9, token }, 'IP options (IHL 6)');
  t.same(parseIcmpPacket(reply(7, 9, 15)), { kind: 'reply', id: 7, seq: 9, token }, 'IP options (IHL 15)');
  t.same(parseIcmpPacket(reply(0xffff, 0xfffe)), { kind: 'reply', id: 0xffff, seq: 0xfffe, token }, 'other identifiers parse as they are');
  t.same(parseIcmpPacket(packet('192.0.2.1', '192.0.2.2', buildEchoRequest(7, 9, token))), { kind: 'request', id: 7, seq: 9 });
  t.end();
});

t.test('IPv4 errors quote our request', (t) => {
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

t.test('what an ICMP or ICMPv6 error means', (t) => {
  t.equal(icmpErrorOutcome(3, 1), 'unreachable', 'host unreachable');
  t.equal(icmpErrorOutcome(3, 0), 'unreachable', 'net unreachable');
  t.equal(icmpErrorOutcome(3, 3), 'refused', 'port unreachable: a REJECT');
  t.equal(icmpErrorOutcome(3, 13), 'refused', 'administratively prohibited');
  t.equal(icmpErrorOutcome(3, 4), 'mtu_exceeded', 'fragmentation needed');
  t.equal(icmpErrorOutcome(11, 0), 'unreachable', 'time exceeded');
  t.equal(icmp6ErrorOutcome(1, 0), 'unreachable', 'no route to destination');
  t.equal(icmp6ErrorOutcome(1, 3), 'unreachable', 'address unreachable');
  t.equal(icmp6ErrorOutcome(1, 4), 'refused', 'port unreachable: an ip6tables REJECT');
  t.equal(icmp6ErrorOutcome(1, 1), 'refused', 'administratively prohibited');
  t.equal(icmp6ErrorOutcome(1, 6), 'refused', 'reject route');
  t.equal(icmp6ErrorOutcome(2, 0), 'mtu_exceeded', 'packet too big');
  t.equal(icmp6ErrorOutcome(3, 0), 'unreachable', 'hop limit exceeded');
  const s = new IcmpScan();
  Object.assign(s, { type: 2, code: 0, mtu: 1280 });
  t.same(errorResult('ipv6', s, '2001:db8::fe'), { outcome: 'mtu_exceeded', detail: 'ICMPv6 packet too big from 2001:db8::fe, MTU 1280' });
  Object.assign(s, { type: 1, code: 9, mtu: 0 });
  t.same(errorResult('ipv6', s, '2001:db8::fe'), { outcome: 'unreachable', detail: 'ICMPv6 unreachable code 9 from 2001:db8::fe' });
  Object.assign(s, { type: 3, code: 4, mtu: 1400 });
  t.same(errorResult('ipv4', s, '198.51.100.1'), { outcome: 'mtu_exceeded', detail: 'ICMP fragmentation needed from 198.51.100.1, next-hop MTU 1400' });
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
  const random = mulberry32(5);
  for (let i = 0; i < 5000; i++) {
    const junk = Buffer.from(Array.from({ length: (i % 120) + 1 }, () => Math.floor(random() * 256)));
    if (i % 2 === 0) junk[0] = 0x45 + (i % 3);
    if (junk.length > 3 && i % 3 === 0) junk.writeUInt16BE(Math.min(junk.length, (i * 7) % 140), 2);
    parseIcmpPacket(junk);
    junk[0] = [1, 2, 3, 129][i % 4]!;
    parseIcmp6Packet(junk);
  }
  t.pass('5000 seeded junk packets parsed as IPv4 and as ICMPv6 without throwing');
  t.match(parseIcmpPacket(packet('192.0.2.2', '192.0.2.1', Buffer.from([13, 0, 0, 0, 0, 0, 0, 0]))), { kind: 'other', type: 13 });
  t.end();
});

t.test('ICMPv6: replies, requests, errors quoting our request (extension headers walked), garbage', (t) => {
  t.same(parseIcmp6Packet(echo6(129, 7, 9)), { kind: 'reply', id: 7, seq: 9, token });
  t.same(parseIcmp6Packet(echo6(128, 7, 9)), { kind: 'request', id: 7, seq: 9 });
  t.equal(parseIcmp6Packet(echo6(129, 7, 9).subarray(0, 12)), undefined, 'a reply too short to carry our token');
  t.equal(parseIcmp6Packet(Buffer.from([129, 0, 0])), undefined, 'shorter than a header');
  const req = echo6(128, 7, 9);
  t.same(parseIcmp6Packet(icmp6Error(1, 4, req)), { kind: 'error', type: 1, code: 4, id: 7, seq: 9, dst: '2001:db8::9', nextHopMtu: 0, token });
  t.same(parseIcmp6Packet(icmp6Error(1, 3, req, { quote: 8 })), { kind: 'error', type: 1, code: 3, id: 7, seq: 9, dst: '2001:db8::9', nextHopMtu: 0 }, 'a quote without the token');
  t.match(parseIcmp6Packet(icmp6Error(2, 0, req, { mtu: 1280 })), { kind: 'error', type: 2, nextHopMtu: 1280 }, 'packet too big carries the MTU');
  t.match(parseIcmp6Packet(icmp6Error(3, 0, req, { dst: 'fd00:0:0:0::5' })), { kind: 'error', type: 3, dst: 'fd00::5' }, 'quoted destination written as inet_ntop does');
  const hopByHop = Buffer.alloc(8); // next header, length 0 (8 bytes), PadN
  hopByHop[2] = 1;
  hopByHop[3] = 4;
  const destOpts = Buffer.alloc(16);
  destOpts[1] = 1; // 16 bytes
  const firstFragment = Buffer.alloc(8);
  t.match(parseIcmp6Packet(icmp6Error(1, 0, req, { ext: [[0, hopByHop], [60, destOpts], [44, firstFragment]] })), { kind: 'error', id: 7, seq: 9, token }, 'hop-by-hop, destination options and a first fragment walked');
  const laterFragment = Buffer.alloc(8);
  laterFragment.writeUInt16BE(185 << 3, 2);
  t.same(parseIcmp6Packet(icmp6Error(1, 0, req, { ext: [[44, laterFragment]] })), { kind: 'other', type: 1 }, 'a later fragment carries no ICMPv6 header');
  const udp = Buffer.concat([Buffer.from([3, 4, 0, 0, 0, 0, 0, 0]), ip6Header('2001:db8::9', 17, 8), Buffer.alloc(8)]);
  t.equal(parseIcmp6Packet(udp), undefined, 'an error about UDP is not ours');
  t.same(parseIcmp6Packet(icmp6Error(1, 0, echo6(129, 7, 9))), { kind: 'other', type: 1 }, 'an error about something other than an echo request');
  t.equal(parseIcmp6Packet(icmp6Error(1, 0, req).subarray(0, 45)), undefined, 'error cut inside the quoted IPv6 header');
  t.equal(parseIcmp6Packet(icmp6Error(1, 0, req, { quote: 4 })), undefined, 'error quoting less than 8 bytes of our header');
  const v4inside = icmp6Error(1, 0, req);
  v4inside[8] = 0x45;
  t.equal(parseIcmp6Packet(v4inside), undefined, 'quoted header not IPv6');
  const loop = Array.from({ length: 9 }, (): [number, Buffer] => [60, Buffer.alloc(8)]);
  t.same(parseIcmp6Packet(icmp6Error(1, 0, req, { ext: loop })), { kind: 'other', type: 1 }, 'more than 8 extension headers: not walked');
  t.match(parseIcmp6Packet(Buffer.from([135, 0, 0, 0, 0, 0, 0, 0])), { kind: 'other', type: 135 }, 'neighbour solicitation');
  t.end();
});

t.test('kernel filters: a set bit blocks; only what the prober reads passes', (t) => {
  const passes4 = [...Array(32).keys()].filter((type) => (ICMP_FILTER_MASK & (1 << type)) === 0);
  t.same(passes4, [0, 3, 11], 'IPv4: echo reply, destination unreachable (fragmentation needed included), time exceeded');
  const f = icmp6Filter();
  t.equal(f.length, 32, 'struct icmp6_filter: 8 words');
  const word = (i: number) => (endianness() === 'LE' ? f.readUInt32LE(i * 4) : f.readUInt32BE(i * 4));
  const passes6 = [...Array(256).keys()].filter((type) => (word(type >> 5) & (1 << (type & 31))) === 0);
  t.same(passes6, [1, 2, 3, 129], 'ICMPv6: unreachable, packet too big, time exceeded, echo reply');
  t.end();
});

t.test('IPv6 addresses compare in any spelling', (t) => {
  t.equal(canonicalIpv6('FD00:0:0::1'), 'fd00::1');
  t.equal(canonicalIpv6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'the first longest run of zeros is compressed');
  t.equal(canonicalIpv6('::1'), '::1');
  t.equal(canonicalIpv6('192.0.2.1'), undefined);
  t.ok(sameAddress('ipv6', 'fd00:0::1', 'fd00::1'));
  t.notOk(sameAddress('ipv6', 'fd00::1', 'fd00::2'));
  t.notOk(sameAddress('ipv4', '192.0.2.1', '192.0.2.01'), 'IPv4 compares as written (raw-socket writes dotted quads)');
  const s = new IcmpScan();
  t.equal(scanIcmp4(reply(1, 2), s), SCAN.REPLY);
  t.equal(scanIcmp4(Buffer.alloc(3), s), SCAN.NONE, 'one scan object, reset by each scan');
  t.end();
});
