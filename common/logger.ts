import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON logs to stderr (stdout stays free for what a command prints). */
export function createLogger(name: string, level: LogLevel, destination?: DestinationStream): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination ?? pino.destination(2));
}

/** A logger that writes nowhere, for tests and benchmarks that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
