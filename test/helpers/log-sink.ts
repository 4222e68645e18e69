// A pino destination that keeps every line, for tests where logs are the behaviour.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface LogSink {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
  find(msg: string | RegExp): Record<string, unknown> | undefined;
}

export function logSink(level: pino.Level = 'debug'): LogSink {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level }, dest);
  return {
    log,
    lines,
    find: (msg) => lines.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg)))),
  };
}
