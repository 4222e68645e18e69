// A TCP listener standing for a peer's responder, counting the connections it
// accepts: TCP probes connect and close, HTTP probes get `200 ok`.
import { createServer, type Server } from 'node:net';

export interface CountingListener {
  readonly server: Server;
  readonly port: number;
  connections(): number;
}

export async function countingListener(host: string): Promise<CountingListener> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.on('error', () => {});
    s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return { server, port: (server.address() as { port: number }).port, connections: () => n };
}
