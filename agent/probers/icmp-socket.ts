// One raw ICMP socket per agent, shared by every ICMP probe. A raw socket sees
// every ICMP packet of its namespace (other agents' echoes, our own requests on
// loopback, errors for anybody), so a reply is accepted only when its type,
// identifier, sequence and the random token in its payload all match a pending
// request to the address it came from. ICMP errors quote our request's header:
// they settle that request at once, so "unreachable" is known without waiting
// for the deadline.
import { randomBytes, randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';
import raw, { type Socket as RawSocket } from 'raw-socket';
import { systemClock, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Outcome } from '../../common/vocabulary.js';
import { outcomeFromError } from './classify.js';
import { TIMEOUT, type ProbeOutcome } from './types.js';

const ECHO_REPLY = 0;
const DEST_UNREACHABLE = 3;
const ECHO_REQUEST = 8;
const TIME_EXCEEDED = 11;
const TOKEN_BYTES = 8;
const HEADER = 8;
/** The largest echo payload that fits an IPv4 packet (65535 - 20 - 8). */
export const MAX_PAYLOAD = 65507;

const IPPROTO_IP = 0;
const IP_MTU_DISCOVER = 10;
const IP_PMTUDISC_DONT = 0;
const IP_PMTUDISC_DO = 2;

/**
 * Destination-unreachable codes by which a host or firewall actively turns the
 * echo away (what `iptables -j REJECT` sends by default, and the "prohibited"
 * codes): that is `refused`, as an RST is for TCP. The others say there is no
 * way to the destination: `unreachable`.
 */
const REJECTED_CODES = new Set([2, 3, 9, 10, 13]);

const UNREACH_CODES: Record<number, string> = {
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

/** The outcome an ICMP error about our echo means. */
export function icmpErrorOutcome(type: number, code: number): Outcome {
  if (type !== DEST_UNREACHABLE) return 'unreachable'; // time exceeded: a routing loop or a path too long
  if (code === 4) return 'mtu_exceeded';
  return REJECTED_CODES.has(code) ? 'refused' : 'unreachable';
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
      readonly nextHopMtu: number;
      /** The quoted token, when the sender quoted that much (Linux quotes up to 576 bytes; RFC 792 only 8). */
      readonly token?: Buffer;
    }
  | { readonly kind: 'other'; readonly type: number };

/** The Internet checksum (RFC 1071); over a message that carries a correct one it gives 0. */
export function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2 === 1) sum += buf[buf.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request: 8-byte header, then the token, then padding up to `size` payload bytes. */
export function buildEchoRequest(id: number, seq: number, token: Buffer, size = 56): Buffer {
  const payload = Math.max(TOKEN_BYTES, size);
  const buf = Buffer.alloc(HEADER + payload);
  buf[0] = ECHO_REQUEST;
  buf.writeUInt16BE(id, 4);
  buf.writeUInt16BE(seq, 6);
  token.copy(buf, HEADER, 0, TOKEN_BYTES);
  for (let i = HEADER + TOKEN_BYTES; i < buf.length; i++) buf[i] = i & 0xff;
  buf.writeUInt16BE(checksum(buf), 2);
  return buf;
}

function ipv4At(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/**
 * Parses an IPv4 packet (IP header included, as raw sockets deliver it);
 * undefined for garbage, truncated packets and bad ICMP checksums.
 */
export function parseIcmpPacket(buf: Buffer): ParsedIcmp | undefined {
  if (buf.length < 20 || buf[0]! >> 4 !== 4) return undefined;
  const ihl = (buf[0]! & 0x0f) * 4;
  const total = buf.readUInt16BE(2); // Linux hands raw sockets the header as it came off the wire
  if (ihl < 20 || buf[9] !== 1 || total < ihl + HEADER || total > buf.length) return undefined;
  const icmp = buf.subarray(ihl, total);
  if (checksum(icmp) !== 0) return undefined;
  const type = icmp[0]!;
  if (type === ECHO_REPLY || type === ECHO_REQUEST) {
    const id = icmp.readUInt16BE(4);
    const seq = icmp.readUInt16BE(6);
    if (type === ECHO_REQUEST) return { kind: 'request', id, seq };
    if (icmp.length < HEADER + TOKEN_BYTES) return undefined;
    return { kind: 'reply', id, seq, token: icmp.subarray(HEADER, HEADER + TOKEN_BYTES) };
  }
  if (type === DEST_UNREACHABLE || type === TIME_EXCEEDED) {
    // Quoted: the original IP header, then at least 8 bytes of our ICMP header.
    const inner = icmp.subarray(HEADER);
    if (inner.length < 20 || inner[0]! >> 4 !== 4) return undefined;
    const innerIhl = (inner[0]! & 0x0f) * 4;
    if (innerIhl < 20 || inner[9] !== 1 || inner.length < innerIhl + HEADER) return undefined;
    const quoted = inner.subarray(innerIhl);
    if (quoted[0] !== ECHO_REQUEST) return { kind: 'other', type };
    return {
      kind: 'error',
      type,
      code: icmp[1]!,
      id: quoted.readUInt16BE(4),
      seq: quoted.readUInt16BE(6),
      dst: ipv4At(inner, 16),
      nextHopMtu: type === DEST_UNREACHABLE && icmp[1] === 4 ? icmp.readUInt16BE(6) : 0,
      ...(quoted.length >= HEADER + TOKEN_BYTES ? { token: quoted.subarray(HEADER, HEADER + TOKEN_BYTES) } : {}),
    };
  }
  return { kind: 'other', type };
}

interface Pending {
  readonly ip: string;
  readonly token: Buffer;
  sentAt: number;
  readonly settle: (o: ProbeOutcome) => void;
}

export interface IcmpSocketOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Echo identifier (16 bits); random by default, so that agents sharing a namespace differ. */
  readonly identifier?: number;
  /** Bound on outstanding echoes, default 4096; at most 65535, one per sequence number. */
  readonly maxPending?: number;
  /** Makes the raw ICMPv4 socket; tests pass a fake. */
  readonly createSocket?: () => RawSocket;
}

const CLOSED: ProbeOutcome = Object.freeze({ outcome: 'error', rttUs: 0, detail: 'socket closed' });
const FULL: ProbeOutcome = Object.freeze({ outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });

function createRawSocket(): RawSocket {
  return raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 });
}

export class IcmpSocket {
  private readonly pending = new Map<number, Pending>();
  private readonly clock: Clock;
  private readonly maxPending: number;
  private nextSeq = randomInt(0, 0x10000);
  private receiving = false;
  private closed = false;
  private dropped = 0;
  private unmatched = 0;
  readonly identifier: number;

  private constructor(
    private readonly socket: RawSocket,
    private readonly log: Logger,
    o: IcmpSocketOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    this.maxPending = Math.min(Math.max(1, Math.floor(o.maxPending ?? 4096)), 0xffff);
    this.identifier = (o.identifier ?? randomInt(0, 0x10000)) & 0xffff;
    socket.on('message', (buf: Buffer, source: string) => this.onMessage(buf, source));
    socket.on('error', (err: Error) => log.warn({ err }, 'ICMP socket error'));
    // raw-socket closes itself after a poll error; echoes must not wait for their deadline then.
    socket.on('close', () => {
      if (this.closed) return;
      log.error('ICMP socket closed unexpectedly; ICMP probes fail until the agent restarts');
      this.close();
    });
    socket.pauseRecv(); // nothing pending: don't keep the event loop alive
  }

  /** The shared socket, or undefined when raw sockets are not permitted (no CAP_NET_RAW). */
  static open(o: IcmpSocketOptions): IcmpSocket | undefined {
    let socket: RawSocket | undefined;
    try {
      socket = (o.createSocket ?? createRawSocket)();
      // A raw socket's default (IP_PMTUDISC_WANT) sets DF on whatever fits the
      // cached path MTU; make "no DF" mean no DF, so only `dontFragment` echoes
      // can come back as "fragmentation needed".
      socket.setOption(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    } catch (err) {
      socket?.close();
      // raw-socket throws plain errno text, without a code.
      if (/not permitted|permission denied/i.test(String((err as Error)?.message))) o.log.debug({ err }, 'raw ICMP socket not permitted (no CAP_NET_RAW)');
      else o.log.warn({ err }, 'raw ICMP socket could not be opened');
      return undefined;
    }
    return new IcmpSocket(socket, o.log, o);
  }

  /** Echoes awaiting their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Echoes refused because `maxPending` requests were outstanding. */
  get droppedFull(): number {
    return this.dropped;
  }

  /** ICMP packets received and ignored: not ours, stale, or garbage (echo requests, which loopback shows us, are not counted). */
  get repliesUnmatched(): number {
    return this.unmatched;
  }

  /**
   * Sends one echo request to `ip` and settles with its outcome; the caller's
   * signal is the deadline. `size` is the ICMP payload in bytes (default 56,
   * as ping); `dontFragment` sets DF for this echo only.
   */
  echo(ip: string, opts: { size?: number; dontFragment?: boolean }, signal: AbortSignal): Promise<ProbeOutcome> {
    if (this.closed) return Promise.resolve(CLOSED);
    if (signal.aborted) return Promise.resolve(TIMEOUT);
    // raw-socket would send an IPv6 address given to an IPv4 socket to 0.0.0.0.
    if (!isIPv4(ip)) return Promise.resolve({ outcome: 'error', rttUs: 0, detail: `not an IPv4 address: ${ip.slice(0, 60)}` });
    const size = opts.size ?? 56;
    if (!Number.isInteger(size) || size < 0 || size > MAX_PAYLOAD) {
      return Promise.resolve({ outcome: 'error', rttUs: 0, detail: `ICMP payload size ${size} outside 0..${MAX_PAYLOAD}` });
    }
    if (this.pending.size >= this.maxPending) {
      if (this.dropped++ === 0) this.log.warn({ maxPending: this.maxPending }, 'too many pending ICMP probes: refusing new ones (counted)');
      return Promise.resolve(FULL);
    }
    let seq = this.nextSeq;
    while (this.pending.has(seq)) seq = (seq + 1) & 0xffff; // ends: maxPending < 65536
    this.nextSeq = (seq + 1) & 0xffff;
    const token = randomBytes(TOKEN_BYTES);
    const packet = buildEchoRequest(this.identifier, seq, token, size);
    const df = opts.dontFragment === true;
    return new Promise<ProbeOutcome>((resolve) => {
      const onAbort = () => settle(TIMEOUT);
      const settle = (o: ProbeOutcome) => {
        if (this.pending.get(seq) !== entry) return;
        this.pending.delete(seq);
        signal.removeEventListener('abort', onAbort);
        this.idle();
        resolve(o);
      };
      const entry: Pending = { ip, token, sentAt: this.clock.monotonic(), settle };
      this.pending.set(seq, entry);
      signal.addEventListener('abort', onAbort, { once: true });
      this.busy();
      // DF is switched on for this one send and off again right after, rather
      // than kept on a second socket: raw-socket runs beforeCallback, sendto and
      // afterCallback in one synchronous step per queued request, so the option
      // covers exactly this packet, and one socket means the kernel copies each
      // ICMP packet of the namespace to one receive queue, not two.
      this.socket.send(
        packet,
        0,
        packet.length,
        ip,
        () => {
          if (df) this.socket.setOption(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
          entry.sentAt = this.clock.monotonic();
        },
        (err) => {
          if (df) this.allowFragments();
          if (err) settle({ rttUs: 0, ...outcomeFromError(err) });
        },
      );
    });
  }

  /** Settles every pending echo with `error` "socket closed", removes the listeners and closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) p.settle(CLOSED);
    this.socket.close();
    this.socket.removeAllListeners();
  }

  private onMessage(buf: Buffer, source: string): void {
    const at = this.clock.monotonic();
    const p = parseIcmpPacket(buf);
    if (p?.kind === 'reply' && p.id === this.identifier) {
      const e = this.pending.get(p.seq);
      if (e && e.ip === source && e.token.equals(p.token)) {
        e.settle({ outcome: 'ok', rttUs: Math.max(1, Math.round((at - e.sentAt) * 1000)) });
        return;
      }
    } else if (p?.kind === 'error' && p.id === this.identifier) {
      const e = this.pending.get(p.seq);
      if (e && e.ip === p.dst && (!p.token || e.token.equals(p.token))) {
        const words = p.type === TIME_EXCEEDED ? 'time exceeded' : (UNREACH_CODES[p.code] ?? `unreachable code ${p.code}`);
        const outcome = icmpErrorOutcome(p.type, p.code);
        const detail = outcome === 'mtu_exceeded' ? `ICMP fragmentation needed from ${source}, next-hop MTU ${p.nextHopMtu}` : `ICMP ${words} from ${source}`;
        e.settle({ outcome, rttUs: 0, detail });
        return;
      }
    } else if (p?.kind === 'request') {
      return; // our own (or a neighbour's) request seen on loopback
    }
    this.unmatched++;
  }

  private allowFragments(): void {
    try {
      this.socket.setOption(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    } catch (err) {
      // The next plain echo would then carry DF: visible in its outcome, and logged.
      this.log.warn({ err }, 'could not clear DF on the ICMP socket');
    }
  }

  private busy(): void {
    if (!this.receiving) {
      this.receiving = true;
      this.socket.resumeRecv();
    }
  }

  private idle(): void {
    if (this.receiving && this.pending.size === 0 && !this.closed) {
      this.receiving = false;
      this.socket.pauseRecv();
    }
  }
}
