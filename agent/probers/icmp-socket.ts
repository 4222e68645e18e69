// The agent's raw ICMP sockets, one per address family (ICMP, ICMPv6), shared
// by every ICMP probe. A raw socket sees the ICMP of its whole namespace, so a
// kernel filter (ICMP_FILTER, ICMP6_FILTER) lets through only what a probe can
// be answered with (echo replies and the errors below), and a reply is
// accepted only when its identifier, sequence, the random token in its payload
// and its source all match a pending request. ICMP errors quote our request's
// header: they settle that request at once, so "unreachable" is known without
// waiting for the deadline.
//
// Sending does not go through raw-socket's queue: that queue sends only on a
// "writable" poll event, and raw-socket reports an event as writable only
// when nothing is readable, so a busy receive queue (an ICMP flood, or
// replies piled up) held sends back past their deadlines. The echoes asked
// for in one turn of the event loop go out together in that turn's check
// phase (setImmediate), each with one sendto on the non-blocking socket:
// after the caller's synchronous work, so that the loop is waiting in epoll,
// not busy, when a fast reply comes back, and the RTT does not include that
// work. Only when the kernel's send buffer is full does an echo wait in
// raw-socket's queue.
//
// Receiving runs for as long as the socket is open, also between rounds: a
// paused socket let packets pile up in the kernel, to be read (one per turn of
// the event loop) ahead of the next round's replies. An open socket keeps the
// event loop alive, as any socket: close() it to let the process exit.
//
// A socket that dies (raw-socket closes it after a poll error) fails its
// pending echoes at once and is reopened with a bounded exponential backoff;
// while it is down, echoes of its family fail with `error` and a detail that
// says so.
import { randomFillSync, randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import raw, { type Socket as RawSocket } from 'raw-socket';
import { systemClock, type Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { AddressFamily } from '../../common/vocabulary.js';
import { outcomeFromError } from './classify.js';
import {
  DEFAULT_PAYLOAD,
  EchoWriter,
  errorResult,
  ICMP_FILTER_MASK,
  icmp6Filter,
  IcmpScan,
  MAX_PAYLOAD,
  quotedDestination,
  sameAddress,
  SCAN,
  scanIcmp4,
  scanIcmp6,
  TOKEN_BYTES,
} from './icmp-packet.js';
import { TIMEOUT, type ProbeOutcome } from './types.js';

const IPPROTO_IP = 0;
const IP_MTU_DISCOVER = 10;
const IP_PMTUDISC_DONT = 0;
const IP_PMTUDISC_DO = 2;
const SOL_RAW = 255;
const ICMP_FILTER = 1;
const IPPROTO_IPV6 = 41;
const IPV6_DONTFRAG = 62;
const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;

/** What one family's raw socket needs. */
interface FamilySpec {
  readonly family: AddressFamily;
  /** For logs and probe details. */
  readonly name: 'ICMP' | 'ICMPv6';
  readonly scan: (b: Buffer, s: IcmpScan) => number;
  /** Set up a new socket: the kernel filter, fragmentation off by default. */
  readonly setup: (s: RawSocket) => void;
  /** DF on or off (IPv4), IPV6_DONTFRAG on or off (IPv6). */
  readonly dontFragment: (s: RawSocket, on: boolean) => void;
}

const ICMP6_FILTER_VALUE = icmp6Filter();

const SPECS: Readonly<Record<AddressFamily, FamilySpec>> = {
  ipv4: {
    family: 'ipv4',
    name: 'ICMP',
    scan: scanIcmp4,
    setup: (s) => {
      // A raw socket's default (IP_PMTUDISC_WANT) sets DF on whatever fits the
      // cached path MTU; make "no DF" mean no DF, so only `dontFragment`
      // echoes can come back as "fragmentation needed".
      s.setOption(IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
      s.setOption(SOL_RAW, ICMP_FILTER, ICMP_FILTER_MASK);
    },
    dontFragment: (s, on) => s.setOption(IPPROTO_IP, IP_MTU_DISCOVER, on ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT),
  },
  ipv6: {
    family: 'ipv6',
    name: 'ICMPv6',
    scan: scanIcmp6,
    // IPv6 routers never fragment: without IPV6_DONTFRAG the kernel fragments
    // at the source to the path MTU it knows, which is "no DF" already.
    setup: (s) => s.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, ICMP6_FILTER_VALUE, ICMP6_FILTER_VALUE.length),
    dontFragment: (s, on) => s.setOption(IPPROTO_IPV6, IPV6_DONTFRAG, on ? 1 : 0),
  },
};

export interface IcmpSocketOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Echo identifier (16 bits, both families); random by default, so that agents sharing a namespace differ. */
  readonly identifier?: number;
  /** Bound on outstanding echoes, both families together, default 4096; at most 65535, one per sequence number. */
  readonly maxPending?: number;
  /** Families to open, default both. */
  readonly families?: readonly AddressFamily[];
  /** Makes the raw socket of a family; tests pass fakes. */
  readonly createSocket?: (family: AddressFamily) => RawSocket;
  /** First delay before reopening a socket that died, default 500 ms; it doubles with each failed attempt. */
  readonly reopenInitialMs?: number;
  /** Longest delay between reopen attempts, default 30 s. A socket that lived this long before dying starts again from the first delay. */
  readonly reopenMaxMs?: number;
  /** Runs `fn` after `ms` and returns a cancel function; default an unref'd setTimeout (tests drive it by hand). */
  readonly schedule?: (fn: () => void, ms: number) => () => void;
  /** A family's socket went down (false) or was reopened (true). */
  readonly onState?: (family: AddressFamily, up: boolean) => void;
  /** A reopen attempt succeeded or failed. */
  readonly onReopen?: (family: AddressFamily, ok: boolean) => void;
}

export interface EchoOptions {
  /** ICMP payload bytes (default 56, as ping). */
  readonly size?: number;
  /** DF (IPv4) or IPV6_DONTFRAG for this echo only. */
  readonly dontFragment?: boolean;
}

const CLOSED: ProbeOutcome = Object.freeze({ outcome: 'error', rttUs: 0, detail: 'socket closed' });
const FULL: ProbeOutcome = Object.freeze({ outcome: 'error', rttUs: 0, detail: 'too many pending ICMP probes' });
/** What raw-socket's sendto says when the send buffer is full (EAGAIN, ENOBUFS). */
const WOULD_BLOCK = /temporarily unavailable|no buffer space/i;
const TOKEN_POOL_BYTES = 4096;

function createRawSocket(family: AddressFamily): RawSocket {
  return family === 'ipv4'
    ? raw.createSocket({ protocol: raw.Protocol.ICMP, bufferSize: 65535 })
    : raw.createSocket({ addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6, bufferSize: 65535 });
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  t.unref(); // a reopen attempt alone must not keep the process alive
  return () => clearTimeout(t);
}

function messageOf(err: unknown): string {
  return String((err as Error | undefined)?.message ?? err).slice(0, 120);
}

/** raw-socket's native sendto callback: called synchronously with the bytes sent; nothing to do. */
function sent(): void {}

/** One family's socket and its state. */
class Endpoint {
  socket: RawSocket | undefined;
  /** While the socket is down: why, as probes of this family report it. */
  down: string | undefined;
  /** Reopen attempts since the socket last stayed up for reopenMaxMs. */
  attempts = 0;
  cancelReopen: (() => void) | undefined;
  upSince = 0;
  /** The last error raw-socket reported on this socket (a poll error comes just before it closes the socket). */
  lastError: string | undefined;
  readonly writer: EchoWriter;

  constructor(readonly spec: FamilySpec) {
    this.writer = new EchoWriter(spec.family);
  }
}

/** A pending echo; its own abort listener (handleEvent), so that no closure is made per probe. */
class Echo {
  sentAt = 0;

  constructor(
    private readonly pending: Map<number, Echo>,
    readonly ep: Endpoint,
    readonly seq: number,
    readonly ip: string,
    readonly token0: number,
    readonly token1: number,
    readonly size: number,
    readonly dontFragment: boolean,
    private readonly signal: AbortSignal,
    private readonly resolve: (o: ProbeOutcome) => void,
  ) {}

  settle(o: ProbeOutcome): void {
    if (this.pending.get(this.seq) !== this) return;
    this.pending.delete(this.seq);
    this.signal.removeEventListener('abort', this);
    this.resolve(o);
  }

  /** The caller's deadline. */
  handleEvent(): void {
    this.settle(TIMEOUT);
  }
}

export class IcmpSocket {
  private readonly pending = new Map<number, Echo>();
  private readonly clock: Clock;
  private readonly maxPending: number;
  private readonly endpoints = new Map<AddressFamily, Endpoint>();
  /** Why a family has no socket since start (not permitted, IPv6 disabled, …). */
  private readonly unavailable = new Map<AddressFamily, string>();
  private readonly scan = new IcmpScan();
  private readonly tokens = Buffer.allocUnsafe(TOKEN_POOL_BYTES);
  private tokenAt = TOKEN_POOL_BYTES;
  private nextSeq = randomInt(0, 0x10000);
  private closed = false;
  private dropped = 0;
  private unmatched = 0;
  private queuedSends = 0;
  /** Echoes asked for in this turn of the event loop, sent together in its check phase. */
  private toSend: Echo[] = [];
  private readonly reopenInitialMs: number;
  private readonly reopenMaxMs: number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;
  private readonly create: (family: AddressFamily) => RawSocket;
  readonly identifier: number;

  private constructor(
    opened: ReadonlyMap<AddressFamily, RawSocket>,
    unavailable: ReadonlyMap<AddressFamily, string>,
    private readonly o: IcmpSocketOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    this.maxPending = Math.min(Math.max(1, Math.floor(o.maxPending ?? 4096)), 0xffff);
    this.identifier = (o.identifier ?? randomInt(0, 0x10000)) & 0xffff;
    this.reopenInitialMs = Math.max(1, o.reopenInitialMs ?? 500);
    this.reopenMaxMs = Math.max(this.reopenInitialMs, o.reopenMaxMs ?? 30_000);
    this.schedule = o.schedule ?? defaultSchedule;
    this.create = o.createSocket ?? createRawSocket;
    for (const [family, why] of unavailable) this.unavailable.set(family, why);
    for (const [family, socket] of opened) {
      const ep = new Endpoint(SPECS[family]);
      this.endpoints.set(family, ep);
      this.attach(ep, socket);
    }
  }

  /**
   * The shared sockets, or undefined when no family could be opened (raw
   * sockets not permitted: no CAP_NET_RAW). A family that fails alone (IPv6
   * disabled in the kernel) is left out of `families`.
   */
  static open(o: IcmpSocketOptions): IcmpSocket | undefined {
    const opened = new Map<AddressFamily, RawSocket>();
    const failed = new Map<AddressFamily, unknown>();
    for (const family of o.families ?? (['ipv4', 'ipv6'] as const)) {
      try {
        opened.set(family, openSocket(SPECS[family], o.createSocket ?? createRawSocket));
      } catch (err) {
        failed.set(family, err);
      }
    }
    for (const [family, err] of failed) {
      // raw-socket throws plain errno text, without a code.
      const denied = /not permitted|permission denied/i.test(messageOf(err));
      if (denied && opened.size === 0) o.log.debug({ err, family }, 'raw ICMP socket not permitted (no CAP_NET_RAW)');
      else if (opened.size === 0) o.log.warn({ err, family }, 'raw ICMP socket could not be opened');
      else o.log.warn({ err, family, probing: [...opened.keys()] }, 'raw ICMP socket of one family could not be opened: ICMP probes of that family are not run');
    }
    if (opened.size === 0) return undefined;
    return new IcmpSocket(opened, new Map([...failed].map(([f, err]) => [f, messageOf(err)])), o);
  }

  /** Families whose socket was opened at start (a socket that died and is being reopened still counts). */
  get families(): readonly AddressFamily[] {
    return [...this.endpoints.keys()];
  }

  /** Whether every family's socket is open now. */
  get up(): boolean {
    return this.upFamilies.length === this.endpoints.size;
  }

  /** Families whose socket is open now. */
  get upFamilies(): readonly AddressFamily[] {
    if (this.closed) return [];
    return [...this.endpoints.values()].filter((ep) => ep.socket !== undefined).map((ep) => ep.spec.family);
  }

  /** Echoes awaiting their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Echoes refused because `maxPending` requests were outstanding. */
  get droppedFull(): number {
    return this.dropped;
  }

  /** ICMP packets received and ignored: not ours, stale, or garbage (echo requests, which the kernel filter should already drop, are not counted). */
  get repliesUnmatched(): number {
    return this.unmatched;
  }

  /** Echoes that found the kernel's send buffer full and waited in raw-socket's queue. */
  get sendsQueued(): number {
    return this.queuedSends;
  }

  /**
   * Sends one echo request to `ip` (IPv4 or IPv6) and settles with its
   * outcome; the caller's signal is the deadline.
   */
  echo(ip: string, opts: EchoOptions, signal: AbortSignal): Promise<ProbeOutcome> {
    if (this.closed) return Promise.resolve(CLOSED);
    if (signal.aborted) return Promise.resolve(TIMEOUT);
    const family: AddressFamily | undefined = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    if (family === undefined) return Promise.resolve({ outcome: 'error', rttUs: 0, detail: `not an IP address: ${ip.slice(0, 60)}` });
    const ep = this.endpoints.get(family);
    if (ep === undefined) return Promise.resolve({ outcome: 'error', rttUs: 0, detail: `no ${SPECS[family].name} socket: ${this.unavailable.get(family) ?? 'not opened'}` });
    if (ep.socket === undefined) return Promise.resolve({ outcome: 'error', rttUs: 0, detail: ep.down! });
    const size = opts.size ?? DEFAULT_PAYLOAD;
    if (!Number.isInteger(size) || size < 0 || size > MAX_PAYLOAD[family]) {
      return Promise.resolve({ outcome: 'error', rttUs: 0, detail: `ICMP payload size ${size} outside 0..${MAX_PAYLOAD[family]}` });
    }
    if (this.pending.size >= this.maxPending) {
      if (this.dropped++ === 0) this.o.log.warn({ maxPending: this.maxPending }, 'too many pending ICMP probes: refusing new ones (counted)');
      return Promise.resolve(FULL);
    }
    let seq = this.nextSeq;
    while (this.pending.has(seq)) seq = (seq + 1) & 0xffff; // ends: maxPending < 65536
    this.nextSeq = (seq + 1) & 0xffff;
    if (this.tokenAt === TOKEN_POOL_BYTES) {
      randomFillSync(this.tokens);
      this.tokenAt = 0;
    }
    const token0 = this.tokens.readUInt32BE(this.tokenAt);
    const token1 = this.tokens.readUInt32BE(this.tokenAt + 4);
    this.tokenAt += TOKEN_BYTES;
    return new Promise<ProbeOutcome>((resolve) => {
      const e = new Echo(this.pending, ep, seq, ip, token0, token1, size, opts.dontFragment === true, signal, resolve);
      this.pending.set(seq, e);
      signal.addEventListener('abort', e);
      this.toSend.push(e);
      if (this.toSend.length === 1) setImmediate(this.flush);
    });
  }

  /** Sends this turn's echoes; one settled meanwhile (aborted, socket closed or lost) is not sent. */
  private readonly flush = (): void => {
    const list = this.toSend;
    this.toSend = [];
    for (const e of list) if (!this.closed && this.pending.get(e.seq) === e) this.transmit(e);
  };

  /** Settles every pending echo with `error` "socket closed", stops reopening and closes the sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of [...this.pending.values()]) e.settle(CLOSED);
    for (const ep of this.endpoints.values()) {
      ep.cancelReopen?.();
      ep.cancelReopen = undefined;
      const s = ep.socket;
      ep.socket = undefined;
      if (s) {
        s.removeAllListeners();
        s.close();
      }
    }
  }

  private transmit(e: Echo): void {
    const ep = e.ep;
    const socket = ep.socket!;
    const df = e.dontFragment;
    const packet = ep.writer.write(this.identifier, e.seq, e.token0, e.token1, e.size);
    const wrap = socket.wrap;
    if (wrap !== undefined) {
      try {
        // DF is switched on for this one send and off again right after,
        // rather than kept on a second socket: one socket means the kernel
        // copies each ICMP packet of the namespace to one receive queue, not two.
        if (df) ep.spec.dontFragment(socket, true);
        e.sentAt = this.clock.monotonic();
        wrap.send(packet, 0, packet.length, e.ip, sent);
        if (df) this.allowFragments(ep, socket);
        return;
      } catch (err) {
        if (df) this.allowFragments(ep, socket);
        if (!WOULD_BLOCK.test(messageOf(err))) {
          e.settle({ rttUs: 0, ...outcomeFromError(err) });
          return;
        }
        if (this.queuedSends++ === 0) this.o.log.info({ family: ep.spec.family }, 'ICMP send buffer full: echoes wait for the socket to be writable (counted)');
      }
    }
    // raw-socket's queue: the request is sent on a writable event, after this
    // call returns, so it needs its own copy of the reused buffer.
    const copy = Buffer.from(packet);
    socket.send(
      copy,
      0,
      copy.length,
      e.ip,
      () => {
        if (df) ep.spec.dontFragment(socket, true);
        e.sentAt = this.clock.monotonic();
      },
      (err) => {
        if (df) this.allowFragments(ep, socket);
        if (err) e.settle({ rttUs: 0, ...outcomeFromError(err) });
      },
    );
  }

  private allowFragments(ep: Endpoint, socket: RawSocket): void {
    try {
      ep.spec.dontFragment(socket, false);
    } catch (err) {
      // The next plain echo would then carry DF: visible in its outcome, and logged.
      this.o.log.warn({ err, family: ep.spec.family }, 'could not clear DF on the ICMP socket');
    }
  }

  private attach(ep: Endpoint, socket: RawSocket): void {
    ep.socket = socket;
    ep.down = undefined;
    ep.upSince = this.clock.monotonic();
    ep.lastError = undefined;
    const { family, scan } = ep.spec;
    socket.on('message', (buf: Buffer, source: string) => {
      const at = this.clock.monotonic();
      const s = this.scan;
      const kind = scan(buf, s);
      if ((kind === SCAN.REPLY || kind === SCAN.ERROR) && s.id === this.identifier) {
        const e = this.pending.get(s.seq);
        if (e !== undefined && e.ep === ep) {
          if (kind === SCAN.REPLY) {
            if (e.token0 === s.token0 && e.token1 === s.token1 && sameAddress(family, e.ip, source)) {
              e.settle({ outcome: 'ok', rttUs: Math.max(1, Math.round((at - e.sentAt) * 1000)) });
              return;
            }
          } else if ((!s.hasToken || (e.token0 === s.token0 && e.token1 === s.token1)) && sameAddress(family, e.ip, quotedDestination(buf, s, family))) {
            e.settle({ rttUs: 0, ...errorResult(family, s, source) });
            return;
          }
        }
      } else if (kind === SCAN.REQUEST) {
        return; // an echo request: the kernel filter drops these; a socket without one (a test's fake) still sees them
      }
      this.unmatched++;
    });
    // raw-socket emits 'error' for a failed read (the socket stays) and for a
    // poll error, after which it closes the socket ('close' below).
    socket.on('error', (err: Error) => {
      if (ep.lastError === undefined) this.o.log.warn({ err, family }, 'ICMP socket error (later ones of this socket at debug level)');
      else this.o.log.debug({ err, family }, 'ICMP socket error');
      ep.lastError = messageOf(err);
    });
    socket.on('close', () => this.lost(ep, socket));
  }

  /** A socket closed by itself: fail its echoes now, and reopen it after a backoff. */
  private lost(ep: Endpoint, socket: RawSocket): void {
    if (this.closed || ep.socket !== socket) return;
    socket.removeAllListeners();
    ep.socket = undefined;
    const cause = `${ep.spec.name} socket closed unexpectedly${ep.lastError === undefined ? '' : ` after error ${ep.lastError}`}`;
    ep.down = `${cause}; reopening`;
    // A socket that lived long before dying starts again from the first delay.
    if (this.clock.monotonic() - ep.upSince >= this.reopenMaxMs) ep.attempts = 0;
    this.o.log.error({ family: ep.spec.family, cause }, 'ICMP socket closed unexpectedly: its probes fail until it is reopened (with backoff)');
    const detail: ProbeOutcome = { outcome: 'error', rttUs: 0, detail: ep.down };
    for (const e of [...this.pending.values()]) if (e.ep === ep) e.settle(detail);
    this.o.onState?.(ep.spec.family, false);
    this.scheduleReopen(ep);
  }

  private scheduleReopen(ep: Endpoint): void {
    const delay = Math.min(this.reopenMaxMs, this.reopenInitialMs * 2 ** Math.min(ep.attempts, 30));
    ep.attempts++;
    ep.cancelReopen = this.schedule(() => this.reopen(ep), delay);
  }

  private reopen(ep: Endpoint): void {
    ep.cancelReopen = undefined;
    if (this.closed) return;
    let socket: RawSocket;
    try {
      socket = openSocket(ep.spec, this.create);
    } catch (err) {
      if (ep.attempts === 1) this.o.log.warn({ err, family: ep.spec.family }, 'ICMP socket could not be reopened: trying again with backoff (counted; later failures at debug level)');
      else this.o.log.debug({ err, family: ep.spec.family, attempts: ep.attempts }, 'ICMP socket could not be reopened');
      ep.down = `${ep.spec.name} socket down, reopening failed: ${messageOf(err)}`;
      this.o.onReopen?.(ep.spec.family, false);
      this.scheduleReopen(ep);
      return;
    }
    this.attach(ep, socket);
    this.o.log.info({ family: ep.spec.family, attempts: ep.attempts }, 'ICMP socket reopened');
    this.o.onReopen?.(ep.spec.family, true);
    this.o.onState?.(ep.spec.family, true);
  }
}

/** A new raw socket of one family, set up; closed again and thrown on failure. */
function openSocket(spec: FamilySpec, create: (family: AddressFamily) => RawSocket): RawSocket {
  let socket: RawSocket | undefined;
  try {
    socket = create(spec.family);
    spec.setup(socket);
    return socket;
  } catch (err) {
    socket?.close();
    throw err;
  }
}
