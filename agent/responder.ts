// What peers probe: the TCP prober only needs the listener to accept; the HTTP
// prober gets GET /healthz. /metrics is served on the same listener (one port
// per pod, as DESIGN.md has it). Keep-alive is off: every probe is a fresh
// connection, and a probe must not be answered from an old one.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.js';
import { formatHostPort, type ListenAddress } from '../common/settings.js';

export interface Responder {
  readonly port: number;
  readonly address: string;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

export async function startResponder(listen: ListenAddress, registry: Registry, log: Logger): Promise<Responder> {
  const server: Server = createServer({ keepAlive: false, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
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
  });
  // TCP probes connect and close without a request: that is not an error.
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: formatHostPort(listen.host, port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
