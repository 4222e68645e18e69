// The aggregator's gRPC server. Agent messages over the size limit are caught
// in the deserializer and handed to the collector as `oversized`, so that the
// refusal (RESOURCE_EXHAUSTED) is logged and counted like every other one;
// grpc-js's own limit, at four times ours, is only a backstop against absurd sizes
// (such a stream ends as "cancelled" for the collector). An interceptor counts
// every non-OK status the server sends. The response serializer passes an
// already-encoded message (plan-wire.ts) through unchanged, so that one plan
// encoding is written to every stream instead of being encoded per agent. The
// request deserializer decodes a Report straight into a batch of columns
// (report-wire.ts) and leaves every other message to proto-loader; a message
// it cannot decode is logged with what was wrong, and grpc-js ends the stream
// with INTERNAL, as it did when proto-loader threw.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/logger.js';
import { formatHostPort, type ListenAddress } from '../../common/settings.js';
import { loadProto, type AggregatorMessage, type CollectorHandlers } from '../../proto/load.js';
import { isEncoded, type EncodedMessage } from './plan-wire.js';
import { decodeAgentMessage, type AgentMessageIn } from './report-wire.js';

/** What the deserializer hands over instead of a message that is too large. */
export type Oversized = AgentMessageIn & { oversized: { bytes: number; limit: number } };

export interface GrpcServerOptions {
  readonly listen: ListenAddress;
  readonly handlers: CollectorHandlers;
  readonly log: Logger;
  readonly maxMessageBytes: number;
  /** Called with every non-OK status code the server sends. */
  readonly onStatus?: (code: grpc.status, details: string) => void;
  readonly credentials?: grpc.ServerCredentials;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly address: string;
  /** Graceful shutdown with a deadline, then force. */
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(o: GrpcServerOptions): Promise<RunningGrpcServer> {
  const statusWatcher: grpc.ServerInterceptor = (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        if (status.code !== grpc.status.OK) {
          o.onStatus?.(status.code, status.details ?? '');
          // Our own refusals are logged where they are made; log those grpc-js makes.
          if (status.code === grpc.status.INTERNAL) {
            o.log.warn({ code: grpc.status[status.code], details: status.details }, 'agent stream ended by gRPC');
          }
        }
        next(status);
      },
    });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 4 * o.maxMessageBytes,
    'grpc.max_send_message_length': o.maxMessageBytes,
    // Find agents that vanished without closing their stream (node died),
    // so their node is not "already connected" forever.
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    interceptors: [statusWatcher],
  });
  const service = loadProto().netmatrix.v1.Collector.service;
  const connect = service.Connect;
  const limited = {
    ...service,
    Connect: {
      ...connect,
      requestDeserialize: (buf: Buffer): AgentMessageIn => {
        if (buf.length > o.maxMessageBytes) return { oversized: { bytes: buf.length, limit: o.maxMessageBytes } } as Oversized;
        try {
          return decodeAgentMessage(buf, connect.requestDeserialize);
        } catch (e) {
          // grpc-js keeps the reason to itself (the status says "Error deserializing request"); the log has it.
          o.log.warn({ bytes: buf.length, error: (e as Error).message }, 'agent message could not be decoded');
          throw e;
        }
      },
      // grpc-js calls this on every write and only reads the result (length, then a copy behind
      // its frame header; responses are never compressed), so shared bytes are safe. Acks and
      // anything else still arrive as objects and are encoded here.
      responseSerialize: (msg: AggregatorMessage | EncodedMessage): Buffer => (isEncoded(msg) ? msg : connect.responseSerialize(msg)),
    },
  };
  server.addService(limited, o.handlers);
  const target = formatHostPort(o.listen.host, o.listen.port);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, o.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    address: formatHostPort(o.listen.host, port),
    close(graceMs = 2_000) {
      return new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
