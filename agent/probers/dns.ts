// One DNS question to one server, over UDP (with the TCP retry a truncated
// reply asks for) or over TCP. Off-path spoofing and stray traffic are part of
// what a DNS prober meets, so a reply counts only if it comes from the server
// we asked, carries our random ID, is a response and echoes our question;
// anything else is counted and ignored, and the wait goes on to the deadline
// the caller owns. Sockets are released on every path.
//
// The UDP socket is connect()ed to the server: only then does the kernel hand
// us the ICMP port unreachable of a server that is not listening (a Service
// without endpoints, a crashed CoreDNS on a live pod IP) as ECONNREFUSED, so
// the probe says `refused` at once instead of `timeout` at the deadline. The
// price: datagrams from any other address or port are dropped by the kernel
// before we see them, so they are no longer counted in `ignored`.
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Logger } from '../../common/logger.js';
import type { Outcome } from '../../common/vocabulary.js';
import { outcomeFromError } from './classify.js';
import { TIMEOUT, type ProbeOutcome, type Prober } from './types.js';

export type DnsTransport = 'udp' | 'tcp';

export interface DnsServer {
  readonly ip: string;
  /** Default 53. */
  readonly port?: number;
}

export interface DnsQuestion {
  readonly name: string;
  readonly type: 'A' | 'AAAA';
}

export interface DnsQueryOptions {
  /** Default 'udp'; a truncated UDP reply is retried over TCP either way. */
  readonly transport?: DnsTransport;
  readonly log?: Logger;
}

export interface DnsProbeOutcome extends ProbeOutcome {
  /** Addresses of the A/AAAA records of the asked type, sorted, so replicas can be compared. */
  readonly answers: string[];
  /** RCODE name of the accepted reply (e.g. "NOERROR"), null when none was accepted. */
  readonly rcode: string | null;
  /** Transport of the last attempt: 'tcp' once a truncated UDP reply sent the probe there. */
  readonly transport: DnsTransport;
  /** Datagrams or frames dropped as not the reply to this query. */
  readonly ignored: number;
}

/** Largest DNS message over TCP (RFC 1035 §4.2.2) plus its length prefix; more is never read. */
export const MAX_TCP_REPLY_BYTES = 65_535 + 2;

const RCODES: readonly string[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const RCODE_OUTCOME = new Map<string, Outcome>([
  ['NOERROR', 'ok'],
  ['NXDOMAIN', 'nxdomain'],
  ['SERVFAIL', 'servfail'],
  ['REFUSED', 'dns_refused'],
]);
/** TCP outcomes that mean "no DNS exchange happened", which after a truncated UDP reply is reported as `truncated`. */
const TRANSPORT_FAILURES = new Set<Outcome>(['refused', 'reset', 'unreachable', 'error', 'mtu_exceeded']);

/** A name under `zone` that must not exist, for the "server answers NXDOMAIN" check. */
export function nxdomainProbeName(zone: string): string {
  const label = `netmatrix-nx-${randomBytes(8).toString('hex')}`;
  const z = zone.replace(/^\.+|\.+$/g, '');
  return z ? `${label}.${z}` : label;
}

/** What one transport attempt settled with, before the shared fields are added. */
interface Attempt {
  readonly outcome: Outcome;
  readonly rttUs: number;
  readonly detail?: string;
  readonly answers: string[];
  readonly rcode: string | null;
  /** The accepted reply had TC set. */
  readonly truncated?: boolean;
}

interface Query {
  readonly id: number;
  readonly bytes: Buffer;
  readonly name: string;
  readonly type: 'A' | 'AAAA';
  readonly ip: string;
  readonly port: number;
}

type Verdict = { readonly accept: false } | { readonly accept: true; readonly attempt: Attempt };
const IGNORE: Verdict = Object.freeze({ accept: false });
const settle = (attempt: Attempt): Verdict => ({ accept: true, attempt });

const noAnswer = (): { answers: string[]; rcode: null } => ({ answers: [], rcode: null });
const timedOut = (): Attempt => ({ ...TIMEOUT, ...noAnswer() });
const failed = (o: { outcome: Outcome; detail: string }): Attempt => ({ ...o, rttUs: 0, ...noAnswer() });

export async function dnsQuery(server: DnsServer, question: DnsQuestion, signal: AbortSignal, opts: DnsQueryOptions = {}): Promise<DnsProbeOutcome> {
  let transport: DnsTransport = opts.transport ?? 'udp';
  const counter = { ignored: 0 };
  const result = (a: Attempt): DnsProbeOutcome => {
    const { truncated: _, ...rest } = a;
    const o: DnsProbeOutcome = { ...rest, transport, ignored: counter.ignored };
    if (o.outcome !== 'ok' || o.ignored > 0) {
      opts.log?.debug({ server: `${server.ip}:${server.port ?? 53}`, name: question.name, type: question.type, transport, outcome: o.outcome, detail: o.detail, ignored: o.ignored }, 'dns probe not clean');
    }
    return o;
  };

  const query = buildQuery(server, question);
  if ('outcome' in query) return result(failed(query));
  if (signal.aborted) return result(timedOut());

  if (transport === 'tcp') return result(await overTcp(query, signal, counter));
  const udp = await overUdp(query, signal, counter);
  if (!udp.truncated) return result(udp);

  // RFC 7766: a truncated reply is asked again over TCP, here within the same deadline.
  transport = 'tcp';
  const tcp = await overTcp(query, signal, counter);
  if (tcp.rcode !== null || !TRANSPORT_FAILURES.has(tcp.outcome)) return result(tcp); // TCP answered, even if badly
  return result({ outcome: 'truncated', rttUs: 0, detail: `truncated over UDP; TCP ${tcp.outcome}: ${tcp.detail ?? ''}`.slice(0, 120), answers: [], rcode: udp.rcode });
}

/**
 * The scheduler's entry point: the question rides on the target (`target.dns`),
 * the server is `target.ip:target.port`. The nx check asks a fresh random name
 * each time, so no cache on the way can answer it from memory.
 */
export const dnsProber: Prober = async (target, signal, log) => {
  const q = target.dns;
  if (!q) return { outcome: 'error', rttUs: 0, detail: 'dns probe without a question' };
  const name = q.nxZone !== undefined ? nxdomainProbeName(q.nxZone) : q.name;
  const o = await dnsQuery({ ip: target.ip, port: target.port }, { name, type: q.type }, signal, { log, transport: q.tcpCheck ? 'tcp' : 'udp' });
  return {
    outcome: o.outcome,
    rttUs: o.rttUs,
    ...(o.detail !== undefined ? { detail: o.detail } : {}),
    dns: { name, answers: o.answers, rcode: o.rcode, tcp: o.transport === 'tcp', ignored: o.ignored },
  };
};

function buildQuery(server: DnsServer, question: DnsQuestion): Query | { outcome: Outcome; detail: string } {
  const port = server.port ?? 53;
  if (isIP(server.ip) === 0) return { outcome: 'error', detail: `server ip ${JSON.stringify(server.ip)} is not an IP address` };
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return { outcome: 'error', detail: `server port ${port} is not 1-65535` };
  const name = canonicalName(question.name);
  // dns-packet writes what it is given; a label over 63 bytes would go out as a corrupt query.
  const labels = name.split('.');
  if (!name || Buffer.byteLength(name) > 253 || labels.some((l) => l.length === 0 || Buffer.byteLength(l) > 63)) {
    return { outcome: 'error', detail: `question name ${JSON.stringify(question.name.slice(0, 80))} is not a valid DNS name` };
  }
  const id = randomInt(0, 65_536);
  try {
    const bytes = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type: question.type, class: 'IN' }],
    });
    return { id, bytes, name, type: question.type, ip: server.ip, port };
  } catch (err) {
    return { outcome: 'error', detail: `cannot encode question: ${(err as Error).message}`.slice(0, 120) };
  }
}

function canonicalName(name: string): string {
  return name.replace(/\.+$/, '').toLowerCase();
}

const us = (since: number) => Math.max(1, Math.round((performance.now() - since) * 1000));

/** Is this message the reply to `q`, and if so what does it say? */
function judge(msg: Buffer, q: Query, rttUs: number): Verdict {
  if (msg.length < 2 || msg.readUInt16BE(0) !== q.id) return IGNORE;
  let reply: dnsPacket.DecodedPacket;
  try {
    reply = dnsPacket.decode(msg);
  } catch (err) {
    return settle({ outcome: 'malformed', rttUs: 0, detail: `undecodable reply: ${(err as Error).message}`.slice(0, 120), ...noAnswer() });
  }
  if (!reply.flag_qr) return IGNORE; // a query with our ID (e.g. our own, reflected) is not an answer
  const rcode = RCODES[(reply.flags ?? 0) & 0xf] ?? `RCODE${(reply.flags ?? 0) & 0xf}`;
  const questions = reply.questions ?? [];
  const echoed = questions[0];
  if (!echoed) return settle({ outcome: 'malformed', rttUs: 0, detail: 'reply has no question', answers: [], rcode });
  if (questions.length !== 1 || canonicalName(echoed.name) !== q.name || echoed.type !== q.type || (echoed.class ?? 'IN') !== 'IN') {
    const asked = `${echoed.name} ${echoed.type} ${echoed.class ?? '?'}`;
    return settle({ outcome: 'malformed', rttUs: 0, detail: `reply is for another question (${asked})`.slice(0, 120), answers: [], rcode });
  }
  const outcome = RCODE_OUTCOME.get(rcode);
  const answers = (reply.answers ?? [])
    .flatMap((a) => ((a.type === 'A' || a.type === 'AAAA') && a.type === q.type && (a.class ?? 'IN') === 'IN' ? [a.data] : []))
    .sort();
  if (outcome === undefined) return settle({ outcome: 'error', rttUs, detail: `rcode ${rcode}`, answers: [], rcode, truncated: reply.flag_tc });
  return settle({ outcome, rttUs, answers: outcome === 'ok' ? answers : [], rcode, truncated: reply.flag_tc });
}

function overUdp(q: Query, signal: AbortSignal, counter: { ignored: number }): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    const socket = createSocket({ type: isIP(q.ip) === 6 ? 'udp6' : 'udp4' });
    let sent = 0;
    let done = false;
    const finish = (a: Attempt) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {}); // late errors after close are not ours any more
      try {
        socket.close();
      } catch {
        // already closed
      }
      resolve(a);
    };
    const onAbort = () => finish(timedOut());
    signal.addEventListener('abort', onAbort, { once: true });
    // ECONNREFUSED (the server's ICMP port unreachable) arrives here, from the read after our send.
    socket.on('error', (err) => finish(failed(outcomeFromError(err))));
    // Connected: every datagram that reaches us is from the server's address and port.
    socket.on('message', (msg: Buffer) => {
      const v = judge(msg, q, us(sent));
      if (v.accept) finish(v.attempt);
      else counter.ignored++;
    });
    socket.connect(q.port, q.ip, (connectErr?: Error) => {
      if (done) return;
      // A connect that fails (no route: ENETUNREACH) reports to this callback, not to 'error'.
      if (connectErr) return finish(failed(outcomeFromError(connectErr)));
      sent = performance.now();
      try {
        socket.send(q.bytes, (err) => {
          if (err) finish(failed(outcomeFromError(err)));
        });
      } catch (err) {
        finish(failed(outcomeFromError(err)));
      }
    });
  });
}

function overTcp(q: Query, signal: AbortSignal, counter: { ignored: number }): Promise<Attempt> {
  return new Promise<Attempt>((resolve) => {
    if (signal.aborted) return resolve(timedOut());
    const socket = connect({ host: q.ip, port: q.port, noDelay: true });
    // Everything ever read fits here, because more than one maximal reply is refused.
    let inbox: Buffer | undefined;
    let have = 0;
    let at = 0;
    let sent = 0;
    let done = false;
    const finish = (a: Attempt) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(a);
    };
    const onAbort = () => finish(timedOut());
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      sent = performance.now();
      const frame = Buffer.allocUnsafe(2 + q.bytes.length);
      frame.writeUInt16BE(q.bytes.length, 0);
      q.bytes.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      if (have + chunk.length > MAX_TCP_REPLY_BYTES) {
        return finish({ outcome: 'malformed', rttUs: 0, detail: `more than ${MAX_TCP_REPLY_BYTES} bytes over TCP without our reply`, ...noAnswer() });
      }
      inbox ??= Buffer.allocUnsafe(MAX_TCP_REPLY_BYTES);
      chunk.copy(inbox, have);
      have += chunk.length;
      // Length-prefixed frames (RFC 1035 §4.2.2), which may arrive in any number of pieces.
      while (have - at >= 2) {
        const length = inbox.readUInt16BE(at);
        if (have - at - 2 < length) break;
        const v = judge(inbox.subarray(at + 2, at + 2 + length), q, us(sent));
        at += 2 + length;
        if (v.accept) return finish(v.attempt);
        counter.ignored++;
      }
    });
    socket.once('end', () => {
      if (have > at) {
        const claimed = have - at >= 2 && inbox ? inbox.readUInt16BE(at) : undefined;
        const detail = claimed === undefined ? 'connection closed inside a length prefix' : `connection closed after ${have - at - 2} of ${claimed} reply bytes`;
        finish({ outcome: 'malformed', rttUs: 0, detail, ...noAnswer() });
      } else {
        finish({ outcome: 'reset', rttUs: 0, detail: 'connection closed without a reply', ...noAnswer() });
      }
    });
    socket.once('error', (err) => finish(failed(outcomeFromError(err))));
    socket.once('close', () => finish({ outcome: 'reset', rttUs: 0, detail: 'connection closed without a reply', ...noAnswer() }));
  });
}
