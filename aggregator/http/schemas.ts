// Response schemas of the HTTP API. They serialize the responses (fast) and
// document them in /docs/json.
import { Type } from 'typebox';
import { RAISED_KINDS } from '../findings/kinds.js';
import { SEVERITIES } from '../findings/finding.js';
import { PAIR_KINDS, STATUSES, outcomes, capabilities, addressFamilies, dnsRoles } from '../../common/vocabulary.js';

const literals = (words: readonly string[], options?: { description: string }) => Type.Union(words.map((w) => Type.Literal(w)), options);
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const IsoTime = Type.String({ format: 'date-time' });

export const PairKindSchema = literals(PAIR_KINDS);
export const FamilySchema = literals(addressFamilies.words);
export const StatusSchema = literals(STATUSES);
export const OutcomeSchema = literals(outcomes.words);

export const NodeSchema = Type.Object({
  name: Type.String(),
  zone: Type.String(),
  podIPs: Type.Array(Type.String()),
  nodeIPs: Type.Array(Type.String()),
  agent: Type.Object({
    connected: Type.Boolean(),
    connectedSince: nullable(IsoTime),
    lastReportAt: nullable(IsoTime),
    version: Type.String(),
    capabilities: Type.Array(literals(capabilities.words)),
    reports: Type.Integer(),
    results: Type.Integer(),
    loopDelayed: Type.Object(
      { latency: Type.Integer({ description: 'answers whose RTT was not judged' }), loss: Type.Integer({ description: 'timeouts not judged as loss' }) },
      { description: 'results the agent marked as taken while its event loop was held up (busy, or waiting for a CPU), since the aggregator started: not blamed on the network' },
    ),
  }),
  kubernetes: nullable(
    Type.Object(
      { ready: Type.Boolean(), unschedulable: Type.Boolean(), podCidrs: Type.Array(Type.String()), internalIPs: Type.Array(Type.String()), zone: Type.String() },
      { description: 'the Node object as the Kubernetes API reports it; null without the API' },
    ),
  ),
});

export const NodesResponse = Type.Object({ nodes: Type.Array(NodeSchema) });

export const NodeParams = Type.Object({ name: Type.String({ maxLength: 253 }) });

export const ForgetNodeResponse = Type.Object({
  node: Type.String(),
  forgottenAt: IsoTime,
  agent: Type.Object({ disconnectedAt: nullable(IsoTime), lastReportAt: nullable(IsoTime) }, { description: 'the node\'s agent when it was forgotten: gone since, last report' }),
  findings: Type.Array(
    Type.Object({ id: Type.String(), kind: literals(RAISED_KINDS), severity: literals(SEVERITIES), state: literals(['pending', 'firing']) }),
    { description: 'the findings about the node (labels node, src or dst) when it was forgotten: they resolve at the next evaluation, without --finding-clear-for' },
  ),
});

export const CellSchema = Type.Object({
  status: StatusSchema,
  lossRatio: nullable(Type.Number({ description: 'the loss the status was judged on: failed / results over the loss window (the current run of failures included)' })),
  lossSamples: Type.Integer({ description: 'results lossRatio covers' }),
  lossSpanSeconds: Type.Number({ description: 'the time those results span' }),
  windowSpanSeconds: Type.Number({ description: 'the time the status window (samples) spans' }),
  rttP50Ms: nullable(Type.Number()),
  rttP99Ms: nullable(Type.Number()),
  lastOutcome: nullable(OutcomeSchema),
  since: nullable(IsoTime),
  samples: Type.Integer(),
});

export const SummarySchema = Type.Object({
  ok: Type.Integer(),
  degraded: Type.Integer(),
  failing: Type.Integer(),
  unknown: Type.Integer(),
});

export const MatrixResponse = Type.Object({
  kind: PairKindSchema,
  family: FamilySchema,
  windowSeconds: Type.Number(),
  generatedAt: IsoTime,
  nodes: Type.Array(Type.String()),
  cells: Type.Array(Type.Array(nullable(CellSchema)), { description: 'cells[source][target], in the order of nodes; null on the diagonal' }),
  summary: SummarySchema,
});

/** A route without query parameters: any parameter is refused (INVALID_REQUEST naming it), not ignored. */
export const NoQuerystring = Type.Object({}, { additionalProperties: false });

const KindParam = Type.String({ description: `probe kind: ${PAIR_KINDS.join(', ')} (default: the first of icmp, tcp, http, node that --probe-kinds plans)` });
const FamilyParam = Type.String({ description: 'ipv4 or ipv6 (default: the family of the primary pod IPs)' });

export const MATRIX_FORMATS = ['full', 'compact'] as const;
export type MatrixFormat = (typeof MATRIX_FORMATS)[number];

export const MatrixQuerystring = Type.Object(
  {
    kind: Type.Optional(KindParam),
    family: Type.Optional(FamilyParam),
    format: Type.Optional(literals(MATRIX_FORMATS, { description: 'full (default): a cell object per pair; compact: a status letter per pair, cell objects for the pairs that are not ok' })),
  },
  { additionalProperties: false },
);

export const CompactMatrixResponse = Type.Object({
  kind: PairKindSchema,
  family: FamilySchema,
  format: Type.Literal('compact'),
  windowSeconds: Type.Number(),
  generatedAt: IsoTime,
  nodes: Type.Array(Type.String()),
  rows: Type.Array(Type.String({ pattern: '^[odfu-]*$' }), {
    description: 'rows[source] has one letter per target, in the order of nodes: o ok, d degraded, f failing, u unknown, - the node itself',
  }),
  details: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Record(Type.String({ pattern: '^[0-9]+$' }), CellSchema), {
    description: 'details[source index][target index]: the cell, as in the full form, for every cell that is not ok, except unknown cells without any data (no samples, no last outcome)',
  }),
  summary: SummarySchema,
});

export const ZonesQuerystring = Type.Object({ kind: Type.Optional(KindParam), family: Type.Optional(FamilyParam) }, { additionalProperties: false });

export const ZonesResponse = Type.Object({
  kind: PairKindSchema,
  family: FamilySchema,
  windowSeconds: Type.Number(),
  generatedAt: IsoTime,
  zones: Type.Array(Type.Object({ name: Type.String(), nodes: Type.Integer() }), { description: 'zones sorted by name, with their node count; "" for nodes without a zone' }),
  pairs: Type.Array(
    Type.Object({ srcZone: Type.String(), dstZone: Type.String(), pairs: Type.Integer({ description: 'node pairs from srcZone to dstZone' }), counts: SummarySchema }),
    { description: 'per ordered zone pair with at least one node pair (srcZone = dstZone: within the zone), the cells by status' },
  ),
});

export const PairParams = Type.Object({ src: Type.String(), dst: Type.String() });
export const PairQuerystring = Type.Object({ family: Type.Optional(FamilyParam) }, { additionalProperties: false });

export const SampleSchema = Type.Object({
  at: IsoTime,
  outcome: OutcomeSchema,
  rttMs: nullable(Type.Number()),
  loopDelayed: Type.Boolean({ description: 'the agent\'s event loop was held up while the probe was in flight: its RTT may include that and is not judged' }),
});

export const PairKindDetail = Type.Object({
  ...CellSchema.properties,
  reason: Type.String({ description: 'why the cell has its status' }),
  targetIp: nullable(Type.String()),
  lastAt: nullable(IsoTime),
  recent: Type.Array(SampleSchema, { description: 'samples in the window, oldest first' }),
});

export const PairResponse = Type.Object({
  src: Type.String(),
  dst: Type.String(),
  family: FamilySchema,
  windowSeconds: Type.Number(),
  generatedAt: IsoTime,
  kinds: Type.Object(Object.fromEntries(PAIR_KINDS.map((k) => [k, PairKindDetail])) as Record<string, typeof PairKindDetail>),
});

export const HealthResponse = Type.Object({ status: Type.String() });
export const ReadyResponse = Type.Object({ status: Type.String(), agentsConnected: Type.Integer(), nodes: Type.Integer() });

export const FindingSchema = Type.Object(
  {
    id: Type.String(),
    kind: literals(RAISED_KINDS),
    severity: literals(SEVERITIES),
    state: literals(['pending', 'firing', 'resolved']),
    labels: Type.Record(Type.String(), Type.String()),
    annotations: Type.Object({ summary: Type.String(), description: Type.String(), runbook_url: Type.String() }),
    summary: Type.String(),
    description: Type.String(),
    since: IsoTime,
    firingSince: nullable(IsoTime),
    resolvedAt: nullable(IsoTime),
  },
  { $id: 'Finding' },
);

export const FindingsQuerystring = Type.Object(
  {
    state: Type.Optional(literals(['firing', 'pending', 'all'])),
    kind: Type.Optional(literals(RAISED_KINDS)),
  },
  { additionalProperties: false },
);

export const FindingsResponse = Type.Object({
  evaluatedAt: nullable(IsoTime),
  findings: Type.Array(Type.Ref('Finding')),
});

export const FindingParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });

export const DnsRoleSchema = literals(dnsRoles.words);

export const DnsCellSchema = Type.Object({
  status: StatusSchema,
  reason: Type.String(),
  address: nullable(Type.String()),
  errorRatio: nullable(Type.Number()),
  errors: Type.Record(Type.String(), Type.Integer(), { description: 'failed queries in the window, by outcome' }),
  latencyP50Ms: nullable(Type.Number()),
  latencyP99Ms: nullable(Type.Number()),
  lastOutcome: nullable(OutcomeSchema),
  since: nullable(IsoTime),
  samples: Type.Integer(),
  nxCheck: nullable(Type.Object({ lastOutcome: OutcomeSchema, ok: Type.Boolean(), since: IsoTime }, { description: 'last query for a random name that must not exist; ok when NXDOMAIN' })),
  tcpCheck: nullable(Type.Object({ lastOutcome: OutcomeSchema, ok: Type.Boolean(), since: IsoTime }, { description: 'last TCP check (the first name asked over TCP); ok when it resolved; null with --dns-tcp-check off. Not part of status, which is UDP\'s' })),
});

export const DnsResponse = Type.Object({
  generatedAt: IsoTime,
  nodes: Type.Array(Type.String()),
  servers: Type.Array(Type.Object({ name: Type.String(), role: DnsRoleSchema, address: Type.String(), port: Type.Integer() })),
  cells: Type.Array(Type.Array(DnsCellSchema), { description: 'row = node, column = server' }),
  answers: Type.Array(
    Type.Object({
      name: Type.String(),
      type: literals(['A', 'AAAA']),
      servers: Type.Record(Type.String(), nullable(Type.Array(Type.String()))),
      consensus: nullable(Type.Array(Type.String())),
      divergent: Type.Array(Type.String()),
    }),
  ),
  resolvers: Type.Array(
    Type.Object({
      node: Type.String(),
      nameservers: Type.Array(Type.String()),
      search: Type.Array(Type.String()),
      ndots: Type.Integer(),
      timeoutSeconds: Type.Integer(),
      attempts: Type.Integer(),
      warnings: Type.Array(Type.String()),
      error: nullable(Type.String()),
      nameserverKnown: nullable(Type.Boolean()),
      lookups: Type.Array(Type.Object({ name: Type.String(), tried: Type.Array(Type.String()), queries: Type.Integer(), worstCaseSeconds: Type.Number() })),
    }),
  ),
});

const CniBinarySchema = Type.Object({ plugin: Type.String(), size: Type.Integer(), sha256: nullable(Type.String()), error: nullable(Type.String()) });
const CniPoolSchema = Type.Object({
  network: Type.String(),
  range: Type.String(),
  size: Type.Integer(),
  used: Type.Integer(),
  ratio: nullable(Type.Number()),
  nearExhaustion: Type.Boolean(),
});
const CniOwnerSchema = Type.Object({ kind: literals(['node', 'service', 'external']), node: nullable(Type.String()), cidr: Type.String() });

export const CniNodeSchema = Type.Object({
  node: Type.String(),
  state: literals(['unreported', 'stale', 'invalid', 'majority', 'drifted', 'split']),
  stale: Type.Boolean(),
  receivedAt: nullable(IsoTime),
  file: nullable(Type.String()),
  network: nullable(Type.String()),
  cniVersion: nullable(Type.String()),
  hash: nullable(Type.String()),
  plugins: Type.Array(Type.String()),
  ipamType: nullable(Type.String()),
  binaries: Type.Array(CniBinarySchema),
  pools: Type.Array(CniPoolSchema),
  podCidrs: Type.Array(Type.String(), { description: 'what the overlap check uses: a fresh snapshot\'s host-local ranges, else the Node\'s spec.podCIDRs' }),
  overlapCount: Type.Integer({ description: 'overlaps of this node\'s pod CIDRs, listed in `overlaps` or not' }),
  files: Type.Array(Type.Object({ name: Type.String(), valid: Type.Boolean(), error: nullable(Type.String()) })),
  invalidBeforeEffective: Type.Array(Type.String(), { description: 'invalid files that sort before the effective one: containerd stops at them (CniConfigDrift), CRI-O skips them' }),
  errors: Type.Array(Type.String()),
  group: nullable(Type.Integer()),
});

export const CniResponse = Type.Object({
  generatedAt: IsoTime,
  poolThreshold: Type.Number(),
  summary: Type.Object({
    nodes: Type.Integer(),
    reported: Type.Integer(),
    stale: Type.Integer(),
    invalid: Type.Integer(),
    compared: Type.Integer(),
    majorityHash: nullable(Type.String()),
    drifted: Type.Integer(),
    skewedPlugins: Type.Integer(),
    poolsNearExhaustion: Type.Integer(),
    overlaps: Type.Integer(),
  }),
  nodes: Type.Array(CniNodeSchema),
  groups: Type.Array(
    Type.Object({
      hash: Type.String(),
      nodes: Type.Array(Type.String()),
      majority: Type.Boolean(),
      network: Type.String(),
      cniVersion: Type.String(),
      plugins: Type.Array(Type.String()),
      files: Type.Array(Type.String()),
      comparedWith: nullable(Type.Integer()),
      differingKeys: Type.Array(Type.String()),
      moreDifferences: Type.Integer(),
    }),
    { description: 'nodes grouped by effective config hash, largest first; the strictly largest is the majority' },
  ),
  plugins: Type.Array(
    Type.Object({
      plugin: Type.String(),
      groups: Type.Array(Type.Object({ sha256: nullable(Type.String()), size: nullable(Type.Integer()), nodes: Type.Array(Type.String()) })),
      majoritySha256: nullable(Type.String()),
      skewed: Type.Boolean(),
    }),
  ),
  overlaps: Type.Array(Type.Object({ a: CniOwnerSchema, b: CniOwnerSchema, relation: literals(['equal', 'a-contains-b', 'b-contains-a']) })),
  overlapsDropped: Type.Integer(),
});

export const CniNodeParams = Type.Object({ node: Type.String({ maxLength: 253 }) });

export const CniNodeResponse = Type.Object({
  node: CniNodeSchema,
  files: Type.Array(
    Type.Object({
      name: Type.String(),
      size: Type.Integer(),
      sha256: nullable(Type.String()),
      valid: Type.Boolean(),
      error: nullable(Type.String()),
      cniVersion: nullable(Type.String()),
      network: nullable(Type.String()),
      plugins: Type.Array(Type.String()),
      ipamType: nullable(Type.String()),
      ranges: Type.Array(Type.String()),
    }),
  ),
  config: Type.Unknown({ description: 'the normalized effective config (per-node fields set aside), null without one' }),
  perNode: Type.Record(Type.String(), Type.String(), { description: 'the fields set aside before hashing, by JSON path, as JSON' }),
  reference: nullable(Type.Object({ group: Type.Integer(), hash: Type.String(), majority: Type.Boolean(), nodes: Type.Array(Type.String()), config: Type.Unknown() })),
  diff: Type.Array(Type.String(), { description: 'reference → this node, one line per difference' }),
  changes: Type.Array(Type.Object({ path: Type.String(), op: literals(['changed', 'added', 'removed']), before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) })),
  moreChanges: Type.Integer(),
});

export const NetworkPoliciesResponse = Type.Object({
  kubernetes: Type.Boolean({ description: 'whether the Kubernetes API is watched (without it the list is empty)' }),
  agentPods: Type.Object({ namespace: Type.String(), labels: Type.Record(Type.String(), Type.String()) }),
  policies: Type.Array(
    Type.Object({
      namespace: Type.String(),
      name: Type.String(),
      policyTypes: Type.Array(Type.String()),
      selectsAgents: Type.Boolean({ description: 'the policy selects the agent pods, so it restricts their probes' }),
      spec: Type.Unknown(),
    }),
  ),
});
