// The shared CNI assessor: the API's requests between two evaluations get the
// last assessment back instead of comparing every node again, and anything
// the assessment depends on (a snapshot, the node set, the API's pod CIDRs, a
// snapshot going stale) makes a new one.
import t from 'tap';
import { CniAssessor } from '../../../aggregator/cni/assessor.js';
import type { CniNodeInput } from '../../../aggregator/cni/assess.js';
import type { CniSnapshot } from '../../../common/cni.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const STALE = 60_000;

function snapshot(podCidr: string, mtu = 1450): CniSnapshot {
  const normalized = `{"cniVersion":"1.0.0","name":"pods","plugins":[{"mtu":${mtu},"type":"bridge"}]}`;
  return {
    takenAtMs: 1,
    full: true,
    files: [{ name: '10-pods.conflist', size: 100, sha256: 'e'.repeat(64), valid: true, error: null, cniVersion: '1.0.0', network: 'pods', plugins: ['bridge'], ipamType: 'host-local', ranges: [podCidr] }],
    effective: { file: '10-pods.conflist', network: 'pods', cniVersion: '1.0.0', plugins: ['bridge'], ipamType: 'host-local', normalized, hash: String(mtu).padEnd(64, '0'), perNode: {}, podCidrs: [podCidr] },
    binaries: [{ plugin: 'bridge', size: 10, sha256: 'b'.repeat(64), error: null }],
    pools: [],
    errors: [],
  };
}

const base = (): CniNodeInput[] => [
  { node: 'a', snapshot: snapshot('192.0.2.0/26'), receivedAt: NOW - 1_000 },
  { node: 'b', snapshot: snapshot('192.0.2.64/26'), receivedAt: NOW - 30_000 },
  { node: 'c', snapshot: null, receivedAt: null, kubePodCidrs: ['192.0.2.128/26'] },
];

t.test('the same inputs later: the same assessment, not a new one', async (t) => {
  const assessor = new CniAssessor({ poolThreshold: 0.9, serviceCidrs: [], externalCidrs: [], staleAfterMs: STALE });
  const first = assessor.assess(base(), NOW);
  // New objects with the same content, as the server builds them per call: still reused.
  const again = assessor.assess(base().map((n, i) => ({ ...n, snapshot: first.inputs[i]!.snapshot, ...(n.kubePodCidrs ? { kubePodCidrs: [...n.kubePodCidrs] } : {}) })), NOW + 5_000);
  t.equal(again.assessment, first.assessment, 'reused');
  t.equal(again.assessment.at, NOW, 'it says when it was made');
  t.same(assessor.stats, { computed: 1, reused: 1 });
});

t.test('a new snapshot, a node more, new pod CIDRs from the API, or a snapshot going stale: a new assessment', async (t) => {
  const assessor = new CniAssessor({ poolThreshold: 0.9, serviceCidrs: [], externalCidrs: [], staleAfterMs: STALE });
  const inputs = base();
  const first = assessor.assess(inputs, NOW).assessment;

  const drifted = inputs.map((n) => (n.node === 'b' ? { ...n, snapshot: snapshot('192.0.2.64/26', 1400), receivedAt: NOW + 1_000 } : n));
  const second = assessor.assess(drifted, NOW + 1_000).assessment;
  t.not(second, first);
  t.equal(second.nodes[1]!.state, 'split', 'the new snapshot is judged');

  const more = [...drifted, { node: 'd', snapshot: null, receivedAt: null }];
  const third = assessor.assess(more, NOW + 1_000).assessment;
  t.not(third, second);
  t.equal(third.nodes.length, 4);

  const moved = more.map((n) => (n.node === 'c' ? { ...n, kubePodCidrs: ['192.0.2.0/25'] } : n));
  const fourth = assessor.assess(moved, NOW + 1_000).assessment;
  t.not(fourth, third);
  t.same(fourth.conditions.filter((c) => c.kind === 'PodCidrOverlap').map((c) => c.subject.node), ['a', 'b', 'c'], "c's new range from the API overlaps a's and b's");

  t.equal(assessor.assess(moved, NOW - 1_000 + STALE).assessment, fourth, 'a at its last fresh moment: still the same');
  const later = assessor.assess(moved, NOW - 999 + STALE).assessment;
  t.not(later, fourth, 'a went stale');
  t.equal(later.nodes[0]!.state, 'stale');
  t.same(assessor.stats, { computed: 5, reused: 1 });
});
