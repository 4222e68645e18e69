// A small DNS server standing in for CoreDNS in the demo and in loopback
// tests: UDP and TCP on one address, A/AAAA records for a few names, NXDOMAIN
// for every other name, an optional delay (a slow replica), and a "service"
// mode that forwards each query to one of its upstreams at random, as
// kube-proxy spreads a Service's traffic over its endpoints.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';

export interface DnsResponderOptions {
  readonly host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  readonly port: number;
  /** name → addresses (IPv4 → A records, IPv6 → AAAA). Names are matched case-insensitively. */
  readonly records?: Readonly<Record<string, readonly string[]>>;
  /** Added before every answer, in ms. */
  readonly delayMs?: number;
  /** Forward every query (UDP or TCP, relayed over UDP) to one of these (random), instead of answering. */
  readonly upstreams?: readonly { readonly host: string; readonly port: number }[];
  /** Deadline for an upstream's answer (ms, default 2000). */
  readonly upstreamTimeoutMs?: number;
  /** Listen on TCP too (default true); false leaves the TCP port closed, as a policy allowing only UDP 53 would. */
  readonly tcp?: boolean;
}

export interface DnsResponder {
  readonly host: string;
  readonly port: number;
  /** Queries answered or forwarded. */
  readonly queries: number;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const MAX_TCP_FRAME = 65_535;

export async function startDnsResponder(o: DnsResponderOptions): Promise<DnsResponder> {
  const records = new Map(Object.entries(o.records ?? {}).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  let delayMs = o.delayMs ?? 0;
  let queries = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void) => {
    if (delayMs <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, delayMs);
    timers.add(t);
  };

  const answer = (msg: Buffer): Buffer | undefined => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return undefined; // not DNS: no answer, as a real server
    }
    const question = q.questions?.[0];
    if (q.type !== 'query' || !question) return undefined;
    const addresses = records.get(question.name.toLowerCase().replace(/\.$/, ''));
    const wanted = question.type === 'AAAA' ? (a: string) => a.includes(':') : (a: string) => !a.includes(':');
    const answers = (addresses ?? []).filter(wanted).map((data) => ({ type: question.type as 'A' | 'AAAA', name: question.name, ttl: 5, class: 'IN' as const, data }));
    return dnsPacket.encode({
      type: 'response',
      id: q.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (addresses ? 0 : 3), // rcode 3: NXDOMAIN
      questions: [question],
      answers,
    });
  };

  const udp: Socket = createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
  udp.on('error', () => {}); // a send to a vanished client: nothing to do
  const pending = new Map<Socket, NodeJS.Timeout>();
  /** Answers `msg` itself, or (service mode) has a random upstream answer it over UDP; `send` gets the reply. */
  const handle = (msg: Buffer, send: (reply: Buffer) => void) => {
    queries++;
    if (!o.upstreams || o.upstreams.length === 0) {
      const reply = answer(msg);
      if (reply) later(() => send(reply));
      return;
    }
    const up = o.upstreams[Math.floor(Math.random() * o.upstreams.length)]!;
    const relay = createSocket(up.host.includes(':') ? 'udp6' : 'udp4');
    const done = () => {
      clearTimeout(pending.get(relay));
      pending.delete(relay);
      relay.close();
    };
    pending.set(relay, setTimeout(done, o.upstreamTimeoutMs ?? 2_000));
    relay.on('error', done);
    relay.on('message', (reply) => {
      later(() => send(reply));
      done();
    });
    relay.send(msg, up.port, up.host);
  };
  udp.on('message', (msg, from) => handle(msg, (reply) => udp.send(reply, from.port, from.address)));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(o.port, o.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const port = udp.address().port;

  const sockets = new Set<TcpSocket>();
  const tcp: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_TCP_FRAME + 2) return s.destroy();
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        handle(msg, (reply) => {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          if (s.writable) s.write(frame);
        });
      }
    });
  });
  if (o.tcp !== false) {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, o.host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  }

  return {
    host: o.host,
    port,
    get queries() {
      return queries;
    },
    setDelay(ms: number) {
      delayMs = ms;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const [relay, t] of pending) {
        clearTimeout(t);
        relay.close();
      }
      pending.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      if (tcp.listening) await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
