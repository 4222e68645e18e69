// A Report's results in columns: what AgentSessions.reportBatch ingests. The
// gRPC deserializer writes one straight from the wire (grpc/report-wire.ts),
// so a result costs a few typed-array slots instead of two objects and their
// strings (proto-loader's decode and toObject were about half the aggregator's
// CPU at 1,000 agents, with the garbage they made). batchOf builds one from
// decoded objects: tests, the in-process paths, and the rare message the wire
// decoder leaves to proto-loader.
//
// Enums are kept as their wire numbers, unknown ones included (the ingest
// rejects those, as it rejects an unknown name); a target node name is
// interned per batch, so the ingest looks each distinct name up once.
import { probeKinds, outcomes, addressFamilies } from '../common/vocabulary.js';
import type { ReportInput, ResultInput } from './agents.js';

export const DNS_KIND = probeKinds.words.indexOf('dns') + 1;

export class ReportBatch {
  sequence = 0;
  round = 0;
  sentAtMs = 0;
  /** Results in the batch: the columns' first `length` entries (they may be longer, see reuse). */
  length: number;
  readonly timestampMs: Float64Array;
  /** Wire numbers of ProbeKind, Outcome and AddressFamily (0 when absent; negative for a name no enum has). */
  readonly kind: Int32Array;
  readonly outcome: Int32Array;
  readonly family: Int32Array;
  readonly rttUs: Uint32Array;
  /** loop_delay_us: > 0 when the agent marked the result as taken while its event loop was held up. */
  readonly loopDelayUs: Uint32Array;
  /** Index in `targets` of each result's target_node. */
  readonly target: Int32Array;
  /** The distinct target_node values, each once. */
  readonly targets: string[] = [];
  /**
   * The results of kind DNS, in report order, as objects: a few per report,
   * and what the DNS store needs of them is strings. Their rows in the
   * columns have kind DNS_KIND.
   */
  readonly dns: ResultInput[] = [];

  constructor(
    length: number,
    /** Room in the columns: a batch is reused for any report of up to this many results (reuse()). */
    readonly capacity = length,
  ) {
    this.length = length;
    // One allocation for the columns.
    const buf = new ArrayBuffer(capacity * 32);
    this.timestampMs = new Float64Array(buf, 0, capacity);
    this.kind = new Int32Array(buf, capacity * 8, capacity);
    this.outcome = new Int32Array(buf, capacity * 12, capacity);
    this.family = new Int32Array(buf, capacity * 16, capacity);
    this.rttUs = new Uint32Array(buf, capacity * 20, capacity);
    this.target = new Int32Array(buf, capacity * 24, capacity);
    this.loopDelayUs = new Uint32Array(buf, capacity * 28, capacity);
  }

  /** Empties the batch for a report of `length` results (at most `capacity`); the columns are left as they were. */
  reuse(length: number): void {
    if (length > this.capacity) throw new Error(`ReportBatch: ${length} results do not fit in ${this.capacity}`);
    this.length = length;
    this.sequence = 0;
    this.round = 0;
    this.sentAtMs = 0;
    this.targets.length = 0;
    this.dns.length = 0;
  }
}

function numbers<W extends string>(v: { readonly words: readonly W[]; toProto(w: W): string }): Map<string, number> {
  // Wire numbers follow declaration order from 1, as common/vocabulary.ts has them; 0 is UNSPECIFIED.
  const names = v.words.map((w) => v.toProto(w));
  const prefix = names[0]!.slice(0, names[0]!.length - v.words[0]!.length);
  return new Map([[`${prefix}UNSPECIFIED`, 0], ...names.map((p, i) => [p, i + 1] as const)]);
}
const KIND_NUMBERS = numbers(probeKinds);
const OUTCOME_NUMBERS = numbers(outcomes);
const FAMILY_NUMBERS = numbers(addressFamilies);

/** proto-loader gives enum names, or the number for a value the schema does not know; -1 for anything else. */
function wireNumber(v: string | number, names: ReadonlyMap<string, number>): number {
  if (typeof v === 'number') return Number.isInteger(v) && v >= -0x8000_0000 && v <= 0x7fff_ffff ? v : -1;
  return names.get(v) ?? -1;
}

/** The batch of decoded Report objects (proto-loader's shape: enum names or numbers). */
export function batchOf(r: ReportInput & { readonly round?: number }): ReportBatch {
  const n = r.results.length;
  const b = new ReportBatch(n);
  b.sequence = r.sequence;
  b.round = r.round ?? 0;
  b.sentAtMs = r.sentAtMs;
  const ids = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = r.results[i]!;
    const kind = wireNumber(res.kind, KIND_NUMBERS);
    b.kind[i] = kind;
    b.outcome[i] = wireNumber(res.outcome, OUTCOME_NUMBERS);
    b.family[i] = wireNumber(res.family, FAMILY_NUMBERS);
    b.rttUs[i] = res.rttUs;
    b.loopDelayUs[i] = res.loopDelayUs ?? 0;
    b.timestampMs[i] = res.timestampMs;
    let id = ids.get(res.targetNode);
    if (id === undefined) {
      id = b.targets.length;
      ids.set(res.targetNode, id);
      b.targets.push(res.targetNode);
    }
    b.target[i] = id;
    if (kind === DNS_KIND) b.dns.push(res);
  }
  return b;
}
