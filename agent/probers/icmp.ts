// ICMP echo to the target IP, IPv4 or IPv6: the pod IP for kind `icmp`, the
// node IP for kind `node` (the scheduler picks the address).
import type { IcmpSocket } from './icmp-socket.js';
import type { Prober } from './types.js';

const NO_OPTIONS = Object.freeze({});

export function createIcmpProber(socket: IcmpSocket): Prober {
  return (target, signal) => socket.echo(target.ip, NO_OPTIONS, signal);
}
