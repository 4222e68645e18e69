// High availability: two real aggregators, started at different times, and real agents on loopback
// streaming to both (--aggregator A,B), both replicas sending to one real Alertmanager. The
// replicas must agree: the same plan (epoch included) to every agent, before and after the node
// set changes; the same finding ids, labels and states within one evaluation of each other after a
// fault (an agent stopped); and Alertmanager shows one alert per finding, though both send it.
// docs/architecture.md "High availability" says what is shared and what is replica-local.
import t from 'tap';
import type { RunningAgent } from '../../agent/agent.js';
import type { Evaluation } from '../../aggregator/findings/evaluator.js';
import type { Finding } from '../../aggregator/findings/finding.js';
import type { RunningAggregator } from '../../aggregator/server.js';
import { testAgent } from '../helpers/agent.js';
import { testAggregator } from '../helpers/aggregator.js';
import { alertmanagerSkip, freePort, startAlertmanager, type AmAlert, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { waitFor } from '../helpers/wait.js';

const INTERVAL = 500;
const CLUSTER = 'ha-test';
const NAMES = ['node-a', 'node-b', 'node-c', 'node-d'];
const podIP = (i: number) => `127.0.0.${141 + i}`;
const nodeIP = (i: number) => `127.0.1.${141 + i}`;

t.test('two replicas agree on plans, findings and alerts', { skip: alertmanagerSkip }, async (t) => {
  const am: RunningAlertmanager = await startAlertmanager();
  t.teardown(() => am.stop());
  const flags = {
    'probe-interval': `${INTERVAL}ms`,
    'probe-timeout': '250ms',
    'finding-for': '1s',
    'finding-clear-for': '1s',
    'agent-grace': '2s',
    'alertmanager-urls': am.url,
    'alert-resend': '2s',
    cluster: CLUSTER,
  };

  // Replica B's port is fixed now, so that the agents can list it before it runs.
  const portB = await freePort();
  const a: RunningAggregator = await testAggregator(flags);
  let b: RunningAggregator | undefined;
  const agents = new Map<string, RunningAgent>();
  t.teardown(async () => {
    for (const agent of agents.values()) await agent.stop();
    await b?.stop();
    await a.stop();
  });
  const replicas = `127.0.0.1:${a.grpcPort},127.0.0.1:${portB}`;
  const start = async (i: number): Promise<void> => {
    const name = NAMES[i] ?? `node-${String.fromCharCode(97 + i)}`;
    agents.set(name, await testAgent({ name, podIP: podIP(i), nodeIP: nodeIP(i), aggregator: replicas }));
  };
  for (let i = 0; i < NAMES.length; i++) await start(i);
  await waitFor('every agent on replica A', () => NAMES.every((n) => a.nodes.get(n)?.agent.connected === true), 10_000);

  // Replica B starts later: a different start time, a different history.
  await new Promise((r) => setTimeout(r, 1_500));
  b = await testAggregator(flags, undefined, portB);
  const both = [a, b] as const;

  /** Every agent has a plan from each replica, and they are the same (epoch included). */
  const plansAgree = async (what: string, nodes: number): Promise<number> => {
    await waitFor(what, () => [...agents.values()].every((agent) => {
      const plans = [...agent.reporter.plans().values()];
      return plans.length === 2 && plans.every((p) => p !== undefined && p.peers.length === nodes) && plans[0]!.epoch === plans[1]!.epoch;
    }), 15_000);
    let epoch = 0;
    for (const [name, agent] of agents) {
      const [fromA, fromB] = [...agent.reporter.plans().values()];
      t.same(fromA, fromB, `${name}: replica B sends what replica A sends`);
      t.equal(agent.reporter.plan?.epoch, fromA?.epoch, `${name} follows that epoch`);
      epoch = Number(fromA?.epoch);
    }
    return epoch;
  };
  const first = await plansAgree('both replicas to plan every agent alike', NAMES.length);
  t.ok(first > 0);

  // The node set changes: a fifth agent. Both replicas move to the same new epoch.
  await start(NAMES.length);
  const second = await plansAgree('the new plan from both replicas', NAMES.length + 1);
  t.not(second, first, 'a new epoch for the new node set');

  // Every replica's evaluations, from now on: what the engine holds after each.
  type Seen = { at: number; key: string; firing: Finding[]; all: Finding[] };
  const seen: [Seen[], Seen[]] = [[], []];
  for (const [i, agg] of both.entries()) {
    const off = agg.evaluator.onEvaluated((e: Evaluation) => {
      const all = [...e.firing, ...agg.findings.pending()];
      seen[i]!.push({ at: e.monotonicAt, key: findingsKey(all), firing: [...e.firing], all });
    });
    t.teardown(off);
  }
  await waitFor('the matrix on both replicas', () => both.every((agg) => agg.query.matrix('tcp', 'ipv4').nodes.length === 5), 10_000);
  await waitFor('no finding on either replica', () => seen.every((s) => s.length > 2 && s.at(-1)!.all.length === 0), 15_000);

  // The fault: node-d's agent stops (its streams to both replicas end at once).
  await agents.get('node-d')!.stop();
  agents.delete('node-d');
  const aboutD = (f: Finding) => f.labels['node'] === 'node-d' || f.labels['src'] === 'node-d' || f.labels['dst'] === 'node-d';
  await waitFor('a finding about node-d firing on both replicas', () => seen.every((s) => s.at(-1)?.firing.some(aboutD) === true), 30_000);

  // Within one evaluation: once one replica fires, the other's next evaluations (the second at the
  // latest, for a timer firing in the same millisecond as the change) show the same findings.
  const firstFiring = (s: Seen[]) => s.find((x) => x.firing.some(aboutD))!;
  const [fa, fb] = [firstFiring(seen[0]), firstFiring(seen[1])];
  const [lead, lag] = fa.at <= fb.at ? ([fa, 1] as const) : ([fb, 0] as const);
  const after = seen[lag].filter((x) => x.at >= lead.at).slice(0, 2);
  t.ok(after.some((x) => findingsKey(x.firing) === findingsKey(lead.firing)), `the other replica fires the same findings by its second evaluation after the first (${lead.firing.map((f) => f.kind).join(', ')})`);

  // And then they agree: the same ids, kinds, labels and states, evaluation after evaluation.
  await waitFor('both replicas settled', () => seen.every((s) => s.length > 3 && s.slice(-3).every((x) => x.key === s.at(-1)!.key)), 15_000);
  t.equal(seen[1].at(-1)!.key, seen[0].at(-1)!.key, 'the same findings on both replicas');
  const firing = seen[0].at(-1)!.firing;
  t.ok(firing.length > 0 && firing.every(aboutD), `findings about node-d only: ${firing.map((f) => `${f.kind}${JSON.stringify(f.labels)}`).join('; ')}`);
  for (const f of firing) t.notOk(/node-[a-e]-/.test(f.id), 'ids are label hashes');

  // Alertmanager: one alert per finding, with the finding's labels, from two senders.
  await waitFor('the alerts in Alertmanager', async () => (await am.alerts({ cluster: CLUSTER })).length >= firing.length, 15_000);
  await waitFor('both replicas delivered', async () => {
    for (const agg of both) {
      const text = (await agg.app.inject('/metrics')).body;
      const sent = [...text.matchAll(/^netmatrix_alerts_sent_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      if (sent < firing.length) return false;
    }
    return true;
  }, 15_000);
  const alerts: AmAlert[] = await am.alerts({ cluster: CLUSTER });
  t.equal(alerts.length, firing.length, `one alert per finding (${alerts.length})`);
  for (const f of firing) {
    const same = alerts.filter((x) => JSON.stringify(sorted(x.labels)) === JSON.stringify(sorted(f.labels)));
    t.equal(same.length, 1, `${f.kind} ${f.labels['node'] ?? ''}: one alert with its labels`);
    t.equal(same[0]?.status.state, 'active');
  }

  // node-d comes back: both replicas resolve the same findings, and Alertmanager hears it.
  await start(3);
  await waitFor('nothing about node-d on either replica', () => seen.every((s) => s.at(-1)?.all.some(aboutD) === false), 30_000);
  await waitFor('the alerts resolved in Alertmanager', async () => (await am.alerts({ cluster: CLUSTER })).every((x) => x.status.state !== 'active' || !aboutLabels(x.labels)), 15_000);
  await plansAgree('the plans after node-d came back', NAMES.length + 1);
});

/** A comparable text of findings: id, kind, state and labels, in id order. */
function findingsKey(fs: readonly Finding[]): string {
  return JSON.stringify(fs.map((f) => [f.id, f.kind, f.state, sorted(f.labels)]).sort((x, y) => (x[0]! < y[0]! ? -1 : 1)));
}

function sorted(labels: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(labels).sort(([x], [y]) => (x < y ? -1 : 1));
}

function aboutLabels(l: Readonly<Record<string, string>>): boolean {
  return l['node'] === 'node-d' || l['src'] === 'node-d' || l['dst'] === 'node-d';
}
