// TCP connect to the peer's responder. The connect time is the RTT of the
// handshake; the socket is destroyed on every path, because a blackholed
// connect would otherwise live for ~2 minutes of SYN retries.
import { connect } from 'node:net';
import { outcomeFromError } from './classify.js';
import { TIMEOUT, type ProbeOutcome, type Prober } from './types.js';

export const tcpProber: Prober = (target, signal) =>
  new Promise<ProbeOutcome>((resolve) => {
    if (signal.aborted) return resolve(TIMEOUT);
    const started = performance.now();
    const socket = connect({ host: target.ip, port: target.port, noDelay: true });
    const finish = (o: ProbeOutcome) => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {}); // late errors after destroy are not ours any more
      socket.destroy();
      resolve(o);
    };
    const onAbort = () => finish(TIMEOUT);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({ outcome: 'ok', rttUs: Math.max(1, Math.round((performance.now() - started) * 1000)) }));
    socket.once('error', (err) => finish({ rttUs: 0, ...outcomeFromError(err) }));
  });
