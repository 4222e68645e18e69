// ICMP echo to the target IP: the pod IP for kind `icmp`, the node IP for kind
// `node` (the scheduler picks the address).
import type { IcmpSocket } from './icmp-socket.js';
import type { Prober } from './types.js';

export function createIcmpProber(socket: IcmpSocket): Prober {
  return (target, signal) => {
    if (target.family !== 'ipv4') return Promise.resolve({ outcome: 'error', rttUs: 0, detail: 'icmp6 not supported yet' });
    return socket.echo(target.ip, {}, signal);
  };
}
