// One simulated agent's Collector stream: its own channel (its own TCP
// connection, as on a cluster: grpc-js would otherwise share one per target),
// a Hello, and the aggregator's messages decoded (plans through a PlanCache).
// Writes take encoded AgentMessages (hand-written reports) or message objects.
// The stream has a deadline; close() releases the call and the channel, and
// after it nothing is reported.
import * as grpc from '@grpc/grpc-js';
import { loadProto, type AgentMessage, type Hello } from '../proto/load.js';
import type { Decoded, PlanCache } from './plan.js';

const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export interface SimCredentials {
  readonly channel: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
}

export interface AgentStreamOptions {
  readonly address: string;
  readonly credentials: SimCredentials;
  /** Largest message written (the agent's --grpc-max-message-bytes). */
  readonly maxSendBytes: number;
  /** Date.now() time the stream ends at the latest. */
  readonly deadline: number;
  readonly plans: PlanCache;
  readonly onMessage: (m: Decoded) => void;
  /** The stream failed or the aggregator ended it (never after close()). */
  readonly onEnd: (why: string) => void;
}

export class AgentStream {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer | AgentMessage, Decoded>;
  private open = true;

  constructor(o: AgentStreamOptions, hello: Hello) {
    const def = loadProto().netmatrix.v1.Collector.service.Connect;
    this.client = new grpc.Client(o.address, o.credentials.channel, {
      ...o.credentials.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': o.maxSendBytes,
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
    });
    const metadata = new grpc.Metadata();
    if (o.credentials.token !== undefined) metadata.set('authorization', `Bearer ${o.credentials.token}`);
    const serialize = (m: Buffer | AgentMessage) => (Buffer.isBuffer(m) ? m : (def.requestSerialize(m) as Buffer));
    const deserialize = (b: Buffer) => o.plans.decode(b);
    this.call = this.client.makeBidiStreamRequest(def.path, serialize, deserialize, metadata, { deadline: o.deadline });
    this.call.on('data', (m: Decoded) => {
      if (this.open) o.onMessage(m);
    });
    const end = (why: string) => {
      if (!this.open) return;
      this.close();
      o.onEnd(why);
    };
    this.call.on('error', (e: grpc.ServiceError) => end(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    this.call.on('end', () => end('the aggregator ended the stream'));
    this.call.write({ hello });
  }

  get isOpen(): boolean {
    return this.open;
  }

  write(m: Buffer | AgentMessage): void {
    if (this.open) this.call.write(m);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.call.cancel();
    this.client.close();
  }
}
