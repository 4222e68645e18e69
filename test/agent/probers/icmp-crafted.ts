// Crafted ICMP and ICMPv6 packets, and a stand-in for raw-socket's Socket, for
// the ICMP tests (icmp-packet.test.ts, icmp-socket.test.ts). Addresses from
// RFC 5737 and RFC 3849: nothing built here is ever sent.
import { EventEmitter } from 'node:events';
import type { Socket as RawSocket, SocketWrap } from 'raw-socket';
import { buildEchoRequest, canonicalIpv6, checksum } from '../../../agent/probers/icmp-packet.js';
import type { AddressFamily } from '../../../common/vocabulary.js';

export const token = Buffer.from('0123456789abcdef', 'hex');

export function ipHeader(src: string, dst: string, payloadLength: number, ihlWords = 5): Buffer {
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
export function packet(src: string, dst: string, icmp: Buffer, ihlWords = 5): Buffer {
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(checksum(icmp), 2);
  return Buffer.concat([ipHeader(src, dst, icmp.length, ihlWords), icmp]);
}

/** An IPv4 echo reply from `src`. */
export function reply(id: number, seq: number, ihlWords = 5, tok: Buffer = token, src = '192.0.2.2'): Buffer {
  const icmp = buildEchoRequest(id, seq, tok);
  icmp[0] = 0; // echo reply
  return packet(src, '192.0.2.1', icmp, ihlWords);
}

/** An ICMP error from `router` quoting `request` (sent from 192.0.2.1 to `dst`): its first `quote` bytes. */
export function icmpError(type: number, code: number, request: Buffer, o: { dst?: string; router?: string; mtu?: number; quote?: number } = {}): Buffer {
  const quote = request.subarray(0, o.quote ?? 8);
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = code;
  if (o.mtu) head.writeUInt16BE(o.mtu, 6);
  return packet(o.router ?? '198.51.100.1', '192.0.2.1', Buffer.concat([head, ipHeader('192.0.2.1', o.dst ?? '192.0.2.9', request.length), quote]));
}

function words(ip: string): number[] {
  const c = canonicalIpv6(ip)!;
  const [head, tail] = c.split('::') as [string, string | undefined];
  const l = head ? head.split(':').map((g) => parseInt(g, 16)) : [];
  const r = tail ? tail.split(':').map((g) => parseInt(g, 16)) : [];
  return tail === undefined ? l : [...l, ...Array<number>(8 - l.length - r.length).fill(0), ...r];
}

/** An IPv6 header (40 bytes) from 2001:db8::1 to `dst`, next header `next`. */
export function ip6Header(dst: string, next: number, payloadLength: number): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payloadLength, 4);
  h[6] = next;
  h[7] = 64;
  words('2001:db8::1').forEach((w, i) => h.writeUInt16BE(w, 8 + 2 * i));
  words(dst).forEach((w, i) => h.writeUInt16BE(w, 24 + 2 * i));
  return h;
}

/** An ICMPv6 echo message of `type` (128 request, 129 reply), as an ICMPv6 raw socket delivers it (no IP header). */
export function echo6(type: number, id: number, seq: number, tok: Buffer = token, size = 56): Buffer {
  const m = buildEchoRequest(id, seq, tok, size, 'ipv6');
  m[0] = type;
  return m;
}

/** An ICMPv6 error quoting `request` sent to `dst`, with extension headers `ext` ([next header, bytes]) in between. */
export function icmp6Error(type: number, code: number, request: Buffer, o: { dst?: string; mtu?: number; quote?: number; ext?: [number, Buffer][] } = {}): Buffer {
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = code;
  if (o.mtu) head.writeUInt32BE(o.mtu, 4);
  const ext = o.ext ?? [];
  const first = ext.length > 0 ? ext[0]![0] : 58;
  const chain = ext.map(([, b], i) => {
    const c = Buffer.from(b);
    c[0] = i + 1 < ext.length ? ext[i + 1]![0] : 58;
    return c;
  });
  const body = Buffer.concat([...chain, request.subarray(0, o.quote ?? request.length)]);
  return Buffer.concat([head, ip6Header(o.dst ?? '2001:db8::9', first, body.length), body]);
}

/**
 * Stands in for raw-socket's Socket. With `direct` (the default) it has the
 * native handle's synchronous send, which records the sendto at once; its
 * queued send() waits until `flush()`, which runs each request as raw-socket
 * does on a writable event (beforeCallback, sendto, afterCallback in one
 * step). Tests feed crafted packets with `emit('message', buf, source)`.
 */
export class FakeRawSocket extends EventEmitter implements RawSocket {
  recvPaused = false; // raw-socket starts polling for reads at creation
  closed = false;
  sendError: Error | undefined;
  readonly calls: string[] = [];
  readonly sent: { packet: Buffer; ip: string }[] = [];
  readonly wrap: SocketWrap | undefined;
  private queue: { packet: Buffer; ip: string; before: (() => void) | null; after: (e: Error | null, n: number) => void }[] = [];

  constructor(
    readonly family: AddressFamily = 'ipv4',
    direct = true,
  ) {
    super();
    this.wrap = direct
      ? {
          send: (buffer, offset, length, address, callback) => {
            this.sendto(Buffer.from(buffer.subarray(offset, offset + length)), address);
            callback(length);
          },
        }
      : undefined;
  }

  private sendto(packet: Buffer, ip: string): void {
    this.calls.push(`sendto ${ip}`);
    if (this.sendError) throw this.sendError;
    this.sent.push({ packet, ip });
  }

  send(buffer: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (error: Error | null, bytes: number) => void): void {
    this.calls.push(`queue ${address}`);
    this.queue.push({ packet: Buffer.from(buffer.subarray(offset, offset + length)), ip: address, before, after });
  }

  flush(): void {
    for (const r of this.queue.splice(0)) {
      try {
        r.before?.();
        this.sendto(r.packet, r.ip);
      } catch (err) {
        r.after(err as Error, 0);
        continue;
      }
      r.after(null, r.packet.length);
    }
  }

  setOption(level: number, option: number, value: number | Buffer, length?: number): void {
    this.calls.push(`setOption ${level} ${option} ${typeof value === 'number' ? value : `<${length} bytes>`}`);
  }

  pauseRecv(): this {
    this.calls.push('pauseRecv');
    this.recvPaused = true;
    return this;
  }

  resumeRecv(): this {
    this.calls.push('resumeRecv');
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
    const from = o.from ?? l.ip;
    const msg = this.family === 'ipv4' ? reply(o.id ?? l.id, o.seq ?? l.seq, 5, o.token ?? l.token, from) : echo6(129, o.id ?? l.id, o.seq ?? l.seq, o.token ?? l.token);
    this.emit('message', msg, from);
  }
}
