// A stand-in for Alertmanager's HTTP API on a loopback port 0: it records
// every request (when it arrived, and the alerts of a POST) and answers what
// the test's handler says, so tests can make it refuse in every way a real
// one (or a proxy in front of it) does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Alert } from '../../aggregator/alerts/alertmanager.js';

export interface FakeRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** Parsed body of a POST (the alerts); empty for a GET. */
  readonly alerts: Alert[];
  /** Size of the body in bytes. */
  readonly bytes: number;
  /** performance.now() when the request had arrived in full. */
  readonly at: number;
}

/** What to answer; `hang` never answers (the client's deadline or abort must end it). */
export type FakeAnswer = { readonly status: number; readonly body?: string; readonly contentType?: string } | 'hang';

export interface FakeAlertmanager {
  readonly url: string;
  readonly requests: FakeRequest[];
  posts(): FakeRequest[];
  /** Replaces the handler (e.g. to let alerts through after some refusals). */
  answer(handler: (req: FakeRequest) => FakeAnswer): void;
  /** Responses still open (hanging requests whose client has not gone). */
  open(): number;
  close(): Promise<void>;
}

export async function startFakeAlertmanager(handler: (req: FakeRequest) => FakeAnswer): Promise<FakeAlertmanager> {
  const requests: FakeRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let current = handler;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const fr: FakeRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        alerts: req.method === 'POST' && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Alert[]) : [],
        bytes: raw.length,
        at: performance.now(),
      };
      requests.push(fr);
      const a = current(fr);
      if (a === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json' });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    posts: () => requests.filter((r) => r.method === 'POST'),
    answer: (h) => void (current = h),
    open: () => hanging.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
