// The closed vocabularies (docs/architecture.md, "Closed vocabularies"). They are defined once, in the proto
// enums; this module is the one place that maps them to the lower-case words
// used by the API, metrics labels, logs and the UI, and back. A word outside a
// set is an error, never a new category.
import { AddressFamily as AddressFamilyEnum } from '../proto/generated/netmatrix/v1/AddressFamily.js';
import { Capability as CapabilityEnum } from '../proto/generated/netmatrix/v1/Capability.js';
import { Outcome as OutcomeEnum } from '../proto/generated/netmatrix/v1/Outcome.js';
import { DnsRole as DnsRoleEnum } from '../proto/generated/netmatrix/v1/DnsRole.js';
import { DnsType as DnsTypeEnum } from '../proto/generated/netmatrix/v1/DnsType.js';
import { ProbeKind as ProbeKindEnum } from '../proto/generated/netmatrix/v1/ProbeKind.js';

type Words<E, P extends string> = Lowercase<
  Exclude<keyof E, `${P}UNSPECIFIED`> extends `${P}${infer W}` ? W : never
>;

export type ProbeKind = Words<typeof ProbeKindEnum, 'PROBE_KIND_'>;
export type Outcome = Words<typeof OutcomeEnum, 'OUTCOME_'>;
export type Capability = Words<typeof CapabilityEnum, 'CAPABILITY_'>;
export type AddressFamily = Words<typeof AddressFamilyEnum, 'ADDRESS_FAMILY_'>;
export type DnsRole = Words<typeof DnsRoleEnum, 'DNS_ROLE_'>;
/** Record types in lower case ('a', 'aaaa'); people write them upper case (dnsRecordType). */
export type DnsType = Words<typeof DnsTypeEnum, 'DNS_TYPE_'>;

export class VocabularyError extends Error {
  constructor(
    readonly set: string,
    readonly value: unknown,
  ) {
    super(`unknown ${set} ${JSON.stringify(value)}`);
    this.name = 'VocabularyError';
  }
}

/** A closed set: its words in proto order, and the mapping to and from the proto enum names. */
export interface Vocabulary<W extends string, P extends string = string> {
  readonly name: string;
  readonly words: readonly W[];
  /** Index of a word in `words`, used for compact storage (typed arrays). */
  index(word: W): number;
  isWord(value: unknown): value is W;
  /** Parses a user-supplied word; throws VocabularyError naming the set. */
  parse(value: unknown): W;
  fromProto(value: string | number): W;
  /** Like fromProto, but undefined for a value outside the set. */
  lookupProto(value: string | number): W | undefined;
  toProto(word: W): P;
}

function vocabulary<W extends string, P extends string>(name: string, enumObject: Record<P, string>, prefix: string): Vocabulary<W, P> {
  const protoNames = (Object.keys(enumObject) as P[]).filter((k) => k !== `${prefix}UNSPECIFIED`);
  const words = protoNames.map((k) => k.slice(prefix.length).toLowerCase() as W);
  const byProto = new Map<string | number, W>();
  // proto-loader hands enums over as names (enums: String), but a peer that
  // encodes numbers is handled too: numbers follow declaration order.
  protoNames.forEach((p, i) => {
    byProto.set(p, words[i]!);
    byProto.set(i + 1, words[i]!);
  });
  const indexOf = new Map<string, number>(words.map((w, i) => [w, i]));
  const toProto = new Map<string, P>(words.map((w, i) => [w, protoNames[i]!]));
  return Object.freeze({
    name,
    words: Object.freeze(words),
    index(word: W): number {
      const i = indexOf.get(word);
      if (i === undefined) throw new VocabularyError(name, word);
      return i;
    },
    isWord(value: unknown): value is W {
      return typeof value === 'string' && indexOf.has(value);
    },
    parse(value: unknown): W {
      if (typeof value === 'string' && indexOf.has(value)) return value as W;
      throw new VocabularyError(name, value);
    },
    lookupProto(value: string | number): W | undefined {
      return byProto.get(value);
    },
    fromProto(value: string | number): W {
      const w = byProto.get(value);
      if (w === undefined) throw new VocabularyError(name, value);
      return w;
    },
    toProto(word: W): P {
      const p = toProto.get(word);
      if (p === undefined) throw new VocabularyError(name, word);
      return p;
    },
  });
}

export const probeKinds = vocabulary<ProbeKind, keyof typeof ProbeKindEnum>('probe kind', ProbeKindEnum, 'PROBE_KIND_');
export const outcomes = vocabulary<Outcome, keyof typeof OutcomeEnum>('outcome', OutcomeEnum, 'OUTCOME_');
export const capabilities = vocabulary<Capability, keyof typeof CapabilityEnum>('capability', CapabilityEnum, 'CAPABILITY_');
export const addressFamilies = vocabulary<AddressFamily, keyof typeof AddressFamilyEnum>('address family', AddressFamilyEnum, 'ADDRESS_FAMILY_');
export const dnsRoles = vocabulary<DnsRole, keyof typeof DnsRoleEnum>('DNS server role', DnsRoleEnum, 'DNS_ROLE_');
export const dnsTypes = vocabulary<DnsType, keyof typeof DnsTypeEnum>('DNS record type', DnsTypeEnum, 'DNS_TYPE_');

/** 'a' → 'A', as DNS tools print record types. */
export function dnsRecordType(t: DnsType): 'A' | 'AAAA' {
  return t === 'a' ? 'A' : 'AAAA';
}

/** Kinds probed between two nodes: each makes one cell of the connectivity matrix per pair and family. */
export const PAIR_KINDS = ['icmp', 'tcp', 'http', 'mtu', 'node'] as const satisfies readonly ProbeKind[];
export type PairKind = (typeof PAIR_KINDS)[number];
export function isPairKind(value: unknown): value is PairKind {
  return typeof value === 'string' && (PAIR_KINDS as readonly string[]).includes(value);
}

/** Matrix cell status. Not a wire enum: only the aggregator computes it. */
export const STATUSES = ['ok', 'degraded', 'failing', 'unknown'] as const;
export type Status = (typeof STATUSES)[number];

/** Finding kinds (alert names): docs/findings.md. */
export const FINDING_KINDS = [
  'NodeUnreachable',
  'NodeIsolated',
  'PairUnreachable',
  'ZonePartition',
  'PodNetworkUnreachable',
  'ProbeKindFailing',
  'PacketLoss',
  'HighLatency',
  'MtuBlackhole',
  'DnsFailing',
  'DnsReplicaUnhealthy',
  'DnsLatencyHigh',
  'CniConfigDrift',
  'CniPluginVersionSkew',
  'PodCidrOverlap',
  'IpPoolNearExhaustion',
  'AgentMissing',
  'AgentStale',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];
