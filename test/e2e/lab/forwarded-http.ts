// GET through a lab forwarder (a Unix socket leading into a namespace), and
// reading one sample of a Prometheus exposition: what the e2e tests and the
// lab benchmarks both need to talk to netmatrix inside a lab.
import { request, type Agent } from 'node:http';

export function getVia(socketPath: string, path: string, timeoutMs = 3_000, agent?: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: timeoutMs, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample line of a Prometheus text exposition, or undefined when absent. */
export function sampleValue(text: string, name: string, labels = ''): number | undefined {
  const prefix = labels ? `${name}{${labels}} ` : `${name} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}
