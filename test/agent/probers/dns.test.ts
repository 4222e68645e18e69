// The DNS prober against real UDP and TCP servers on loopback, port 0, written
// here with dns-packet: a correct server, and servers that misbehave the ways
// DNS servers and the paths to them do (stray, spoofed, garbled, truncated,
// split, lying about lengths, silent).
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import t, { type Test } from 'tap';
import { dnsQuery, nxdomainProbeName, MAX_TCP_REPLY_BYTES, type DnsProbeOutcome } from '../../../agent/probers/dns.js';
import { logSink } from '../../helpers/log-sink.js';
import { waitFor } from '../../helpers/wait.js';

const HOST = '127.0.0.1';
const OTHER_HOST = '127.0.0.2';
const NAME = 'kubernetes.default.svc.cluster.local';
const A = { name: NAME, type: 'A' as const };
const deadline = (ms = 300) => AbortSignal.timeout(ms);

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** UDP and TCP handles of this process: sockets, listeners and connects in flight. */
function netResources(): number {
  return process.getActiveResourcesInfo().filter((r) => /^(UDPWrap|TCPSocketWrap|TCPServerWrap|ConnectWrap)$/.test(r)).length;
}

interface Reply {
  rcode?: number;
  answers?: dnsPacket.Answer[];
  tc?: boolean;
  id?: number;
  questions?: dnsPacket.Question[];
  type?: 'response' | 'query';
}

/** A reply to `q`, correct unless told otherwise. */
function reply(q: dnsPacket.DecodedPacket, r: Reply = {}): Buffer {
  return dnsPacket.encode({
    type: r.type ?? 'response',
    id: r.id ?? q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (r.tc ? dnsPacket.TRUNCATED_RESPONSE : 0) | (r.rcode ?? 0),
    questions: r.questions ?? q.questions,
    answers: r.answers ?? [],
  });
}

const a = (name: string, data: string): dnsPacket.Answer => ({ type: 'A', name, class: 'IN', ttl: 30, data });
const framed = (msg: Buffer) => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

type UdpHandler = (q: dnsPacket.DecodedPacket, send: (b: Buffer) => Promise<void>, from: RemoteInfo) => void | Promise<void>;

interface UdpServer {
  readonly port: number;
  readonly queries: dnsPacket.DecodedPacket[];
  close(): Promise<void>;
}

async function udpServer(handler: UdpHandler, host = HOST, port = 0): Promise<UdpServer> {
  const socket = createSocket('udp4');
  const queries: dnsPacket.DecodedPacket[] = [];
  socket.on('message', (msg, from) => {
    const q = dnsPacket.decode(msg);
    queries.push(q);
    const send = (b: Buffer) => new Promise<void>((r) => socket.send(b, from.port, from.address, () => r()));
    void handler(q, send, from);
  });
  await new Promise<void>((r) => socket.bind(port, host, r));
  return { port: socket.address().port, queries, close: () => closeUdp(socket) };
}

const closeUdp = (s: UdpSocket) => new Promise<void>((r) => s.close(() => r()));

/** A bare UDP socket, for sending from an address or port the prober did not ask. */
async function udpSocket(host: string): Promise<UdpSocket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, r));
  return s;
}

type TcpHandler = (q: dnsPacket.DecodedPacket, c: Socket) => void | Promise<void>;

interface TcpServer {
  readonly port: number;
  readonly queries: dnsPacket.DecodedPacket[];
  close(): Promise<void>;
}

async function tcpServer(handler: TcpHandler, port = 0): Promise<TcpServer> {
  const queries: dnsPacket.DecodedPacket[] = [];
  const conns = new Set<Socket>();
  const server: Server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    c.setNoDelay(true);
    let buf = Buffer.alloc(0);
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const len = buf.length >= 2 ? buf.readUInt16BE(0) : Infinity;
      if (buf.length < 2 + len) return;
      const q = dnsPacket.decode(buf.subarray(2, 2 + len));
      queries.push(q);
      void handler(q, c);
    });
  });
  await new Promise<void>((r) => server.listen(port, HOST, r));
  return {
    port: (server.address() as { port: number }).port,
    queries,
    close: () => {
      for (const c of conns) c.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A UDP server and a TCP server on the same port number, as a real DNS server has. */
async function bothOnOnePort(udp: UdpHandler, tcp: TcpHandler): Promise<{ port: number; udp: UdpServer; tcp: TcpServer; close(): Promise<void> }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const u = await udpServer(udp);
    try {
      const s = await tcpServer(tcp, u.port);
      return { port: u.port, udp: u, tcp: s, close: async () => (await u.close(), await s.close()) };
    } catch {
      await u.close(); // the TCP port was taken: try another
    }
  }
  throw new Error('no port free for both UDP and TCP');
}

/** Servers closed, then every socket the test and the prober opened is gone. */
async function released(t: Test, baseline: number, ...servers: { close(): Promise<void> }[]): Promise<void> {
  for (const s of servers) await s.close();
  await waitFor(`UDP/TCP handles back to ${baseline}`, () => netResources() === baseline, 5_000);
  t.pass('no socket left behind');
}

const elapsed = async (p: Promise<DnsProbeOutcome>) => {
  const t0 = performance.now();
  const r = await p;
  return { r, ms: performance.now() - t0 };
};

// ---------------------------------------------------------------- a correct server

t.test('A answer → ok, the matching addresses sorted, a random ID with RD, nothing left open', async (t) => {
  const base = netResources();
  const s = await udpServer((q, send) =>
    send(
      reply(q, {
        answers: [
          { type: 'CNAME', name: NAME, class: 'IN', ttl: 30, data: 'real.example' },
          a('real.example', '10.0.0.9'),
          a('real.example', '10.0.0.10'),
          a('real.example', '10.0.0.1'),
          { type: 'AAAA', name: 'real.example', class: 'IN', ttl: 30, data: '2001:db8::1' },
        ],
      }),
    ),
  );
  const serverSide = netResources();
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.match(r, { outcome: 'ok', rcode: 'NOERROR', transport: 'udp', ignored: 0 });
  t.same(r.answers, ['10.0.0.1', '10.0.0.10', '10.0.0.9'], 'A records only, sorted as strings');
  t.notOk('detail' in r && r.detail !== undefined, 'no detail on ok');
  t.ok(Number.isInteger(r.rttUs) && r.rttUs > 0 && r.rttUs < 1_000_000, `rtt ${r.rttUs} µs`);
  const q = s.queries[0]!;
  t.same(q.questions, [{ name: NAME, type: 'A', class: 'IN' }]);
  t.ok(q.flag_rd, 'recursion desired');
  await waitFor('the probe socket to close', () => netResources() === serverSide, 5_000);
  const r2 = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.equal(r2.outcome, 'ok');
  t.not(s.queries[1]!.id, q.id, 'a fresh ID per query (1 in 65536 to collide)');
  await released(t, base, s);
});

t.test('AAAA question → only AAAA addresses; the echoed name may differ in case', async (t) => {
  const base = netResources();
  const s = await udpServer((q, send) =>
    send(
      reply(q, {
        questions: [{ name: NAME.toUpperCase(), type: 'AAAA', class: 'IN' }],
        answers: [a(NAME, '10.0.0.1'), { type: 'AAAA', name: NAME, class: 'IN', ttl: 5, data: '2001:db8::2' }, { type: 'AAAA', name: NAME, class: 'IN', ttl: 5, data: '2001:db8::1' }],
      }),
    ),
  );
  const r = await dnsQuery({ ip: HOST, port: s.port }, { name: `${NAME}.`, type: 'AAAA' }, deadline(2_000));
  t.match(r, { outcome: 'ok', answers: ['2001:db8::1', '2001:db8::2'], ignored: 0 });
  await released(t, base, s);
});

t.test('NXDOMAIN for a random name under the zone → nxdomain', async (t) => {
  const base = netResources();
  const s = await udpServer((q, send) => send(reply(q, { rcode: RCODE.NXDOMAIN })));
  const name = nxdomainProbeName('cluster.local.');
  t.match(name, /^netmatrix-nx-[0-9a-f]{16}\.cluster\.local$/);
  t.not(nxdomainProbeName('cluster.local'), name, 'random each time');
  t.match(nxdomainProbeName(''), /^netmatrix-nx-[0-9a-f]{16}$/, 'the root zone');
  const r = await dnsQuery({ ip: HOST, port: s.port }, { name, type: 'A' }, deadline(2_000));
  t.match(r, { outcome: 'nxdomain', rcode: 'NXDOMAIN', answers: [], transport: 'udp' });
  t.ok(r.rttUs > 0, 'an answer, so an RTT');
  t.equal(s.queries[0]!.questions![0]!.name, name);
  await released(t, base, s);
});

t.test('SERVFAIL → servfail, REFUSED → dns_refused, another rcode → error naming it', async (t) => {
  const base = netResources();
  const cases = [
    [RCODE.SERVFAIL, { outcome: 'servfail', rcode: 'SERVFAIL' }],
    [RCODE.REFUSED, { outcome: 'dns_refused', rcode: 'REFUSED' }],
    [RCODE.NOTIMP, { outcome: 'error', rcode: 'NOTIMP', detail: 'rcode NOTIMP' }],
    [9, { outcome: 'error', rcode: 'RCODE9', detail: 'rcode RCODE9' }],
  ] as const;
  for (const [rcode, want] of cases) {
    const s = await udpServer((q, send) => send(reply(q, { rcode, answers: [a(NAME, '10.0.0.1')] })));
    const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
    t.match(r, { ...want, answers: [], ignored: 0 }, `rcode ${rcode}`);
    await s.close();
  }
  await released(t, base);
});

// ---------------------------------------------------------------- misbehaving over UDP

t.test('garbage bytes before the reply are ignored and counted → ok', async (t) => {
  const base = netResources();
  const s = await udpServer(async (q, send) => {
    await send(Buffer.from([0x01])); // too short to hold an ID
    await send(Buffer.from([(q.id! >> 8) ^ 0xff, q.id! & 0xff, 0xde, 0xad, 0xbe, 0xef])); // not our ID
    await send(reply(q, { answers: [a(NAME, '10.0.0.1')] }));
  });
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.match(r, { outcome: 'ok', answers: ['10.0.0.1'], ignored: 2 });
  await released(t, base, s);
});

t.test('undecodable bytes with our ID from the server → malformed, saying why', async (t) => {
  const base = netResources();
  const s = await udpServer((q, send) => send(Buffer.from([q.id! >> 8, q.id! & 0xff, 0x81, 0x80, 0x00])));
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.match(r, { outcome: 'malformed', rttUs: 0, answers: [], rcode: null, detail: /^undecodable reply: / });
  await released(t, base, s);
});

t.test('a wrong ID, then the right reply → ok, the wrong one counted', async (t) => {
  const base = netResources();
  const s = await udpServer(async (q, send) => {
    await send(reply(q, { id: (q.id! + 1) & 0xffff, answers: [a(NAME, '192.0.2.66')] }));
    await send(reply(q, { answers: [a(NAME, '10.0.0.1')] }));
  });
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.match(r, { outcome: 'ok', answers: ['10.0.0.1'], ignored: 1 }, 'the spoofed address was not taken');
  await released(t, base, s);
});

t.test('our ID from the server with another question, or none → malformed', async (t) => {
  const base = netResources();
  const wrong: dnsPacket.Question[][] = [[{ name: 'evil.example', type: 'A', class: 'IN' }], [{ name: NAME, type: 'AAAA', class: 'IN' }], [{ name: NAME, type: 'A', class: 'CH' }], []];
  for (const questions of wrong) {
    const s = await udpServer((q, send) => send(reply(q, { questions, answers: [a(NAME, '192.0.2.66')] })));
    const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
    t.match(r, { outcome: 'malformed', rttUs: 0, answers: [], detail: questions.length ? /another question/ : 'reply has no question' }, JSON.stringify(questions));
    await s.close();
  }
  await released(t, base);
});

t.test('a query echoed back with our ID is not an answer: ignored, then the reply → ok', async (t) => {
  const base = netResources();
  const s = await udpServer(async (q, send) => {
    await send(reply(q, { type: 'query' }));
    await send(reply(q, { answers: [a(NAME, '10.0.0.1')] }));
  });
  t.match(await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000)), { outcome: 'ok', ignored: 1 });
  await released(t, base, s);
});

t.test('a perfect reply from another address or port never reaches the prober; the silent server → timeout', async (t) => {
  const base = netResources();
  const other = await udpSocket(OTHER_HOST);
  const samehost = await udpSocket(HOST);
  const spoof = (s: UdpSocket, b: Buffer, to: RemoteInfo) => new Promise<void>((r) => s.send(b, to.port, to.address, () => r()));
  let spoofed = 0;
  const s = await udpServer(async (q, _send, from) => {
    await spoof(other, reply(q, { answers: [a(NAME, '192.0.2.66')] }), from);
    await spoof(samehost, reply(q, { answers: [a(NAME, '192.0.2.67')] }), from);
    spoofed = 2;
  });
  const { r, ms } = await elapsed(dnsQuery({ ip: HOST, port: s.port }, A, deadline(300)));
  t.equal(spoofed, 2, 'both spoofs were sent before the deadline');
  // The socket is connected to the server: the kernel drops the spoofs, so they are not even counted.
  t.same(r, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded', answers: [], rcode: null, transport: 'udp', ignored: 0 });
  t.ok(ms >= 280 && ms < 1_500, `ended at the deadline (${ms.toFixed(0)} ms)`);
  await released(t, base, s, { close: () => closeUdp(other) }, { close: () => closeUdp(samehost) });
});

t.test('a flood of 1,000 wrong-ID replies, then the right one → ok, the flood counted', async (t) => {
  const base = netResources();
  const s = await udpServer(async (q, send) => {
    const junk = reply(q, { id: q.id! ^ 0x8000, answers: [a(NAME, '192.0.2.66')] });
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 50 }, () => send(junk)));
      await new Promise((r) => setImmediate(r)); // let the prober read, as a real network's spacing would
    }
    // Sent more than once: loopback may drop datagrams from a flood, and the prober takes only the first.
    for (let i = 0; i < 3; i++) {
      await send(reply(q, { answers: [a(NAME, '10.0.0.1')] }));
      await new Promise((r) => setImmediate(r));
    }
  });
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(5_000));
  t.match(r, { outcome: 'ok', answers: ['10.0.0.1'] });
  t.ok(r.ignored > 0 && r.ignored <= 1_000, `${r.ignored} of 1,000 counted (the kernel may drop some of a flood)`);
  await released(t, base, s);
});

t.test('silence → timeout at the deadline, promptly, socket closed', async (t) => {
  const base = netResources();
  const s = await udpServer(() => {});
  const { r, ms } = await elapsed(dnsQuery({ ip: HOST, port: s.port }, A, deadline(300)));
  t.same(r, { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded', answers: [], rcode: null, transport: 'udp', ignored: 0 });
  t.ok(ms >= 280 && ms < 1_000, `ended at the deadline (${ms.toFixed(0)} ms)`);
  t.equal(s.queries.length, 1, 'one query, no retries over UDP');
  await released(t, base, s);
});

t.test('nothing listening on the UDP port (ICMP port unreachable) → refused at once, not timeout at the deadline', async (t) => {
  const base = netResources();
  // A port that was just free: bound, noted, closed. Nothing answers on it, so the kernel sends port unreachable.
  const probe = await udpSocket(HOST);
  const port = probe.address().port;
  await closeUdp(probe);
  const { r, ms } = await elapsed(dnsQuery({ ip: HOST, port }, A, deadline(2_000)));
  t.same(r, { outcome: 'refused', rttUs: 0, detail: 'ECONNREFUSED', answers: [], rcode: null, transport: 'udp', ignored: 0 });
  t.ok(ms < 500, `answered well before the 2 s deadline (${ms.toFixed(0)} ms)`);
  // Connecting changes nothing for a server that is there.
  const s = await udpServer((q, send) => send(reply(q, { answers: [a(NAME, '10.0.0.1')] })));
  t.match(await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000)), { outcome: 'ok', answers: ['10.0.0.1'], transport: 'udp' });
  await released(t, base, s);
});

t.test('aborted before the call, or while waiting → timeout, nothing left open', async (t) => {
  const base = netResources();
  const c = new AbortController();
  c.abort();
  t.same(await dnsQuery({ ip: HOST, port: 9 }, A, c.signal, { transport: 'tcp' }), { outcome: 'timeout', rttUs: 0, detail: 'deadline exceeded', answers: [], rcode: null, transport: 'tcp', ignored: 0 });
  t.equal(netResources(), base, 'no socket was even opened');
  const s = await udpServer(() => {});
  const c2 = new AbortController();
  const p = dnsQuery({ ip: HOST, port: s.port }, A, c2.signal);
  await waitFor('the query to arrive', () => s.queries.length === 1, 5_000);
  c2.abort();
  t.match(await p, { outcome: 'timeout', transport: 'udp' });
  await released(t, base, s);
});

t.test('an address that is not an IP, a bad port or name → error, no throw, no socket', async (t) => {
  const base = netResources();
  // Each would otherwise wait for a reply: a short deadline bounds the test if the check is missing.
  t.match(await dnsQuery({ ip: 'dns.example' }, A, deadline()), { outcome: 'error', detail: /not an IP address/, answers: [], rcode: null });
  t.match(await dnsQuery({ ip: HOST, port: 70_000 }, A, deadline()), { outcome: 'error', detail: /port 70000/ });
  for (const name of [`${'x'.repeat(64)}.example`, 'a..example', '', `${'x.'.repeat(127)}xx`]) {
    t.match(await dnsQuery({ ip: HOST, port: 9 }, { name, type: 'A' }, deadline()), { outcome: 'error', detail: /is not a valid DNS name/ }, JSON.stringify(name).slice(0, 40));
  }
  t.equal(netResources(), base);
});

// ---------------------------------------------------------------- truncation and TCP

t.test('TC over UDP → the same question over TCP, within the deadline → ok, transport tcp', async (t) => {
  const base = netResources();
  const srv = await bothOnOnePort(
    (q, send) => send(reply(q, { tc: true, answers: [a(NAME, '10.0.0.1')] })),
    (q, c) => void c.write(framed(reply(q, { answers: [a(NAME, '10.0.0.2'), a(NAME, '10.0.0.1'), a(NAME, '10.0.0.3')] }))),
  );
  const r = await dnsQuery({ ip: HOST, port: srv.port }, A, deadline(2_000));
  t.match(r, { outcome: 'ok', transport: 'tcp', rcode: 'NOERROR', answers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'], ignored: 0 });
  t.same(srv.tcp.queries[0]!.questions, srv.udp.queries[0]!.questions, 'the same question');
  await released(t, base, srv);
});

t.test('TC over UDP with TCP refused → truncated, saying why; an rcode over TCP is its answer', async (t) => {
  const base = netResources();
  const s = await udpServer((q, send) => send(reply(q, { tc: true })));
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000));
  t.match(r, { outcome: 'truncated', rttUs: 0, transport: 'tcp', rcode: 'NOERROR', answers: [], detail: /TCP refused: ECONNREFUSED/ });
  // An rcode over TCP is an answer, not a failed fallback, even when it maps to `error`.
  const srv = await bothOnOnePort(
    (q, send) => send(reply(q, { tc: true })),
    (q, c) => void c.write(framed(reply(q, { rcode: RCODE.NOTIMP }))),
  );
  t.match(await dnsQuery({ ip: HOST, port: srv.port }, A, deadline(2_000)), { outcome: 'error', rcode: 'NOTIMP', detail: 'rcode NOTIMP', transport: 'tcp' });
  await released(t, base, s, srv);
});

t.test('TCP: the reply one byte per segment → ok; a wrong-ID frame first is counted', async (t) => {
  const base = netResources();
  const s = await tcpServer(async (q, c) => {
    const bytes = Buffer.concat([framed(reply(q, { id: q.id! ^ 1 })), framed(reply(q, { answers: [a(NAME, '10.0.0.7')] }))]);
    for (const b of bytes) {
      if (c.destroyed) return;
      await new Promise<void>((r) => c.write(Buffer.from([b]), () => setImmediate(r)));
    }
  });
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(5_000), { transport: 'tcp' });
  t.match(r, { outcome: 'ok', transport: 'tcp', answers: ['10.0.0.7'], ignored: 1 });
  await released(t, base, s);
});

t.test('TCP: a length prefix claiming more than is sent → timeout at the deadline, or malformed when closed', async (t) => {
  const base = netResources();
  const held = await tcpServer((q, c) => void c.write(Buffer.concat([Buffer.from([0xff, 0xff]), reply(q)])));
  const { r, ms } = await elapsed(dnsQuery({ ip: HOST, port: held.port }, A, deadline(300), { transport: 'tcp' }));
  t.match(r, { outcome: 'timeout', transport: 'tcp', answers: [] });
  t.ok(ms >= 280 && ms < 1_500, `no hang past the deadline (${ms.toFixed(0)} ms)`);
  const closed = await tcpServer((q, c) => void c.end(Buffer.concat([Buffer.from([0x01, 0xf4]), reply(q).subarray(0, 10)])));
  const r2 = await dnsQuery({ ip: HOST, port: closed.port }, A, deadline(2_000), { transport: 'tcp' });
  t.match(r2, { outcome: 'malformed', detail: 'connection closed after 10 of 500 reply bytes' });
  await released(t, base, held, closed);
});

t.test(`TCP: more than ${MAX_TCP_REPLY_BYTES} bytes without our reply → malformed, reading stops`, async (t) => {
  const base = netResources();
  const s = await tcpServer(async (q, c) => {
    const junk = Buffer.alloc(65_535, 0);
    junk.writeUInt16BE(q.id! ^ 1, 0);
    for (let i = 0; i < 3 && !c.destroyed; i++) await new Promise<void>((r) => c.write(framed(junk), () => r()));
  });
  const r = await dnsQuery({ ip: HOST, port: s.port }, A, deadline(5_000), { transport: 'tcp' });
  t.match(r, { outcome: 'malformed', detail: /more than 65537 bytes/ });
  t.ok(r.ignored <= 1, `at most one whole frame was judged (${r.ignored})`);
  await released(t, base, s);
});

t.test('TCP: refused → refused; reset → reset; closed without a reply → reset', async (t) => {
  const base = netResources();
  const gone = await tcpServer(() => {});
  await gone.close();
  t.match(await dnsQuery({ ip: HOST, port: gone.port }, A, deadline(2_000), { transport: 'tcp' }), { outcome: 'refused', detail: 'ECONNREFUSED', transport: 'tcp' });
  const rst = await tcpServer((_q, c) => void c.resetAndDestroy());
  t.match(await dnsQuery({ ip: HOST, port: rst.port }, A, deadline(2_000), { transport: 'tcp' }), { outcome: 'reset', detail: 'ECONNRESET' });
  const fin = await tcpServer((_q, c) => void c.end());
  t.match(await dnsQuery({ ip: HOST, port: fin.port }, A, deadline(2_000), { transport: 'tcp' }), { outcome: 'reset', detail: 'connection closed without a reply' });
  await released(t, base, rst, fin);
});

t.test('a probe that is not clean is logged once with its fields', async (t) => {
  const base = netResources();
  const sink = logSink('debug');
  const s = await udpServer(async (q, send) => {
    await send(reply(q, { id: q.id! ^ 1 }));
    await send(reply(q, { rcode: RCODE.SERVFAIL }));
  });
  await dnsQuery({ ip: HOST, port: s.port }, A, deadline(2_000), { log: sink.log });
  t.equal(sink.lines.length, 1);
  t.match(sink.find('dns probe not clean'), { server: `${HOST}:${s.port}`, name: NAME, type: 'A', transport: 'udp', outcome: 'servfail', ignored: 1 });
  await released(t, base, s);
});
