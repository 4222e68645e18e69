// Alerting benchmark: how long a real fault takes to become an alert in a real
// Alertmanager, and to leave it, at the default probe interval (5 s), timeout
// (1 s), firing delay (--finding-for) and clearing delay (--finding-clear-for,
// both 2 × interval). A 5-node namespace lab runs the built aggregator and agents
// with their defaults plus --alertmanager-urls; Alertmanager (the Debian binary)
// runs in the aggregator's namespace. For a `drop` between two nodes and a cut
// cable, repeated, it injects the fault from a fresh aggregator and an all-ok
// matrix and polls, every 100 ms and each on its own, Alertmanager's
// GET /api/v2/alerts, the aggregator's GET /api/v1/findings?state=all and its
// matrix, until every expected alert is active; then clears the fault and polls
// until none is. The matrix gives the reference (the detection time, as in
// detection.ts) and the findings API splits the rest: fault → failing in the
// matrix → finding firing in the aggregator → alert in Alertmanager.
// Target: in Alertmanager within two intervals plus the firing
// delay; resolved as quickly (two intervals plus the clearing delay).
import { Agent } from 'node:http';
import { createLab, type Lab } from '../test/e2e/lab/lab.js';
import { getVia } from '../test/e2e/lab/forwarded-http.js';
import { alertmanagerAvailable, alertmanagerBinary, startAlertmanager, type AmAlert, type RunningAlertmanager } from '../test/helpers/alertmanager.js';
import { CUT_4, DROP_1_2, type FaultCase, randomPhase } from './fault-cases.js';
import { assertBuilt, buildStamp, LabCluster, type Matrix } from './lab-cluster.js';
import { max, median, seconds } from './proc-stats.js';

// The aggregator's defaults: not passed to it, only used here to phase the faults and judge.
const INTERVAL_MS = 5_000;
const TIMEOUT_MS = 1_000;
const WINDOW_MS = 60_000;
const FOR_MS = 2 * INTERVAL_MS;
const CLEAR_FOR_MS = 2 * INTERVAL_MS;
/** The target: two intervals plus the firing delay; resolved as quickly (plus the clearing delay). */
const FIRE_TARGET_MS = 2 * INTERVAL_MS + FOR_MS;
const CLEAR_TARGET_MS = 2 * INTERVAL_MS + CLEAR_FOR_MS;
/** The matrix's own target (detection.ts): one interval plus one timeout. */
const DETECT_TARGET_MS = INTERVAL_MS + TIMEOUT_MS;
const REPEATS = Number(process.env.BENCH_ALERTING_REPEATS ?? 3);
const POLL_MS = 100;
const AM_PORT = 9093;
/** Longest wait for the alerts to arrive (to leave); a run not seen by then counts as missed and goes on. */
const FIRE_LIMIT_MS = 3 * FIRE_TARGET_MS;
const CLEAR_LIMIT_MS = 3 * CLEAR_TARGET_MS;
/**
 * Longest wait, after the alerts left, for a quiet lab (matrix all ok, no finding, no alert): the
 * fault's failed probes may count until they leave the window, and whatever they raised must clear.
 */
const SETTLE_LIMIT_MS = WINDOW_MS + 4 * INTERVAL_MS + CLEAR_FOR_MS;
/** Longest wait for a restarted aggregator to read all ok with no finding. */
const FRESH_LIMIT_MS = 60_000;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;

interface AlertCase extends FaultCase {
  /** The alerts (and findings) it must raise: alertname plus the labels that place it. */
  readonly expected: readonly Record<string, string>[];
}

const CASES: readonly AlertCase[] = [
  {
    ...DROP_1_2,
    expected: [
      { alertname: 'PairUnreachable', src: 'node-1', dst: 'node-2' },
      { alertname: 'PairUnreachable', src: 'node-2', dst: 'node-1' },
    ],
  },
  { ...CUT_4, expected: [{ alertname: 'NodeUnreachable', node: 'node-4' }] },
];

interface ApiFinding {
  readonly id: string;
  readonly kind: string;
  readonly state: 'pending' | 'firing';
  readonly labels: Record<string, string>;
  readonly since: string;
  readonly firingSince: string | null;
}

/** The latest answer of each source; undefined until it answered (or after it failed). */
interface Snapshot {
  am?: AmAlert[];
  findings?: ApiFinding[];
  matrices?: Matrix[];
}

const PLACE_LABELS = ['node', 'src', 'dst', 'src_zone', 'dst_zone'];
const brief = (labels: Record<string, string>) => `${labels.alertname}{${PLACE_LABELS.filter((k) => labels[k]).map((k) => `${k}=${labels[k]}`).join(',')}}`;
const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels[k] === v);
const isExpected = (c: AlertCase, labels: Record<string, string>) => c.expected.some((w) => matches(labels, w));
const activeAlerts = (s: Snapshot) => (s.am ?? []).filter((a) => a.status.state === 'active');

/** Every affected cell of every kind satisfies `cond` (false while any matrix is missing). */
function cellsAll(s: Snapshot, nodes: number, which: (src: string, dst: string) => boolean, cond: (status: string) => boolean): boolean {
  if (!s.matrices || s.matrices.length !== KINDS.length) return false;
  return s.matrices.every((m) => {
    if (m.nodes.length !== nodes) return false;
    const cells = m.cells.flatMap((row, i) => row.map((c, j) => ({ s: m.nodes[i]!, d: m.nodes[j]!, c }))).filter((x) => x.s !== x.d && which(x.s, x.d));
    return cells.length > 0 && cells.every((x) => x.c !== null && cond(x.c.status));
  });
}

type Milestones<K extends string> = Record<K, (s: Snapshot) => boolean>;

/** What one observation saw that nobody asked for, with the first time (ms from its t0). */
type Extras = Map<string, number>;

/** Polls Alertmanager, the findings and the matrices, each every POLL_MS on its own. */
class Observer {
  constructor(
    private readonly cluster: LabCluster,
    private readonly am: RunningAlertmanager,
  ) {}

  /**
   * From t0 until every milestone has held once (or limitMs): the ms from t0 at which each first held
   * (NaN: not within the limit), judged on every answer of any source as it arrives. Alerts and
   * findings that `unexpected` flags are noted in `extras` with their first time.
   */
  async watch<K extends string>(t0: number, milestones: Milestones<K>, limitMs: number, unexpected?: { c: AlertCase; alerts: Extras; findings: Extras; baseline: Set<string> }): Promise<Record<K, number>> {
    const names = Object.keys(milestones) as K[];
    const first = new Map<K, number>();
    const snap: Snapshot = {};
    const done = () => names.every((n) => first.has(n));
    const check = () => {
      const at = Date.now() - t0;
      for (const n of names) if (!first.has(n) && milestones[n](snap)) first.set(n, at);
      if (unexpected) {
        for (const a of activeAlerts(snap)) {
          const b = brief(a.labels);
          if (!isExpected(unexpected.c, a.labels) && !unexpected.baseline.has(b) && !unexpected.alerts.has(b)) unexpected.alerts.set(b, at);
        }
        for (const f of snap.findings ?? []) {
          const b = `${brief(f.labels)} ${f.state}`;
          if (!isExpected(unexpected.c, f.labels) && !unexpected.findings.has(b)) unexpected.findings.set(b, at);
        }
      }
    };
    const loop = async (fetch: () => Promise<void>) => {
      let tick = Date.now();
      while (!done() && Date.now() - t0 < limitMs) {
        await fetch();
        check();
        tick += POLL_MS;
        await new Promise((r) => setTimeout(r, Math.max(0, tick - Date.now())));
      }
    };
    check();
    await Promise.all([
      loop(async () => {
        snap.am = await this.am.alerts().catch(() => undefined);
      }),
      loop(async () => {
        snap.findings = await this.cluster
          .get<{ findings: ApiFinding[] }>('/api/v1/findings?state=all', 2_000)
          .then((r) => r.findings)
          .catch(() => undefined);
      }),
      loop(async () => {
        const ms = await Promise.all(KINDS.map((k) => this.cluster.matrix(k).catch(() => undefined)));
        snap.matrices = ms.every((m) => m !== undefined) ? (ms as Matrix[]) : undefined;
      }),
    ]);
    return Object.fromEntries(names.map((n) => [n, first.get(n) ?? NaN])) as Record<K, number>;
  }
}

interface Run {
  // From the start of the fault command.
  readonly detect: number;
  readonly pending: number;
  readonly firing: number;
  readonly alert: number;
  /** firingSince − since of the expected findings as the aggregator stamped them (its firing delay held), max over them. */
  readonly heldMs: number;
  // From the start of the clear command.
  readonly notFailing: number;
  readonly resolved: number;
  readonly gone: number;
  readonly settled: number;
  readonly commandMs: number[];
  /** Unexpected alerts in Alertmanager and unexpected findings in the aggregator, with when (fault/clear phase). */
  readonly extraAlerts: string[];
  readonly extraFindings: string[];
  /** Alertmanager had to be restarted before this run (alerts left from the run before). */
  readonly amRestarted: boolean;
}

export async function alertingBenchmark(): Promise<void> {
  assertBuilt();
  if (!alertmanagerAvailable) throw new Error(`${alertmanagerBinary} is not installed (apt-get install prometheus-alertmanager)`);
  const lab = await createLab({ nodes: 5 });
  const cluster = new LabCluster(lab);
  const amHttp = new Agent({ keepAlive: true, maxSockets: 4 });
  let amForward: { socketPath: string; close: () => void } | undefined;
  let am: RunningAlertmanager | undefined;
  try {
    // The forwarder connects per request, so it may exist before Alertmanager listens.
    amForward = await lab.forward(lab.aggregatorNs, lab.aggregatorIP, AM_PORT);
    const socket = amForward.socketPath;
    am = await startAlertmanager({
      listen: `${lab.aggregatorIP}:${AM_PORT}`,
      wrapper: ['ip', 'netns', 'exec', lab.aggregatorNs],
      get: (path) => getVia(socket, path, 2_000, amHttp),
    });
    const alertmanager = am;
    const flags = { 'alertmanager-urls': alertmanager.url }; // everything else at its default
    await cluster.startAggregator(flags);
    for (const n of lab.nodes) cluster.startAgent(n.name);
    const obs = new Observer(cluster, alertmanager);
    const nodes = lab.nodes.length;
    const quiet: Milestones<'quiet'> = {
      quiet: (s) => cellsAll(s, nodes, () => true, (st) => st === 'ok') && s.findings?.length === 0 && s.am !== undefined && activeAlerts(s).length === 0,
    };
    const start = await obs.watch(Date.now(), quiet, FRESH_LIMIT_MS);
    if (Number.isNaN(start.quiet)) throw new Error(`the lab never read all ok with no finding and no alert: ${cluster.tail('aggregator')}`);

    console.log(`alerting: 5-node lab, built aggregator and agents with their defaults (interval ${INTERVAL_MS / 1000} s, timeout ${TIMEOUT_MS / 1000} s, window ${WINDOW_MS / 1000} s, finding-for ${FOR_MS / 1000} s, finding-clear-for ${CLEAR_FOR_MS / 1000} s) sending to Alertmanager ${alertmanager.url} (${buildStamp()})`);
    console.log(`  ${REPEATS} runs per fault, each from a fresh aggregator, an all-ok matrix and no finding or alert, after a random wait of 0-${INTERVAL_MS / 1000} s (and again before the clear);`);
    console.log(`  Alertmanager's /api/v2/alerts, /api/v1/findings?state=all and the matrix (kinds ${KINDS.join(',')}) each polled every ${POLL_MS} ms through the forwarders;`);
    console.log(`  a time runs from the start of the fault (clear) command; target: in (out of) Alertmanager within 2 intervals + finding-for (clear-for) = ${FIRE_TARGET_MS / 1000} s (${CLEAR_TARGET_MS / 1000} s)`);
    let worst = 0;
    let first = true;
    for (const c of CASES) {
      const runs: Run[] = [];
      for (let i = 0; i < REPEATS; i++) {
        // Alerts left from the run before (its aggregator is gone and can't resolve them): Alertmanager keeps
        // them in memory only, so a restart forgets them.
        let amRestarted = false;
        const left = await alertmanager.alerts().catch(() => []);
        if (left.length > 0) {
          await alertmanager.restart();
          amRestarted = true;
        }
        if (!first) {
          await cluster.restartAggregator(flags);
          const fresh = await obs.watch(Date.now(), quiet, FRESH_LIMIT_MS);
          if (Number.isNaN(fresh.quiet)) throw new Error(`a restarted aggregator never read all ok with no finding and no alert within ${FRESH_LIMIT_MS / 1000} s: ${cluster.tail('aggregator')}`);
        }
        first = false;
        const baseline = new Set((await alertmanager.alerts().catch(() => [])).map((a) => brief(a.labels)));
        runs.push(await oneRun(c, lab, cluster, obs, baseline, amRestarted));
      }
      worst = Math.max(worst, ...runs.flatMap((r) => [r.alert, r.gone]).map((x) => (Number.isNaN(x) ? Infinity : x)));
      printCase(c, runs);
    }
    const target = Math.max(FIRE_TARGET_MS, CLEAR_TARGET_MS);
    console.log(`  worst of all (into or out of Alertmanager): ${seconds(worst)} = ${(worst / target).toFixed(2)} × target (2 intervals + finding-for, ${target / 1000} s): ${worst <= target ? 'met' : 'NOT met'}`);
  } finally {
    await cluster.stop().catch(() => {});
    await am?.stop().catch(() => {});
    amHttp.destroy();
    amForward?.close();
    await lab.down();
  }
}

async function oneRun(c: AlertCase, lab: Lab, cluster: LabCluster, obs: Observer, baseline: Set<string>, amRestarted: boolean): Promise<Run> {
  const nodes = lab.nodes.length;
  const fireAlerts: Extras = new Map();
  const fireFindings: Extras = new Map();
  const clearAlerts: Extras = new Map();
  const clearFindings: Extras = new Map();
  const expectedFindings = (s: Snapshot, state?: string) => s.findings !== undefined && c.expected.every((w) => s.findings!.some((f) => matches(f.labels, w) && (state === undefined || f.state === state)));
  const noExpectedFinding = (s: Snapshot) => s.findings !== undefined && !s.findings.some((f) => isExpected(c, f.labels));
  const expectedAlerts = (s: Snapshot) => s.am !== undefined && c.expected.every((w) => activeAlerts(s).some((a) => matches(a.labels, w)));
  const noExpectedAlert = (s: Snapshot) => s.am !== undefined && !activeAlerts(s).some((a) => isExpected(c, a.labels));
  let held = NaN;

  await randomPhase(INTERVAL_MS);
  const commandMs: number[] = [];
  let t0 = Date.now();
  await c.inject(lab);
  commandMs.push(Date.now() - t0);
  const fire = await obs.watch(
    t0,
    {
      detect: (s) => cellsAll(s, nodes, c.affected, (st) => st === 'failing'),
      pending: (s) => expectedFindings(s),
      firing: (s) => {
        if (!expectedFindings(s, 'firing')) return false;
        const fs = s.findings!.filter((f) => f.state === 'firing' && isExpected(c, f.labels));
        held = max(fs.map((f) => Date.parse(f.firingSince ?? '') - Date.parse(f.since)));
        return true;
      },
      alert: expectedAlerts,
    },
    FIRE_LIMIT_MS,
    { c, alerts: fireAlerts, findings: fireFindings, baseline },
  );

  await randomPhase(INTERVAL_MS);
  t0 = Date.now();
  await c.clear(lab);
  commandMs.push(Date.now() - t0);
  const clear = await obs.watch(
    t0,
    {
      notFailing: (s) => cellsAll(s, nodes, c.affected, (st) => st !== 'failing' && st !== 'unknown'),
      resolved: noExpectedFinding,
      gone: noExpectedAlert,
    },
    CLEAR_LIMIT_MS,
    { c, alerts: clearAlerts, findings: clearFindings, baseline },
  );
  // Until the lab is quiet again, still noting what it raises (the fault's failures leaving the window).
  const settle = await obs.watch(
    t0,
    { settled: (s) => cellsAll(s, nodes, () => true, (st) => st === 'ok') && s.findings?.length === 0 && s.am !== undefined && activeAlerts(s).length === 0 },
    CLEAR_LIMIT_MS + SETTLE_LIMIT_MS,
    { c, alerts: clearAlerts, findings: clearFindings, baseline },
  );
  const fmt = (m: Extras, phase: string) => [...m].map(([b, at]) => `${b} at ${phase}+${(at / 1000).toFixed(1)} s`);
  return {
    ...fire,
    heldMs: held,
    ...clear,
    settled: settle.settled,
    commandMs,
    extraAlerts: [...fmt(fireAlerts, 'fault'), ...fmt(clearAlerts, 'clear')],
    extraFindings: [...fmt(fireFindings, 'fault'), ...fmt(clearFindings, 'clear')],
    amRestarted,
  };
}

function printCase(c: AlertCase, runs: readonly Run[]): void {
  const line = (label: string, ms: number[], targetMs: number, limitMs: number, judged: boolean) => {
    const seen = ms.filter((x) => !Number.isNaN(x));
    const missed = ms.length - seen.length;
    const worst = missed > 0 ? Infinity : max(seen);
    const ratios = `${(median(seen) / targetMs).toFixed(2)} / ${(worst / targetMs).toFixed(2)} × ${targetMs / 1000} s`;
    const verdict = judged ? `  (${ratios}: ${worst <= targetMs ? 'met' : 'NOT met'})` : `  (${ratios}, not judged)`;
    const runsText = ms.map((x) => (Number.isNaN(x) ? `>${limitMs / 1000}` : (x / 1000).toFixed(2))).join(', ');
    return `    ${label.padEnd(34)} median ${seconds(median(seen))}, max ${missed > 0 ? `${missed} not within ${limitMs / 1000} s` : seconds(worst)}${verdict}   runs: ${runsText} s`;
  };
  /** Median of per-run differences (runs where both were seen). */
  const diff = (a: (r: Run) => number, b: (r: Run) => number) => {
    const d = median(runs.map((r) => a(r) - b(r)).filter((x) => !Number.isNaN(x)));
    return Math.abs(d) < 5 ? 0 : d; // no "-0.00 s": two pollers' times differ by up to one poll either way
  };
  console.log(`  ${c.name}: ${c.what}; expect ${c.expected.map((w) => brief(w)).join(' and ')}`);
  console.log(line('fault → matrix failing (reference)', runs.map((r) => r.detect), DETECT_TARGET_MS, FIRE_LIMIT_MS, true));
  console.log(line('fault → finding pending', runs.map((r) => r.pending), FIRE_TARGET_MS, FIRE_LIMIT_MS, false));
  console.log(line('fault → finding firing (aggregator)', runs.map((r) => r.firing), FIRE_TARGET_MS, FIRE_LIMIT_MS, true));
  console.log(line('fault → in Alertmanager', runs.map((r) => r.alert), FIRE_TARGET_MS, FIRE_LIMIT_MS, true));
  const ratio = median(runs.map((r) => r.alert / r.detect).filter((x) => !Number.isNaN(x)));
  console.log(
    `    alert − detection = ${seconds(diff((r) => r.alert, (r) => r.detect))} median = findings ${seconds(diff((r) => r.firing, (r) => r.detect))} (failing → firing; the aggregator stamped firing − since = ${seconds(median(runs.map((r) => r.heldMs).filter((x) => !Number.isNaN(x))))}, finding-for ${FOR_MS / 1000} s) + sending ${seconds(diff((r) => r.alert, (r) => r.firing))} (firing → Alertmanager; ± one poll, ${POLL_MS} ms); alert = ${ratio.toFixed(2)} × detection`,
  );
  console.log(line('clear → matrix not failing (ref.)', runs.map((r) => r.notFailing), DETECT_TARGET_MS, CLEAR_LIMIT_MS, false));
  console.log(line('clear → finding resolved', runs.map((r) => r.resolved), CLEAR_TARGET_MS, CLEAR_LIMIT_MS, true));
  console.log(line('clear → out of Alertmanager', runs.map((r) => r.gone), CLEAR_TARGET_MS, CLEAR_LIMIT_MS, true));
  console.log(
    `    out − not failing = ${seconds(diff((r) => r.gone, (r) => r.notFailing))} median = findings ${seconds(diff((r) => r.resolved, (r) => r.notFailing))} (clear-for ${CLEAR_FOR_MS / 1000} s) + sending ${seconds(diff((r) => r.gone, (r) => r.resolved))}`,
  );
  console.log(line('clear → lab quiet (all ok, nothing)', runs.map((r) => r.settled), CLEAR_TARGET_MS, CLEAR_LIMIT_MS + SETTLE_LIMIT_MS, false));
  runs.forEach((r, i) => {
    const a = r.extraAlerts.length > 0 ? r.extraAlerts.join(', ') : 'none';
    const f = r.extraFindings.length > 0 ? r.extraFindings.join(', ') : 'none';
    console.log(`    run ${i + 1}: extra alerts in Alertmanager: ${a}; extra findings in the aggregator: ${f}${r.amRestarted ? ' (Alertmanager restarted before it: alerts left over)' : ''}`);
  });
  console.log(`    fault and clear commands took ${median(runs.flatMap((r) => r.commandMs)).toFixed(0)} ms median (counted in the times)`);
}
