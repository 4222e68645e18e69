// Just what netmatrix uses of raw-socket (which ships no types).
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';
  export interface Socket extends EventEmitter {
    send(buffer: Buffer, offset: number, length: number, address: string, beforeCallback: (() => void) | null, afterCallback: (error: Error | null, bytes: number) => void): void;
    setOption(level: number, option: number, value: number): void;
    pauseRecv(): Socket;
    resumeRecv(): Socket;
    close(): void;
  }
  export const Protocol: { ICMP: number; ICMPv6: number; None: number };
  export const AddressFamily: { IPv4: number; IPv6: number };
  export function createSocket(options: { addressFamily?: number; protocol?: number; bufferSize?: number }): Socket;
  const raw: { createSocket: typeof createSocket; Protocol: typeof Protocol; AddressFamily: typeof AddressFamily };
  export default raw;
}
