// GET /healthz on the peer's responder, with the phases timed separately
// (after kubenurse): connect, first byte (response headers), total (body read).
import { request } from 'node:http';
import { outcomeFromError } from './classify.js';
import { TIMEOUT, type ProbeOutcome, type Prober } from './types.js';

const MAX_BODY = 64 * 1024;

export const httpProber: Prober = (target, signal) =>
  new Promise<ProbeOutcome>((resolve) => {
    if (signal.aborted) return resolve(TIMEOUT);
    const started = performance.now();
    const us = () => Math.max(1, Math.round((performance.now() - started) * 1000));
    let connectUs = 0;
    let firstByteUs = 0;
    let done = false;
    const req = request({
      host: target.ip,
      port: target.port,
      path: '/healthz',
      method: 'GET',
      agent: false,
      headers: { connection: 'close', 'user-agent': 'netmatrix-agent' },
    });
    const finish = (o: ProbeOutcome) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      req.on('error', () => {});
      req.destroy();
      resolve(o);
    };
    const onAbort = () => finish(TIMEOUT);
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('socket', (s) => s.once('connect', () => (connectUs = us())));
    req.once('error', (err) => finish({ rttUs: 0, ...outcomeFromError(err) }));
    req.once('response', (res) => {
      firstByteUs = us();
      let read = 0;
      let cut = false;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_BODY && !cut) {
          cut = true; // enough to know it answered
          res.destroy();
        }
      });
      const settle = () => {
        const totalUs = us();
        const http = { connectUs, firstByteUs, totalUs };
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 400) finish({ outcome: 'ok', rttUs: totalUs, http });
        else finish({ outcome: 'error', rttUs: totalUs, detail: `HTTP ${status}`, http });
      };
      res.once('end', settle);
      // A body cut short by the peer (not by us) is a failed exchange, not an answer.
      res.on('error', (err) => (cut ? settle() : finish({ rttUs: 0, ...outcomeFromError(err) })));
      res.once('close', () => (cut || res.complete ? settle() : finish({ outcome: 'reset', rttUs: 0, detail: 'response cut short' })));
    });
    req.end();
  });
