// The structural diff behind CniConfigDrift descriptions and GET /api/v1/cni/{node}.
import t from 'tap';
import { DIFF_LIMIT, diffJson, diffLines, formatDiffEntry, render } from '../../../aggregator/cni/diff.js';

const flannel = {
  cniVersion: '0.3.1',
  name: 'cbr0',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true }, mtu: 1450 },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

t.test('equal values have no differences', async (t) => {
  t.same(diffJson(flannel, structuredClone(flannel)), { entries: [], more: 0 });
  t.same(diffJson(null, null), { entries: [], more: 0 });
  t.same(diffJson([], []), { entries: [], more: 0 });
});

t.test('a changed scalar is named by its JSON path', async (t) => {
  const b = structuredClone(flannel);
  b.plugins[0]!.mtu = 1400;
  const d = diffJson(flannel, b);
  t.same(d.entries, [{ path: 'plugins[0].mtu', op: 'changed', before: 1450, after: 1400 }]);
  t.same(diffLines(d), ['plugins[0].mtu: 1450 → 1400']);
});

t.test('nested keys, added and removed', async (t) => {
  const b = structuredClone(flannel) as any;
  b.plugins[1].capabilities.portMappings = false;
  b.plugins[0].delegate.forceAddress = true;
  delete b.plugins[0].delegate.hairpinMode;
  const lines = diffLines(diffJson(flannel, b));
  t.same(lines, [
    'plugins[0].delegate.forceAddress added (true)',
    'plugins[0].delegate.hairpinMode removed (true)',
    'plugins[1].capabilities.portMappings: true → false',
  ]);
});

t.test('plugins are compared by index: one appended, one dropped', async (t) => {
  const more = structuredClone(flannel) as any;
  more.plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  t.same(diffLines(diffJson(flannel, more)), ['plugins[2] added (bandwidth)']);
  t.same(diffLines(diffJson(more, flannel)), ['plugins[2] removed (bandwidth)']);
  const e = diffJson(flannel, more).entries[0]!;
  t.equal(e.op, 'added');
  t.same(e.after, { type: 'bandwidth', capabilities: { bandwidth: true } });
  t.notOk('before' in e, 'an added entry has no before');
});

t.test('another plugin type at the same index is one line, not one per key', async (t) => {
  const b = structuredClone(flannel) as any;
  b.plugins[1] = { type: 'bandwidth', capabilities: { bandwidth: true } };
  const d = diffJson(flannel, b);
  t.equal(d.entries.length, 1);
  t.same(diffLines(d), ['plugins[1]: portmap plugin → bandwidth plugin']);
});

t.test('a value that changes shape, strings quoted, odd keys bracketed', async (t) => {
  t.same(diffLines(diffJson({ a: { x: 1 } }, { a: [1] })), ['a: {"x":1} → [1]']);
  t.same(diffLines(diffJson({ mode: 'vxlan' }, { mode: 'host-gw' })), ['mode: "vxlan" → "host-gw"']);
  t.same(diffLines(diffJson({ mtu: 1450 }, { mtu: '1450' })), ['mtu: 1450 → "1450"'], 'a number and a string are different');
  t.same(diffJson({ 'io.cni/x': 1 }, { 'io.cni/x': 2 }).entries[0]!.path, '["io.cni/x"]');
  t.same(diffJson({ a: { 'b-c': 1 } }, { a: { 'b-c': null } }).entries[0]!.path, 'a["b-c"]');
  t.same(diffLines(diffJson('x', 'y')), ['(whole config): "x" → "y"']);
});

t.test('long values are cut in lines but kept whole in entries', async (t) => {
  const long = 'x'.repeat(200);
  const d = diffJson({ k: 'a' }, { k: long });
  t.equal(d.entries[0]!.after, long);
  const line = formatDiffEntry(d.entries[0]!);
  t.ok(line.length < 100, line);
  t.ok(line.endsWith('…'));
  t.equal(render(undefined), 'undefined');
});

t.test('bounded: at most the limit, the rest counted', async (t) => {
  const a: Record<string, number> = {};
  const b: Record<string, number> = {};
  for (let i = 0; i < 120; i++) (a[`k${String(i).padStart(3, '0')}`] = i), (b[`k${String(i).padStart(3, '0')}`] = i + 1);
  const d = diffJson(a, b);
  t.equal(d.entries.length, DIFF_LIMIT);
  t.equal(d.more, 120 - DIFF_LIMIT);
  const lines = diffLines(d);
  t.equal(lines.length, DIFF_LIMIT + 1);
  t.equal(lines.at(-1), `… and ${120 - DIFF_LIMIT} more`);
  t.equal(lines[0], 'k000: 0 → 1');
  const short = diffLines(d, 3);
  t.equal(short.length, 4);
  t.equal(short[3], '… and 117 more');
  t.same(diffJson(a, b, 5).entries.length, 5);
});
