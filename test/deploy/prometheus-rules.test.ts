// deploy/prometheus: the rules pass promtool's checks and unit tests, the
// PrometheusRule carries exactly the same groups, and every connectivity alert
// is a finding kind with its severity and a runbook that exists.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { FINDING_SPECS } from '../../aggregator/findings/kinds.js';
import { repoRoot } from '../helpers/child.js';
import { executable } from '../helpers/prometheus.js';

const PROMTOOL = process.env.NETMATRIX_TEST_PROMTOOL ?? '/usr/bin/promtool';
const RULES = 'deploy/prometheus/rules.yaml';
const RUNBOOK_BASE = 'https://github.com/netmatrix/netmatrix/blob/main/docs/runbooks/';

// Under CI=true a missing promtool fails the checks instead of skipping them.
const promtoolSkip = executable(PROMTOOL) || process.env.CI === 'true' ? false : `${PROMTOOL} not installed (Debian package prometheus)`;

function promtool(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { cwd: repoRoot, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Group {
  name: string;
  rules: Rule[];
}

const read = (path: string): unknown => parse(readFileSync(join(repoRoot, path), 'utf8'));
const groups = (read(RULES) as { groups: Group[] }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => typeof r.alert === 'string');

t.test('promtool check rules', { skip: promtoolSkip }, async (t) => {
  const r = await promtool(['check', 'rules', RULES]);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /SUCCESS: \d+ rules found/);
});

t.test('promtool test rules', { skip: promtoolSkip }, async (t) => {
  const r = await promtool(['test', 'rules', 'deploy/prometheus/rules.test.yaml']);
  t.equal(r.code, 0, r.out);
  t.match(r.out, /SUCCESS/);
});

t.test('the PrometheusRule has exactly the groups of rules.yaml', async (t) => {
  const pr = read('deploy/prometheus/prometheusrule.yaml') as {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: { groups: Group[] };
  };
  t.equal(pr.apiVersion, 'monitoring.coreos.com/v1');
  t.equal(pr.kind, 'PrometheusRule');
  t.equal(pr.metadata.name, 'netmatrix');
  t.equal(pr.metadata.namespace, 'netmatrix');
  t.equal(pr.metadata.labels['app.kubernetes.io/name'], 'netmatrix');
  t.same(pr.spec.groups, groups, 'regenerate spec.groups from rules.yaml (see deploy/prometheus/README.md)');
});

t.test('the ServiceMonitor scrapes the aggregator port http at /metrics', async (t) => {
  const sm = read('deploy/prometheus/servicemonitor.yaml') as { kind: string; spec: { endpoints: { port: string; path: string }[] } };
  t.equal(sm.kind, 'ServiceMonitor');
  t.same(sm.spec.endpoints.map((e) => [e.port, e.path]), [['http', '/metrics']]);
});

t.test('groups: recording rules first, then the alerts', async (t) => {
  t.same(groups.map((g) => g.name), ['netmatrix.rules', 'netmatrix.alerts']);
  t.ok(groups[0]!.rules.every((r) => r.record && !r.alert), 'netmatrix.rules only records');
  t.ok(groups[1]!.rules.every((r) => r.alert && !r.record), 'netmatrix.alerts only alerts');
});

t.test('every finding kind the aggregator raises has its alert', async (t) => {
  const names = new Set(alerts.map((a) => a.alert));
  for (const kind of Object.keys(FINDING_SPECS)) t.ok(names.has(kind), `alert ${kind}`);
  for (const extra of ['NetmatrixAggregatorDown', 'NetmatrixAlertmanagerSendFailing', 'NetmatrixPairSeriesCapped']) t.ok(names.has(extra), `alert ${extra}`);
});

t.test('every alert has for, severity, source, summary and description', async (t) => {
  for (const a of alerts) {
    t.match(a.for, /^\d+[smh]$/, `${a.alert}: for`);
    t.ok(['critical', 'warning', 'info'].includes(a.labels?.severity ?? ''), `${a.alert}: severity`);
    t.equal(a.labels?.source, 'prometheus', `${a.alert}: source`);
    t.ok(a.annotations?.summary, `${a.alert}: summary`);
    t.match(a.annotations?.description, /\{\{ .*\$(labels|value)/, `${a.alert}: description uses the alert's labels or value`);
  }
});

t.test('finding kinds: the severity of kinds.ts and a runbook that exists', async (t) => {
  for (const a of alerts) {
    const spec = (FINDING_SPECS as Record<string, { severity: string }>)[a.alert];
    if (!spec) continue;
    t.equal(a.labels?.severity, spec.severity, `${a.alert}: severity as in aggregator/findings/kinds.ts`);
    t.equal(a.annotations?.runbook_url, `${RUNBOOK_BASE}${a.alert}.md`, `${a.alert}: runbook_url`);
    t.ok(existsSync(join(repoRoot, 'docs', 'runbooks', `${a.alert}.md`)), `docs/runbooks/${a.alert}.md exists`);
  }
});
