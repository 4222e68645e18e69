// Just what netmatrix uses of raw-socket 1.8 (which ships no types).
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';
  /** raw-socket's native handle. */
  export interface SocketWrap {
    /** One sendto(2) now, on the non-blocking socket; `callback(bytes)` runs before it returns. Throws the errno text (e.g. "Resource temporarily unavailable"). */
    send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void;
  }
  export interface Socket extends EventEmitter {
    /** The native handle (a property of raw-socket's Socket, not in its README): absent in a stand-in, which then goes through send(). */
    readonly wrap?: SocketWrap;
    /** Queued: sent on the next writable poll event (raw-socket reports writable only when nothing is readable). */
    send(buffer: Buffer, offset: number, length: number, address: string, beforeCallback: (() => void) | null, afterCallback: (error: Error | null, bytes: number) => void): void;
    /** setsockopt(2) with an int value, or with `length` bytes of a buffer. */
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
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
