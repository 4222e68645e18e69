// One raw ICMP socket per agent, shared by every ICMP probe. A raw socket sees
// every ICMP packet of its namespace (other agents' echoes, our own requests on
// loopback, errors for anybody), so a reply is accepted only when its type,
// identifier, sequence and the random token in its payload all match a pending
// request to the address it came from. ICMP errors quote our request's header:
// they settle that request at once, so "unreachable" is known without waiting
// for the deadline.
import { randomBytes, randomInt } from 'node:crypto';
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
    }
  | { readonly kind: 'other'; readonly type: number };

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

/** Parses an IPv4 packet (IP header included, as raw sockets deliver it); undefined for garbage. */
export function parseIcmpPacket(buf: Buffer): ParsedIcmp | undefined {
  if (buf.length < 20 || buf[0]! >> 4 !== 4) return undefined;
  const ihl = (buf[0]! & 0x0f) * 4;
  if (ihl < 20 || buf[9] !== 1 || buf.length < ihl + HEADER) return undefined;
  const icmp = buf.subarray(ihl);
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
  readonly identifier?: number;
  readonly maxPending?: number;
}

export class IcmpSocket {
  private readonly pending = new Map<number, Pending>();
  private nextSeq = randomInt(0, 0x10000);
  private receiving = false;
  private closed = false;
  private fullLogged = false;
  private dfSocket: RawSocket | undefined;
  readonly identifier: number;
  /** Echoes refused because `maxPending` requests were outstanding. */
  droppedFull = 0;
  /** ICMP packets seen that matched no pending request of ours. */
  repliesUnmatched = 0;

  private constructor(
    private readonly socket: RawSocket,
    private readonly o: Required<Pick<IcmpSocketOptions, 'maxPending'>> & IcmpSocketOptions & { clock: Clock },
  ) {
    this.identifier = o.identifier ?? randomInt(0, 0x10000);
    this.listen(socket);
    socket.pauseRecv(); // nothing pending: don't keep the event loop alive
  }

  /** The shared socket, or undefined when raw sockets are not permitted (no CAP_NET_RAW). */
  static open(o: IcmpSocketOptions): IcmpSocket | undefined {
    let socket: RawSocket;
    try {
      socket = raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 });
    } catch (err) {
      o.log.debug({ err }, 'raw ICMP socket not available');
      return undefined;
    }
    return new IcmpSocket(socket, { ...o, clock: o.clock ?? systemClock, maxPending: o.maxPending ?? 4096 });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one echo request to `ip` and settles with its outcome; the caller's signal is the deadline. */
  echo(ip: string, opts: { size?: number; dontFragment?: boolean }, signal: AbortSignal): Promise<ProbeOutcome> {
    if (this.closed) return Promise.resolve({ outcome: 'error', rttUs: 0, detail: 'socket closed' });
    if (signal.aborted) return Promise.resolve(TIMEOUT);
    if (this.pending.size >= this.o.maxPending) {
      this.droppedFull++;
      if (!this.fullLogged) {
        this.fullLogged = true;
        this.o.log.warn({ maxPending: this.o.maxPending }, 'too many pending ICMP probes: refusing new ones (counted)');
      }
      return Promise.resolve({ outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });
    }
    let seq = this.nextSeq;
    while (this.pending.has(seq)) seq = (seq + 1) & 0xffff;
    this.nextSeq = (seq + 1) & 0xffff;
    const token = randomBytes(TOKEN_BYTES);
    const packet = buildEchoRequest(this.identifier, seq, token, opts.size);
    const socket = opts.dontFragment ? this.dontFragmentSocket() : this.socket;
    return new Promise<ProbeOutcome>((resolve) => {
      const onAbort = () => settle(TIMEOUT);
      const settle = (o: ProbeOutcome) => {
        if (this.pending.get(seq) !== entry) return;
        this.pending.delete(seq);
        signal.removeEventListener('abort', onAbort);
        this.idle();
        resolve(o);
      };
      const entry: Pending = { ip, token, sentAt: this.o.clock.monotonic(), settle };
      this.pending.set(seq, entry);
      signal.addEventListener('abort', onAbort, { once: true });
      this.busy();
      socket.send(
        packet,
        0,
        packet.length,
        ip,
        () => {
          entry.sentAt = this.o.clock.monotonic();
        },
        (err) => {
          if (err) settle({ rttUs: 0, ...outcomeFromError(err) });
        },
      );
    });
  }

  /** Settles every pending echo with `error` and closes the socket(s). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of [...this.pending.values()]) p.settle({ outcome: 'error', rttUs: 0, detail: 'socket closed' });
    for (const s of [this.socket, this.dfSocket]) {
      if (!s) continue;
      s.removeAllListeners('message');
      s.close();
    }
  }

  private listen(socket: RawSocket): void {
    socket.on('message', (buf: Buffer, source: string) => this.onMessage(buf, source));
    socket.on('error', (err: Error) => this.o.log.warn({ err }, 'ICMP socket error'));
  }

  private onMessage(buf: Buffer, source: string): void {
    const at = this.o.clock.monotonic();
    const p = parseIcmpPacket(buf);
    if (p?.kind === 'reply' && p.id === this.identifier) {
      const e = this.pending.get(p.seq);
      if (e && e.ip === source && e.token.equals(p.token)) {
        e.settle({ outcome: 'ok', rttUs: Math.max(1, Math.round((at - e.sentAt) * 1000)) });
        return;
      }
    } else if (p?.kind === 'error' && p.id === this.identifier) {
      const e = this.pending.get(p.seq);
      if (e && e.ip === p.dst) {
        const words = p.type === TIME_EXCEEDED ? 'time exceeded' : (UNREACH_CODES[p.code] ?? `unreachable code ${p.code}`);
        const outcome = icmpErrorOutcome(p.type, p.code);
        const detail = outcome === 'mtu_exceeded' ? `ICMP fragmentation needed from ${source}, next-hop MTU ${p.nextHopMtu}` : `ICMP ${words} from ${source}`;
        e.settle({ outcome, rttUs: 0, detail });
        return;
      }
    } else if (p?.kind === 'request') {
      return; // our own (or a neighbour's) request seen on loopback
    }
    this.repliesUnmatched++;
  }

  /** A second socket with DF set (IP_MTU_DISCOVER = IP_PMTUDISC_DO), made when first needed. */
  private dontFragmentSocket(): RawSocket {
    if (!this.dfSocket) {
      this.dfSocket = raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 });
      this.dfSocket.setOption(0 /* IPPROTO_IP */, 10 /* IP_MTU_DISCOVER */, 2 /* IP_PMTUDISC_DO */);
      // Replies arrive on the main socket too; this one only sends.
      this.dfSocket.pauseRecv();
    }
    return this.dfSocket;
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
