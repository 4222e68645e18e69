// ICMP and ICMPv6 echo messages as the agent's raw sockets send and read them.
// Every ICMP probe passes through here twice (its request, its reply), so the
// hot path allocates nothing: a request is written into a buffer reused per
// payload size with an incrementally computed checksum, and a received packet
// is scanned into one reused IcmpScan. parseIcmpPacket/parseIcmp6Packet give
// the same scan as a plain object, for tests and for reading.
//
// An IPv4 raw socket delivers the IP header with the message; an ICMPv6 raw
// socket delivers the message alone (RFC 3542), its checksum already verified
// by the kernel, which also computes it on send. ICMP errors quote the
// request they are about (for IPv4 its IP header and at least 8 bytes; Linux
// quotes up to 576 bytes in all, for IPv6 up to 1280), so an error is matched
// to its probe by the quoted identifier, sequence, destination and, when
// quoted, token.
import { SocketAddress } from 'node:net';
import { endianness } from 'node:os';
import type { AddressFamily, Outcome } from '../../common/vocabulary.js';

export const ICMP = Object.freeze({ ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 });
export const ICMP6 = Object.freeze({ DEST_UNREACHABLE: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, ECHO_REQUEST: 128, ECHO_REPLY: 129 });

/** Random bytes at the start of every echo payload: a reply must carry them back. */
export const TOKEN_BYTES = 8;
const HEADER = 8;
/** The largest echo payload per family: 65535 − 20 − 8 for IPv4; 65535 − 8 for IPv6 (its payload length excludes the 40-byte header). */
export const MAX_PAYLOAD: Readonly<Record<AddressFamily, number>> = Object.freeze({ ipv4: 65507, ipv6: 65527 });
/** ping's default payload. */
export const DEFAULT_PAYLOAD = 56;

/**
 * ICMP_FILTER (SOL_RAW) for the IPv4 socket: a set bit blocks that type (Linux
 * filters types 0–31 only). Everything but what the prober reads is dropped
 * in the kernel: echo requests (peers' probes of this pod, our own on
 * loopback), timestamps, redirects, … never wake the agent or fill its queue.
 */
export const ICMP_FILTER_MASK = ~((1 << ICMP.ECHO_REPLY) | (1 << ICMP.DEST_UNREACHABLE) | (1 << ICMP.TIME_EXCEEDED)) >>> 0;

/** The types an ICMPv6 socket lets through (everything else, NDP and MLD included, blocked). */
export const ICMP6_PASSED = Object.freeze([ICMP6.DEST_UNREACHABLE, ICMP6.PACKET_TOO_BIG, ICMP6.TIME_EXCEEDED, ICMP6.ECHO_REPLY]);

/**
 * struct icmp6_filter (IPPROTO_ICMPV6, ICMP6_FILTER): 256 bits in eight 32-bit
 * words of host byte order; as for IPv4 a set bit blocks the type
 * (linux/icmpv6.h: ICMPV6_FILTER_WILLBLOCK is `data[type >> 5] & (1 << (type & 31))`).
 */
export function icmp6Filter(passed: readonly number[] = ICMP6_PASSED): Buffer {
  const words = new Uint32Array(8).fill(0xffffffff);
  for (const t of passed) words[t >> 5]! &= ~(1 << (t & 31)) >>> 0;
  const buf = Buffer.alloc(32);
  for (let i = 0; i < 8; i++) {
    if (endianness() === 'LE') buf.writeUInt32LE(words[i]!, i * 4);
    else buf.writeUInt32BE(words[i]!, i * 4);
  }
  return buf;
}

/** The 16-bit one's-complement sum of buf[start, end) (RFC 1071), folded; an odd last byte is the high half of a word. */
function onesSum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071); over a message that carries a correct one it gives 0. */
export function checksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~onesSum(buf, start, end) & 0xffff;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

interface Template {
  readonly buf: Buffer;
  /** Sum of every word but identifier, sequence and token (IPv4). */
  readonly fixedSum: number;
}

/**
 * Writes echo requests of one family. The returned buffer is reused by the
 * next write of the same size: send it (or copy it) before writing again.
 * The payload is the token, then bytes counting up, as ping's pattern does.
 */
export class EchoWriter {
  private readonly templates = new Map<number, Template>();

  constructor(readonly family: AddressFamily) {}

  write(id: number, seq: number, token0: number, token1: number, size = DEFAULT_PAYLOAD): Buffer {
    let t = this.templates.get(size);
    if (t === undefined) t = this.template(size);
    const b = t.buf;
    b[4] = id >>> 8;
    b[5] = id & 0xff;
    b[6] = seq >>> 8;
    b[7] = seq & 0xff;
    b[8] = token0 >>> 24;
    b[9] = (token0 >>> 16) & 0xff;
    b[10] = (token0 >>> 8) & 0xff;
    b[11] = token0 & 0xff;
    b[12] = token1 >>> 24;
    b[13] = (token1 >>> 16) & 0xff;
    b[14] = (token1 >>> 8) & 0xff;
    b[15] = token1 & 0xff;
    if (this.family === 'ipv4') {
      // RFC 1624: the fixed words' sum is known, add the four that change.
      const sum = fold(t.fixedSum + id + seq + (token0 >>> 16) + (token0 & 0xffff) + (token1 >>> 16) + (token1 & 0xffff));
      const c = ~sum & 0xffff;
      b[2] = c >>> 8;
      b[3] = c & 0xff;
    } // ICMPv6: the kernel fills in the checksum (it covers a pseudo-header only it knows for sure).
    return b;
  }

  private template(size: number): Template {
    // Few sizes are ever used (the default, an MTU probe's): keep a handful.
    if (this.templates.size >= 8) this.templates.clear();
    const buf = Buffer.alloc(HEADER + Math.max(TOKEN_BYTES, size));
    buf[0] = this.family === 'ipv4' ? ICMP.ECHO_REQUEST : ICMP6.ECHO_REQUEST;
    for (let i = HEADER + TOKEN_BYTES; i < buf.length; i++) buf[i] = i & 0xff;
    const t = { buf, fixedSum: onesSum(buf, 0, buf.length) };
    this.templates.set(size, t);
    return t;
  }
}

/** An echo request (IPv4, checksum filled in) with the token as bytes: for tests and tools. */
export function buildEchoRequest(id: number, seq: number, token: Buffer, size = DEFAULT_PAYLOAD, family: AddressFamily = 'ipv4'): Buffer {
  return Buffer.from(new EchoWriter(family).write(id, seq, token.readUInt32BE(0), token.readUInt32BE(4), size));
}

/** What a scan found. */
export const SCAN = Object.freeze({ NONE: 0, REPLY: 1, REQUEST: 2, ERROR: 3, OTHER: 4 });

/** What scanning one received packet found; one instance is reused for every packet. */
export class IcmpScan {
  kind = SCAN.NONE as number;
  type = 0;
  code = 0;
  /** Identifier and sequence of the reply, or of our request quoted in an error. */
  id = 0;
  seq = 0;
  token0 = 0;
  token1 = 0;
  /** Whether the token was there (errors may quote only 8 bytes of our header, RFC 792). */
  hasToken = false;
  /** Offset of the quoted request's destination address, for errors. */
  dstAt = 0;
  /** Next-hop MTU of "fragmentation needed", MTU of "packet too big"; else 0. */
  mtu = 0;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function readToken(b: Uint8Array, at: number, s: IcmpScan): void {
  s.token0 = u32(b, at);
  s.token1 = u32(b, at + 4);
  s.hasToken = true;
}

/** Scans an IPv4 packet (IP header included); NONE for garbage, truncated packets and bad ICMP checksums. */
export function scanIcmp4(b: Uint8Array, s: IcmpScan): number {
  s.kind = SCAN.NONE;
  s.hasToken = false;
  s.mtu = 0;
  if (b.length < 20 || b[0]! >> 4 !== 4) return SCAN.NONE;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = u16(b, 2); // Linux hands raw sockets the header as it came off the wire
  if (ihl < 20 || b[9] !== 1 || total < ihl + HEADER || total > b.length) return SCAN.NONE;
  if (onesSum(b, ihl, total) !== 0xffff) return SCAN.NONE;
  const type = b[ihl]!;
  s.type = type;
  s.code = b[ihl + 1]!;
  if (type === ICMP.ECHO_REPLY || type === ICMP.ECHO_REQUEST) {
    s.id = u16(b, ihl + 4);
    s.seq = u16(b, ihl + 6);
    if (type === ICMP.ECHO_REQUEST) return (s.kind = SCAN.REQUEST);
    if (total < ihl + HEADER + TOKEN_BYTES) return SCAN.NONE;
    readToken(b, ihl + HEADER, s);
    return (s.kind = SCAN.REPLY);
  }
  if (type === ICMP.DEST_UNREACHABLE || type === ICMP.TIME_EXCEEDED) {
    // Quoted: the original IP header, then at least 8 bytes of our ICMP header.
    const inner = ihl + HEADER;
    if (total < inner + 20 || b[inner]! >> 4 !== 4) return SCAN.NONE;
    const innerIhl = (b[inner]! & 0x0f) * 4;
    if (innerIhl < 20 || b[inner + 9] !== 1 || total < inner + innerIhl + HEADER) return SCAN.NONE;
    const quoted = inner + innerIhl;
    if (b[quoted] !== ICMP.ECHO_REQUEST) return (s.kind = SCAN.OTHER);
    s.id = u16(b, quoted + 4);
    s.seq = u16(b, quoted + 6);
    s.dstAt = inner + 16;
    if (type === ICMP.DEST_UNREACHABLE && s.code === 4) s.mtu = u16(b, ihl + 6);
    if (total >= quoted + HEADER + TOKEN_BYTES) readToken(b, quoted + HEADER, s);
    return (s.kind = SCAN.ERROR);
  }
  return (s.kind = SCAN.OTHER);
}

const IPV6_HEADER = 40;
const NEXT_ICMPV6 = 58;
/** Extension headers walked to reach the quoted ICMPv6 header: hop-by-hop, routing, destination options; fragment apart. */
const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_DEST_OPTS = 60;
const MAX_EXT_HEADERS = 8;

/** Scans an ICMPv6 message (no IP header: raw ICMPv6 sockets strip it); NONE for garbage and truncated messages. */
export function scanIcmp6(b: Uint8Array, s: IcmpScan): number {
  s.kind = SCAN.NONE;
  s.hasToken = false;
  s.mtu = 0;
  if (b.length < HEADER) return SCAN.NONE;
  const type = b[0]!;
  s.type = type;
  s.code = b[1]!;
  if (type === ICMP6.ECHO_REPLY || type === ICMP6.ECHO_REQUEST) {
    s.id = u16(b, 4);
    s.seq = u16(b, 6);
    if (type === ICMP6.ECHO_REQUEST) return (s.kind = SCAN.REQUEST);
    if (b.length < HEADER + TOKEN_BYTES) return SCAN.NONE;
    readToken(b, HEADER, s);
    return (s.kind = SCAN.REPLY);
  }
  if (type === ICMP6.DEST_UNREACHABLE || type === ICMP6.PACKET_TOO_BIG || type === ICMP6.TIME_EXCEEDED) {
    const inner = HEADER;
    if (b.length < inner + IPV6_HEADER || b[inner]! >> 4 !== 6) return SCAN.NONE;
    let next = b[inner + 6]!;
    let at = inner + IPV6_HEADER;
    for (let n = 0; next !== NEXT_ICMPV6; n++) {
      if (n === MAX_EXT_HEADERS) return (s.kind = SCAN.OTHER);
      if (next === EXT_HOP_BY_HOP || next === EXT_ROUTING || next === EXT_DEST_OPTS) {
        if (b.length < at + 2) return SCAN.NONE;
        next = b[at]!;
        at += (b[at + 1]! + 1) * 8;
      } else if (next === EXT_FRAGMENT) {
        if (b.length < at + 8) return SCAN.NONE;
        if ((u16(b, at + 2) & 0xfff8) !== 0) return (s.kind = SCAN.OTHER); // not the first fragment: no ICMPv6 header in it
        next = b[at]!;
        at += 8;
      } else return SCAN.NONE; // an error about something other than ICMPv6
    }
    if (b.length < at + HEADER) return SCAN.NONE;
    if (b[at] !== ICMP6.ECHO_REQUEST) return (s.kind = SCAN.OTHER);
    s.id = u16(b, at + 4);
    s.seq = u16(b, at + 6);
    s.dstAt = inner + 24;
    if (type === ICMP6.PACKET_TOO_BIG) s.mtu = u32(b, 4);
    if (b.length >= at + HEADER + TOKEN_BYTES) readToken(b, at + HEADER, s);
    return (s.kind = SCAN.ERROR);
  }
  return (s.kind = SCAN.OTHER);
}

/** The quoted destination of an error scan, as inet_ntop writes it (so it compares with what raw-socket reports as a source). */
export function quotedDestination(b: Uint8Array, s: IcmpScan, family: AddressFamily): string {
  const at = s.dstAt;
  if (family === 'ipv4') return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(u16(b, at + 2 * i).toString(16));
  const full = groups.join(':');
  return canonicalIpv6(full) ?? full;
}

/**
 * An IPv6 address as inet_ntop writes it (libuv's, as raw-socket reports
 * sources): a plan may write the same address another way (fd00:0::1).
 * Undefined when it is not an IPv6 address.
 */
export function canonicalIpv6(ip: string): string | undefined {
  try {
    return new SocketAddress({ address: ip, family: 'ipv6' }).address;
  } catch {
    return undefined;
  }
}

/** Whether a reply's source (or an error's quoted destination) is the address probed. */
export function sameAddress(family: AddressFamily, probed: string, seen: string): boolean {
  return probed === seen || (family === 'ipv6' && canonicalIpv6(probed) === canonicalIpv6(seen));
}

export type ParsedIcmp =
  | { readonly kind: 'reply'; readonly id: number; readonly seq: number; readonly token: Buffer }
  | { readonly kind: 'request'; readonly id: number; readonly seq: number }
  | {
      readonly kind: 'error';
      readonly type: number;
      readonly code: number;
      /** Identifier and sequence of our echo request quoted in the error. */
      readonly id: number;
      readonly seq: number;
      /** Destination of the quoted request. */
      readonly dst: string;
      /** Next-hop MTU (IPv4 fragmentation needed) or MTU (ICMPv6 packet too big); else 0. */
      readonly nextHopMtu: number;
      /** The quoted token, when the sender quoted that much. */
      readonly token?: Buffer;
    }
  | { readonly kind: 'other'; readonly type: number };

function tokenOf(s: IcmpScan): Buffer {
  const t = Buffer.alloc(TOKEN_BYTES);
  t.writeUInt32BE(s.token0, 0);
  t.writeUInt32BE(s.token1, 4);
  return t;
}

function parsed(buf: Buffer, s: IcmpScan, family: AddressFamily): ParsedIcmp | undefined {
  switch (s.kind) {
    case SCAN.REPLY:
      return { kind: 'reply', id: s.id, seq: s.seq, token: tokenOf(s) };
    case SCAN.REQUEST:
      return { kind: 'request', id: s.id, seq: s.seq };
    case SCAN.ERROR:
      return { kind: 'error', type: s.type, code: s.code, id: s.id, seq: s.seq, dst: quotedDestination(buf, s, family), nextHopMtu: s.mtu, ...(s.hasToken ? { token: tokenOf(s) } : {}) };
    case SCAN.OTHER:
      return { kind: 'other', type: s.type };
    default:
      return undefined;
  }
}

/** Parses an IPv4 packet (IP header included, as raw sockets deliver it); undefined for garbage, truncated packets and bad ICMP checksums. */
export function parseIcmpPacket(buf: Buffer): ParsedIcmp | undefined {
  const s = new IcmpScan();
  scanIcmp4(buf, s);
  return parsed(buf, s, 'ipv4');
}

/** Parses an ICMPv6 message as an ICMPv6 raw socket delivers it; undefined for garbage and truncated messages. */
export function parseIcmp6Packet(buf: Buffer): ParsedIcmp | undefined {
  const s = new IcmpScan();
  scanIcmp6(buf, s);
  return parsed(buf, s, 'ipv6');
}

/**
 * Destination-unreachable codes by which a host or firewall actively turns the
 * echo away (what `iptables -j REJECT` sends by default, and the "prohibited"
 * codes): that is `refused`, as an RST is for TCP. The others say there is no
 * way to the destination: `unreachable`.
 */
const REJECTED_CODES = new Set([2, 3, 9, 10, 13]);
const UNREACH_CODES: Readonly<Record<number, string>> = {
  0: 'net unreachable',
  1: 'host unreachable',
  2: 'protocol unreachable',
  3: 'port unreachable',
  4: 'fragmentation needed',
  5: 'source route failed',
  6: 'destination network unknown',
  7: 'destination host unknown',
  9: 'network administratively prohibited',
  10: 'host administratively prohibited',
  13: 'communication administratively prohibited',
};

/**
 * ICMPv6 destination-unreachable codes (RFC 4443) that are a refusal:
 * administratively prohibited, port unreachable (what `ip6tables -j REJECT`
 * sends by default), source address failed policy, reject route.
 */
const REJECTED_CODES6 = new Set([1, 4, 5, 6]);
const UNREACH_CODES6: Readonly<Record<number, string>> = {
  0: 'no route to destination',
  1: 'communication administratively prohibited',
  2: 'beyond scope of source address',
  3: 'address unreachable',
  4: 'port unreachable',
  5: 'source address failed ingress/egress policy',
  6: 'reject route to destination',
};

/** The outcome an ICMP (IPv4) error about our echo means. */
export function icmpErrorOutcome(type: number, code: number): Outcome {
  if (type !== ICMP.DEST_UNREACHABLE) return 'unreachable'; // time exceeded: a routing loop or a path too long
  if (code === 4) return 'mtu_exceeded';
  return REJECTED_CODES.has(code) ? 'refused' : 'unreachable';
}

/** The outcome an ICMPv6 error about our echo means. */
export function icmp6ErrorOutcome(type: number, code: number): Outcome {
  if (type === ICMP6.PACKET_TOO_BIG) return 'mtu_exceeded';
  if (type !== ICMP6.DEST_UNREACHABLE) return 'unreachable';
  return REJECTED_CODES6.has(code) ? 'refused' : 'unreachable';
}

/** The outcome and detail of an error scan (`from`: the error's sender). */
export function errorResult(family: AddressFamily, s: IcmpScan, from: string): { outcome: Outcome; detail: string } {
  if (family === 'ipv4') {
    const outcome = icmpErrorOutcome(s.type, s.code);
    if (outcome === 'mtu_exceeded') return { outcome, detail: `ICMP fragmentation needed from ${from}, next-hop MTU ${s.mtu}` };
    const words = s.type === ICMP.TIME_EXCEEDED ? 'time exceeded' : (UNREACH_CODES[s.code] ?? `unreachable code ${s.code}`);
    return { outcome, detail: `ICMP ${words} from ${from}` };
  }
  const outcome = icmp6ErrorOutcome(s.type, s.code);
  if (outcome === 'mtu_exceeded') return { outcome, detail: `ICMPv6 packet too big from ${from}, MTU ${s.mtu}` };
  const words = s.type === ICMP6.TIME_EXCEEDED ? 'time exceeded' : (UNREACH_CODES6[s.code] ?? `unreachable code ${s.code}`);
  return { outcome, detail: `ICMPv6 ${words} from ${from}` };
}
