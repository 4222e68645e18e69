// What the notifier hands the sender, and when: firing findings at once and
// every resend interval, resolved ones once, forgotten ones never again.
import t from 'tap';
import type { Alert } from '../../../aggregator/alerts/alertmanager.js';
import { Notifier } from '../../../aggregator/alerts/notifier.js';
import type { Finding } from '../../../aggregator/findings/finding.js';

const RESEND = 60_000;
const T0 = Date.parse('2026-11-25T09:10:00.000Z');

function recorder(): { enqueue(a: readonly Alert[]): void; batches: Alert[][]; take(): Alert[] } {
  const batches: Alert[][] = [];
  return {
    batches,
    enqueue: (a) => void batches.push([...a]),
    take: () => batches.splice(0).flat(),
  };
}

function finding(node: string, over: Partial<Finding> = {}): Finding {
  return {
    id: `id-${node}`,
    kind: 'NodeUnreachable',
    severity: 'critical',
    state: 'firing',
    labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: 'default', node },
    summary: `${node} is unreachable from 3 of 3 nodes`,
    description: `tcp refused from 3/3 probers`,
    runbookUrl: 'https://example.com/docs/runbooks/NodeUnreachable.md',
    since: T0 - 10_000,
    firingSince: T0,
    resolvedAt: null,
    ...over,
  };
}

function setup(externalUrl = 'http://aggregator.example:8080') {
  const sender = recorder();
  return { sender, n: new Notifier({ sender, resendMs: RESEND, externalUrl }) };
}

t.test('a firing finding becomes an alert with endsAt four resends ahead', async (t) => {
  const { sender, n } = setup();
  n.update([finding('node-d')], [], T0);
  t.same(sender.take(), [
    {
      labels: { alertname: 'NodeUnreachable', severity: 'critical', cluster: 'default', node: 'node-d' },
      annotations: {
        summary: 'node-d is unreachable from 3 of 3 nodes',
        description: 'tcp refused from 3/3 probers',
        runbook_url: 'https://example.com/docs/runbooks/NodeUnreachable.md',
      },
      startsAt: '2026-11-25T09:10:00.000Z',
      endsAt: '2026-11-25T09:14:00.000Z',
      generatorURL: 'http://aggregator.example:8080/api/v1/findings/id-node-d',
    },
  ]);
});

t.test('a firing finding is resent every resend interval, not every evaluation', async (t) => {
  const { sender, n } = setup();
  const f = finding('node-d');
  n.update([f], [], T0);
  t.equal(sender.take().length, 1);
  for (const dt of [5_000, 30_000, RESEND - 1]) {
    n.update([f], [], T0 + dt);
    t.same(sender.batches, [], `nothing at +${dt}ms`);
  }
  n.update([f], [], T0 + RESEND);
  const [again] = sender.take();
  t.equal(again?.endsAt, new Date(T0 + 5 * RESEND).toISOString(), 'endsAt moves with the resend');
  t.equal(again?.startsAt, new Date(T0).toISOString(), 'startsAt stays when it fired');
  n.update([f], [], T0 + RESEND + 5_000);
  t.same(sender.batches, [], 'the interval counts from the last send');
});

t.test('a new firing finding is sent at once, alongside the others not yet due', async (t) => {
  const { sender, n } = setup();
  n.update([finding('node-a')], [], T0);
  sender.take();
  n.update([finding('node-a'), finding('node-b')], [], T0 + 5_000);
  t.same(
    sender.take().map((a) => a.labels.node),
    ['node-b'],
  );
});

t.test('a resolved finding is sent once with endsAt when it resolved, then forgotten', async (t) => {
  const { sender, n } = setup();
  const f = finding('node-d');
  n.update([f], [], T0);
  sender.take();
  const resolvedAt = T0 + 20_000;
  n.update([], [finding('node-d', { state: 'resolved', resolvedAt })], T0 + 25_000);
  const [r] = sender.take();
  t.equal(r?.endsAt, new Date(resolvedAt).toISOString());
  t.equal(r?.startsAt, new Date(T0).toISOString());
  n.update([], [], T0 + 2 * RESEND);
  t.same(sender.batches, [], 'not sent again');
  // It fires again later: new to the notifier, so sent at once.
  n.update([finding('node-d', { firingSince: T0 + 3 * RESEND })], [], T0 + 3 * RESEND);
  t.equal(sender.take().length, 1, 'firing again is sent at once');
});

t.test('a resolved finding without firingSince starts at since', async (t) => {
  const { sender, n } = setup();
  n.update([], [finding('node-e', { state: 'resolved', firingSince: null, resolvedAt: T0 })], T0);
  const [r] = sender.take();
  t.equal(r?.startsAt, new Date(T0 - 10_000).toISOString());
  t.equal(r?.endsAt, new Date(T0).toISOString());
});

t.test('a finding gone from firing without resolving is forgotten, not sent', async (t) => {
  const { sender, n } = setup();
  n.update([finding('node-a')], [], T0);
  sender.take();
  n.update([], [], T0 + 5_000);
  t.same(sender.batches, [], 'no send for a vanished finding');
  n.update([finding('node-a')], [], T0 + 10_000);
  t.equal(sender.take().length, 1, 'back again: new to the notifier, sent at once');
});

t.test('generatorURL strips a trailing slash of the external URL', async (t) => {
  const { sender, n } = setup('https://netmatrix.example/prefix/');
  n.update([finding('node-a')], [], T0);
  t.equal(sender.take()[0]?.generatorURL, 'https://netmatrix.example/prefix/api/v1/findings/id-node-a');
});

t.test('nothing to send: the sender is not called', async (t) => {
  const { sender, n } = setup();
  n.update([], [], T0);
  t.same(sender.batches, []);
});

t.test('resendMs must be positive', async (t) => {
  t.throws(() => new Notifier({ sender: recorder(), resendMs: 0, externalUrl: 'http://x' }), /resendMs must be a positive number/);
});
