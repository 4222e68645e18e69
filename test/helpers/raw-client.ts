// A hand-driven Collector stream, for sending exactly the messages a test needs.
import * as grpc from '@grpc/grpc-js';
import { loadProto, type AgentMessage, type AggregatorMessage__Output, type Hello } from '../../proto/load.js';

export interface RawStream {
  readonly messages: AggregatorMessage__Output[];
  send(msg: AgentMessage): void;
  /** Resolves with the status the stream ended with. */
  readonly status: Promise<grpc.StatusObject>;
  next(pred: (m: AggregatorMessage__Output) => boolean, timeoutMs?: number): Promise<AggregatorMessage__Output>;
  close(): void;
}

export interface RawStreamOptions {
  readonly credentials?: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  /** Sent as `authorization` metadata, as is. */
  readonly authorization?: string;
}

export function rawStream(address: string, o: RawStreamOptions = {}): RawStream {
  const Collector = loadProto().netmatrix.v1.Collector;
  const client = new Collector(address, o.credentials ?? grpc.credentials.createInsecure(), o.channelOptions ?? {});
  const metadata = new grpc.Metadata();
  if (o.authorization !== undefined) metadata.set('authorization', o.authorization);
  const call = client.Connect(metadata, { deadline: Date.now() + 30_000 });
  const messages: AggregatorMessage__Output[] = [];
  const waiters = new Set<() => void>();
  call.on('data', (m: AggregatorMessage__Output) => {
    messages.push(m);
    for (const w of waiters) w();
  });
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve)).finally(() => client.close());
  return {
    messages,
    status,
    send: (msg) => call.write(msg),
    next(pred, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = messages.find(pred);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error('no matching message from the aggregator'));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

export function hello(name: string, podIP: string, over: Partial<Hello> = {}): Hello {
  return {
    nodeName: name,
    podIps: [podIP],
    nodeIps: [],
    zone: 'zone-1',
    agentVersion: 'test',
    capabilities: ['CAPABILITY_TCP'],
    responderPort: 9402,
    instanceId: `${name}-instance`,
    ...over,
  };
}
