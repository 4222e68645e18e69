// A Collector stream on a connection of its own that keeps the raw bytes of
// every aggregator message (so tests compare encodings across agents) and can
// stop reading, as an agent that does not consume its stream would: grpc-js
// then stops taking data and HTTP/2 flow control holds the aggregator's writes.
import * as grpc from '@grpc/grpc-js';
import { loadProto, type AgentMessage, type AggregatorMessage__Output } from '../../proto/load.js';
import { waitFor } from './wait.js';

export interface ByteStream {
  /** Raw bytes of each message read so far, in order. */
  readonly received: Buffer[];
  decoded(): AggregatorMessage__Output[];
  /** The last plan read, with its bytes. */
  lastPlan(): { readonly bytes: Buffer; readonly plan: NonNullable<AggregatorMessage__Output['plan']> } | undefined;
  send(msg: AgentMessage): void;
  /**
   * Stop reading, or read again. grpc-js then buffers up to 16 messages and
   * pauses the HTTP/2 stream, whose window (64 KiB) and buffer (16 KiB) are all
   * the aggregator can still write. (A stream paused before its first read is
   * different: grpc-js keeps taking data without bound, since it pauses HTTP/2
   * only when it hands a message over.)
   */
  pause(): void;
  resume(): void;
  /** Resolves with the status the stream ended with. */
  readonly status: Promise<grpc.StatusObject>;
  waitForPlan(pred: (epoch: number, plan: NonNullable<AggregatorMessage__Output['plan']>) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The epoch of the last plan read, from its first bytes (no decoding: cheap with many streams and large plans). */
  epoch(): number | undefined;
  close(): void;
}

export function byteStream(address: string): ByteStream {
  const def = loadProto().netmatrix.v1.Collector.service.Connect;
  // A connection of its own: flow control windows are per connection too.
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const call = client.makeBidiStreamRequest(def.path, def.requestSerialize, (b: Buffer) => Buffer.from(b), new grpc.Metadata(), { deadline: Date.now() + 120_000 });
  const received: Buffer[] = [];
  // Where the last plan is (field 1 of AggregatorMessage), so polls decode it once, not every message every time.
  let lastPlanAt = -1;
  let cached: { at: number; plan: NonNullable<AggregatorMessage__Output['plan']> } | undefined;
  call.on('data', (b: Buffer) => {
    if (b[0] === 0x0a) lastPlanAt = received.length;
    received.push(b);
  });
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve)).finally(() => client.close());
  const decode = (b: Buffer) => def.responseDeserialize(b) as AggregatorMessage__Output;
  const lastPlan = () => {
    if (lastPlanAt < 0) return undefined;
    if (cached?.at !== lastPlanAt) cached = { at: lastPlanAt, plan: decode(received[lastPlanAt]!).plan! };
    return { bytes: received[lastPlanAt]!, plan: cached.plan };
  };
  return {
    received,
    decoded: () => received.map(decode),
    epoch: () => (lastPlanAt < 0 ? undefined : planEpoch(received[lastPlanAt]!)),
    lastPlan,
    send: (msg) => call.write(msg),
    pause: () => call.pause(),
    resume: () => call.resume(),
    status,
    async waitForPlan(pred, what, timeoutMs = 10_000) {
      await waitFor(what, () => {
        const p = lastPlan();
        return p !== undefined && pred(Number(p.plan.epoch), p.plan);
      }, timeoutMs);
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

/** Field 1 (epoch) of the Plan in field 1 of an encoded AggregatorMessage. */
function planEpoch(b: Buffer): number | undefined {
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let mul = 1; ; mul *= 128) {
      const byte = b[i++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
    }
  };
  if (b[i++] !== 0x0a) return undefined;
  varint(); // the plan's length
  return b[i++] === 0x08 ? varint() : 0;
}
