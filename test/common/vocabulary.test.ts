// The closed vocabularies, checked against the proto enums they come from:
// every word both ways, by name and by number, and every value outside a set.
import t from 'tap';
import {
  addressFamilies,
  capabilities,
  FINDING_KINDS,
  isPairKind,
  outcomes,
  PAIR_KINDS,
  probeKinds,
  STATUSES,
  VocabularyError,
  type Vocabulary,
} from '../../common/vocabulary.js';
import { AddressFamily } from '../../proto/generated/netmatrix/v1/AddressFamily.js';
import { Capability } from '../../proto/generated/netmatrix/v1/Capability.js';
import { Outcome } from '../../proto/generated/netmatrix/v1/Outcome.js';
import { ProbeKind } from '../../proto/generated/netmatrix/v1/ProbeKind.js';

const sets: [Vocabulary<string>, Record<string, string>, string, string][] = [
  [probeKinds, ProbeKind, 'PROBE_KIND_', 'probe kind'],
  [outcomes, Outcome, 'OUTCOME_', 'outcome'],
  [capabilities, Capability, 'CAPABILITY_', 'capability'],
  [addressFamilies, AddressFamily, 'ADDRESS_FAMILY_', 'address family'],
];

t.test("the words are the closed vocabulary's (docs/architecture.md)", async (t) => {
  t.same(probeKinds.words, ['icmp', 'tcp', 'http', 'mtu', 'node', 'dns']);
  t.same(outcomes.words, ['ok', 'timeout', 'refused', 'unreachable', 'reset', 'mtu_exceeded', 'error', 'nxdomain', 'servfail', 'dns_refused', 'truncated', 'malformed']);
  t.same(capabilities.words, ['icmp', 'tcp', 'http', 'mtu', 'dns', 'cni']);
  t.same(addressFamilies.words, ['ipv4', 'ipv6']);
  t.same(STATUSES, ['ok', 'degraded', 'failing', 'unknown']);
  // The vocabulary's kinds that are raised, plus PodNetworkUnreachable (docs/findings.md says why it is its own kind).
  t.same(FINDING_KINDS, [
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
  ]);
  t.equal(new Set(FINDING_KINDS).size, FINDING_KINDS.length);
});

for (const [v, enumObject, prefix, name] of sets) {
  t.test(`${name}: derived from the proto enum`, async (t) => {
    const protoNames = Object.keys(enumObject).filter((k) => k !== `${prefix}UNSPECIFIED`);
    t.equal(v.name, name);
    t.same(v.words, protoNames.map((p) => p.slice(prefix.length).toLowerCase()), 'one word per enum value, in proto order, without UNSPECIFIED');
    t.ok(Object.isFrozen(v.words));
    t.ok(Object.isFrozen(v));
    v.words.forEach((w, i) => {
      t.equal(v.toProto(w), protoNames[i], `toProto(${w})`);
      t.equal(v.fromProto(protoNames[i]!), w, `fromProto(${protoNames[i]})`);
      t.equal(v.fromProto(i + 1), w, `fromProto(${i + 1})`);
      t.equal(v.lookupProto(protoNames[i]!), w);
      t.equal(v.lookupProto(i + 1), w);
      t.equal(v.fromProto(v.toProto(w)), w, 'round trip');
      t.equal(v.index(w), i);
      t.equal(v.parse(w), w);
      t.ok(v.isWord(w));
    });
  });

  t.test(`${name}: values outside the set are errors naming the set`, async (t) => {
    const unspecified = `${prefix}UNSPECIFIED`;
    for (const bad of [unspecified, 0, v.words.length + 1, -1, 1.5, `${prefix}BOGUS`, v.words[0]!, '']) {
      const err = t.throws(() => v.fromProto(bad)) as VocabularyError;
      t.type(err, VocabularyError, `fromProto(${JSON.stringify(bad)})`);
      t.equal(err.name, 'VocabularyError');
      t.equal(err.set, name);
      t.equal(err.value, bad);
      t.equal(err.message, `unknown ${name} ${JSON.stringify(bad)}`);
      t.equal(v.lookupProto(bad), undefined);
    }
    for (const bad of ['bogus', 'ICMP', v.toProto(v.words[0]!), ' ok', '', 1, null, undefined, {}]) {
      const err = t.throws(() => v.parse(bad)) as VocabularyError;
      t.type(err, VocabularyError);
      t.equal(err.set, name);
      t.match(err.message, new RegExp(`^unknown ${name} `));
      t.notOk(v.isWord(bad));
    }
    t.throws(() => v.toProto('bogus' as never), VocabularyError);
    t.throws(() => v.index('bogus' as never), VocabularyError);
  });
}

t.test('each set is its own: a word of one is not a word of another', async (t) => {
  t.equal(outcomes.parse('ok'), 'ok');
  t.equal((t.throws(() => probeKinds.parse('ok')) as VocabularyError).set, 'probe kind');
  t.equal(probeKinds.toProto('dns'), 'PROBE_KIND_DNS');
  t.equal(capabilities.toProto('cni'), 'CAPABILITY_CNI');
  t.equal(outcomes.fromProto('OUTCOME_MTU_EXCEEDED'), 'mtu_exceeded');
  t.equal(outcomes.fromProto(12), 'malformed');
  t.equal(addressFamilies.fromProto(2), 'ipv6');
});

t.test('PAIR_KINDS are probe kinds: all but dns', async (t) => {
  for (const k of PAIR_KINDS) t.ok(probeKinds.isWord(k), k);
  t.same([...PAIR_KINDS], probeKinds.words.filter((k) => k !== 'dns'));
  t.ok(isPairKind('icmp'));
  t.ok(isPairKind('node'));
  t.notOk(isPairKind('dns'));
  t.notOk(isPairKind('ICMP'));
  t.notOk(isPairKind(1));
  t.notOk(isPairKind(undefined));
});
