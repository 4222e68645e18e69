// A stand-in aggregator for the CLI's tests: a real node:http server on
// 127.0.0.1 port 0 whose answers each test sets, recording every request.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Resolves when the client has gone (answered, aborted or reset). */
  readonly closed: Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ApiServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  handle(h: Handler): void;
  close(): Promise<void>;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

export async function startApiServer(initial: Handler): Promise<ApiServer> {
  let handler = initial;
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers, closed: once(res, 'close').then(() => undefined) });
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(h) {
      handler = h;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Runs the CLI in this process with captured output; `extraArgs` go after the command's own (e.g. --server URL). */
export async function runCli(args: readonly string[], extraArgs: readonly string[] = [], env: Record<string, string> = {}, tty: { isTTY: boolean; columns?: number } = { isTTY: false }) {
  const { main } = await import('../../cli/run.js');
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, ...extraArgs], { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env, ...tty });
  return { code, out: out.join('\n'), err: err.join('\n'), outLines: out.length, errLines: err.length };
}
