// What peers probe: the TCP prober only needs the listener to accept; the HTTP
// prober gets GET /healthz. /metrics is served on the same listener (one port
// per pod, docs/architecture.md). Keep-alive is off: every probe is a fresh
// connection, and a probe must not be answered from an old one.
//
// One listener per address (by default every pod IP, both families of a
// dual-stack pod), all on one port, the port Hello announces. Not one listener
// on [::] taking IPv4 as v4-mapped addresses: that would also answer on every
// other address of the network namespace (all of the node's under
// hostNetwork, /metrics included), it needs IPv6 enabled in the pod (IPv4-only
// clusters often disable it, and the bind fails), and a POD_IP that is not
// this pod's would go unnoticed while every probe to it fails. A listener per
// address fails at start instead, naming the address. [::]:9402 remains an
// explicit --listen for whoever wants it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { formatHostPort, type ListenAddress } from '../common/settings.js';

export interface Responder {
  /** The port of every listener: Hello's responder port. */
  readonly port: number;
  /** host:port of each listener, in the order given. */
  readonly addresses: readonly string[];
  /** Closes every listener and every open connection. */
  close(): Promise<void>;
}

/** Why a bind fails, in words an operator can act on. */
const BIND_ERRORS: Readonly<Record<string, string>> = {
  EADDRNOTAVAIL: 'not an address of this pod (check POD_IP and --listen)',
  EADDRINUSE: 'the port is in use',
  EACCES: 'permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE)',
  EAFNOSUPPORT: 'this address family is disabled in the pod',
};

/** With port 0, how often to start over when the port the first listener got is taken on another address. */
const FREE_PORT_ATTEMPTS = 5;

export async function startResponder(listen: readonly ListenAddress[], registry: Registry, log: Logger): Promise<Responder> {
  if (listen.length === 0) throw new Error('responder: no address to listen on');
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => {
          log.error({ err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };
  const wanted = listen[0]!.port;
  for (let attempt = 1; ; attempt++) {
    const servers: Server[] = [];
    let port = wanted;
    let at: ListenAddress = listen[0]!;
    try {
      for (const a of listen) {
        at = a;
        const server: Server = createServer({ keepAlive: false, requestTimeout: 10_000, headersTimeout: 5_000 }, handle);
        // TCP probes connect and close without a request: that is not an error.
        server.on('clientError', (_err, socket) => socket.destroy());
        servers.push(server);
        await listenOn(server, a.host, port);
        port = (server.address() as AddressInfo).port;
      }
      return {
        port,
        addresses: listen.map((a) => formatHostPort(a.host, port)),
        close: () => Promise.all(servers.map(closeServer)).then(() => undefined),
      };
    } catch (err) {
      await Promise.all(servers.map(closeServer));
      const code = (err as NodeJS.ErrnoException).code;
      if (wanted === 0 && at !== listen[0] && code === 'EADDRINUSE' && attempt < FREE_PORT_ATTEMPTS) continue;
      const why = (code !== undefined && BIND_ERRORS[code]) || (err as Error).message;
      throw new Error(`responder cannot listen on ${formatHostPort(at.host, port)}: ${code ?? 'error'}, ${why}`, { cause: err });
    }
  }
}

function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // Resolves for a server that never listened too (its callback then gets ERR_SERVER_NOT_RUNNING).
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
