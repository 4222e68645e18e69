import t from 'tap';
import { addressFamilies, capabilities, outcomes, PAIR_KINDS, probeKinds, VocabularyError } from '../../common/vocabulary.js';

t.test('words come from the proto enums, in declaration order', (t) => {
  t.same(probeKinds.words, ['icmp', 'tcp', 'http', 'mtu', 'node', 'dns']);
  t.same(outcomes.words, ['ok', 'timeout', 'refused', 'unreachable', 'reset', 'mtu_exceeded', 'error', 'nxdomain', 'servfail', 'dns_refused', 'truncated', 'malformed']);
  t.same(addressFamilies.words, ['ipv4', 'ipv6']);
  t.same(capabilities.words, ['icmp', 'tcp', 'http', 'mtu', 'dns', 'cni']);
  t.ok(PAIR_KINDS.every((k) => probeKinds.isWord(k)), 'pair kinds are probe kinds');
  t.end();
});

t.test('mapping both ways; names and numbers', (t) => {
  t.equal(probeKinds.fromProto('PROBE_KIND_TCP'), 'tcp');
  t.equal(probeKinds.fromProto(2), 'tcp');
  t.equal(probeKinds.toProto('node'), 'PROBE_KIND_NODE');
  t.equal(outcomes.fromProto('OUTCOME_MTU_EXCEEDED'), 'mtu_exceeded');
  t.equal(outcomes.index('refused'), 2);
  t.equal(probeKinds.lookupProto('PROBE_KIND_NOPE'), undefined);
  t.end();
});

t.test('a word outside the set is an error naming the set', (t) => {
  t.throws(() => probeKinds.fromProto('PROBE_KIND_UNSPECIFIED'), new VocabularyError('probe kind', 'PROBE_KIND_UNSPECIFIED'));
  t.throws(() => probeKinds.fromProto(0), /unknown probe kind 0/);
  t.throws(() => outcomes.parse('lost'), /unknown outcome "lost"/);
  t.throws(() => outcomes.index('lost' as never), VocabularyError);
  t.equal(outcomes.parse('reset'), 'reset');
  t.end();
});
