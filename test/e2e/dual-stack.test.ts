// netmatrix on a dual-stack lab (issue 16): every node has an IPv6 pod and
// node IP beside its IPv4 ones, the agents get both (POD_IP and NODE_IP as
// status.podIPs lists them) and listen on both. With both families healthy,
// the IPv4 and the IPv6 matrices are all ok; IPv6 blocked between two nodes
// (ip6tables, IPv4 untouched) fails exactly those IPv6 cells, in every kind
// the agents probe over IPv6, and nothing else; cleared, everything heals.
//
// Which kinds are probed over IPv6 is the agents' business (tcp and http
// today; icmp and node once ICMPv6 is there): the test reads it from the
// matrices, where a kind either has results in every cell of a family or in
// none (never probed over it), and holds it to that. tcp and http must be
// among the IPv6 kinds.
import t, { type Test } from 'tap';
import { run, assertLabRequirements } from './lab/command.js';
import { createLab, type Family } from './lab/lab.js';
import { fping, ping, tcpConnect, tcpListener } from './lab/reference-probes.js';
import { RootNamespaceGuard } from './lab/root-snapshot.js';
import { waitFor } from '../helpers/wait.js';
import { metricValue, Netmatrix } from './netmatrix.js';

const TEST_TOOLS = [
  { bin: 'ping', pkg: 'iputils-ping' },
  { bin: 'fping', pkg: 'fping' },
];
// No root or a missing tool (ip6tables among them) fails here with one line, CI or not: never a skip.
assertLabRequirements({ extra: TEST_TOOLS });

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
const KINDS = ['icmp', 'tcp', 'http', 'node'] as const;
type Kind = (typeof KINDS)[number];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
/** What the agents probe over IPv6 whatever else they do: the responder's TCP accept and GET /healthz. */
const IPV6_REQUIRED: readonly Kind[] = ['tcp', 'http'];
const LISTENER_PORT = 9499;

const guard = await RootNamespaceGuard.record();
const lab = await createLab({ nodes: 4, ipv6: true });
t.teardown(() => lab.down());
const [n1, n2, n3, n4] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];

t.test('the lab, with plain tools: IPv6 beside IPv4 on every node, closed, and an IPv6-only block', async (t) => {
  t.same(
    lab.nodes.map((n) => [n.name, n.podIPs, n.nodeIPs]),
    [
      ['node-1', ['198.18.0.11', 'fd00:198:18::11'], ['198.18.1.11', 'fd00:198:18:1::11']],
      ['node-2', ['198.18.0.12', 'fd00:198:18::12'], ['198.18.1.12', 'fd00:198:18:1::12']],
      ['node-3', ['198.18.0.13', 'fd00:198:18::13'], ['198.18.1.13', 'fd00:198:18:1::13']],
      ['node-4', ['198.18.0.14', 'fd00:198:18::14'], ['198.18.1.14', 'fd00:198:18:1::14']],
    ],
  );
  t.equal(lab.aggregatorIP6, 'fd00:198:18::3');
  t.same(lab.dnsReplicas.map((r) => r.ip6), ['fd00:198:18::2']);

  // Addresses usable at once (nodad: not tentative), and nothing but the lab's prefixes and link-local.
  const addrs = JSON.parse((await run(['ip', '-n', n1.ns, '-6', '-j', 'addr', 'show', 'dev', 'eth0'])).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number; tentative?: boolean; scope: string }> }>;
  const info = addrs[0]?.addr_info ?? [];
  t.same(info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`).sort(), ['fd00:198:18:1::11/64', 'fd00:198:18::11/64']);
  t.same(info.filter((a) => a.tentative), [], 'no tentative address (no duplicate address detection)');
  const sys = await lab.exec(n1.ns, ['sysctl', '-n', 'net.ipv6.icmp.ratelimit', 'net.ipv6.conf.eth0.disable_ipv6', 'net.ipv6.conf.eth0.accept_ra', 'net.ipv6.conf.eth0.accept_dad']);
  t.same(sys.stdout.trim().split('\n'), ['0', '0', '0', '0'], 'ICMPv6 not rate limited, IPv6 on, no RA, no DAD');
  for (const ns of lab.namespaces) {
    const v6 = await run(['ip', '-n', ns, '-6', 'route', 'show', 'table', 'all']);
    t.notMatch(v6.stdout, /^default/m, `${ns}: no IPv6 default route`);
    const offLab = v6.stdout
      .split('\n')
      .filter((l) => l.trim() && !/^(local|multicast) /.test(l))
      .filter((l) => !/^(fd00:198:18::\/64|fd00:198:18:1::\/64|fe80::\/64) dev eth0/.test(l));
    t.same(offLab, [], `${ns}: IPv6 routes only to the lab's subnets`);
  }
  const neigh = await run(['ip', '-n', n1.ns, '-6', 'neigh', 'show', 'nud', 'permanent']);
  for (const ip of [n2.podIP6, n2.nodeIP6, n4.podIP6, lab.dnsReplicas[0]?.ip6, lab.aggregatorIP6]) t.match(neigh.stdout, new RegExp(`^${ip} `, 'm'), `permanent neighbour ${ip}`);

  // Every node reaches every other on all four of its addresses (fping: 3 probes each, bounded).
  for (const src of lab.nodes) {
    for (const dst of lab.nodes.filter((d) => d !== src)) {
      for (const ip of [...dst.podIPs, ...dst.nodeIPs]) {
        const r = await fping(lab, src.ns, ip, { count: 3, periodMs: 20, timeoutMs: 500 });
        if (r.received !== 3) t.fail(`${src.name} -> ${ip}: ${r.output}`);
      }
    }
  }
  t.pass('every node pings every other on its IPv4 and IPv6 pod and node IPs');

  await tcpListener(lab, n2.ns, n2.podIP6!, LISTENER_PORT);
  await tcpListener(lab, n2.ns, n2.podIP, LISTENER_PORT);
  await lab.blockPair('node-1', 'node-2', 'drop', 'all', 'ipv6');
  t.same(await lab.faults(), [{ kind: 'block', mode: 'drop', src: 'node-1', dst: 'node-2', proto: 'all', family: 'ipv6' }]);
  const [p6, p6back, p6node, p4, c6, c4, p6other] = await Promise.all([
    ping(lab, n1.ns, n2.podIP6!, { count: 1, waitS: 1 }),
    ping(lab, n2.ns, n1.podIP6!, { count: 1, waitS: 1 }),
    ping(lab, n1.ns, n2.nodeIP6!, { count: 1, waitS: 1 }),
    ping(lab, n1.ns, n2.podIP, { count: 2 }),
    tcpConnect(lab, n1.ns, n2.podIP6!, LISTENER_PORT, 800),
    tcpConnect(lab, n1.ns, n2.podIP, LISTENER_PORT),
    ping(lab, n3.ns, n2.podIP6!, { count: 2 }),
  ]);
  t.equal(p6.received, 0, 'node-1 -> node-2 IPv6 ping lost');
  t.same(p6.errors, [], 'silently');
  t.equal(p6back.received, 0, 'node-2 -> node-1 IPv6 ping lost (both directions)');
  t.equal(p6node.received, 0, 'node-1 -> node-2 IPv6 node IP lost too');
  t.equal(c6.outcome, 'timeout', 'node-1 -> node-2 IPv6 TCP times out');
  t.equal(p4.received, 2, 'node-1 -> node-2 IPv4 ping fine');
  t.equal(c4.outcome, 'connected', 'node-1 -> node-2 IPv4 TCP fine');
  t.equal(p6other.received, 2, 'node-3 -> node-2 IPv6 fine');
  await lab.clear();
  t.same(await lab.faults(), []);
  t.equal((await ping(lab, n1.ns, n2.podIP6!, { count: 2 })).received, 2, 'cleared: IPv6 ping passes again');

  // Directional IPv6 faults give ICMPv6 errors, as the IPv4 ones give ICMP errors.
  await lab.blockPair('node-3', 'node-4', 'unreachable', 'all', 'ipv6');
  await tcpListener(lab, n4.ns, n4.podIP6!, LISTENER_PORT);
  await tcpListener(lab, n3.ns, n3.podIP6!, LISTENER_PORT);
  // TCP gets its EHOSTUNREACH with the first SYN retransmit (~1 s), not at once as in IPv4: the
  // ICMPv6 error comes back while connect() still holds the socket lock, and the kernel keeps it as a
  // soft error (TcpExtLockDroppedIcmps). Hence the 3 s deadline.
  const [u, uc, back] = await Promise.all([ping(lab, n3.ns, n4.podIP6!, { count: 1 }), tcpConnect(lab, n3.ns, n4.podIP6!, LISTENER_PORT, 3000), tcpConnect(lab, n4.ns, n3.podIP6!, LISTENER_PORT)]);
  t.equal(u.received, 0);
  t.match(u.errors.join(), /Address unreachable/, 'ICMPv6 address unreachable');
  t.equal(uc.outcome, 'EHOSTUNREACH', 'node-3 -> node-4 IPv6 TCP: EHOSTUNREACH');
  t.equal(back.outcome, 'connected', 'node-4 -> node-3 IPv6 TCP untouched');
  // clear(node) takes the IPv6 rules naming it from the other nodes too.
  await lab.clear('node-3');
  t.same(await lab.faults(), []);

  // Without a family, a block takes both (one fault); with 'ipv4', IPv4 alone (IPv6 passes).
  await lab.blockPair('node-1', 'node-3', 'drop');
  await lab.blockPair('node-2', 'node-4', 'drop', 'all', 'ipv4');
  t.same(
    (await lab.faults()).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    [
      { kind: 'block', mode: 'drop', src: 'node-1', dst: 'node-3', proto: 'all' },
      { kind: 'block', mode: 'drop', src: 'node-2', dst: 'node-4', proto: 'all', family: 'ipv4' },
    ],
  );
  const [b4, b6, i4, i6] = await Promise.all([
    ping(lab, n1.ns, n3.podIP, { count: 1, waitS: 1 }),
    ping(lab, n1.ns, n3.podIP6!, { count: 1, waitS: 1 }),
    ping(lab, n2.ns, n4.podIP, { count: 1, waitS: 1 }),
    ping(lab, n2.ns, n4.podIP6!, { count: 2 }),
  ]);
  t.same([b4.received, b6.received], [0, 0], 'node-1 -> node-3: both families lost');
  t.same([i4.received, i6.received], [0, 2], 'node-2 -> node-4: IPv4 lost, IPv6 passes');
  await lab.clear();
  t.same(await lab.faults(), []);
  for (const ns of [n1.ns, n2.ns, n3.ns, n4.ns]) {
    t.equal((await lab.exec(ns, ['ip6tables', '-S', 'NMLAB-IN'])).stdout.trim(), '-N NMLAB-IN', `${ns}: no IPv6 rule left`);
  }
});

// ---------------------------------------------------------------- netmatrix

const nm = new Netmatrix(lab, {
  aggregator: { 'probe-interval': `${INTERVAL_MS}ms`, 'probe-timeout': `${TIMEOUT_MS}ms`, window: '10s', 'probe-kinds': KINDS.join(',') },
});
t.teardown(() => nm.stop());

/** GET /api/v1/matrix?format=compact: a letter per cell (o ok, d degraded, f failing, u unknown, - diagonal). */
interface Compact {
  readonly kind: string;
  readonly family: Family;
  readonly nodes: string[];
  readonly rows: string[];
  readonly details: Record<string, Record<string, { status: string; lastOutcome: string | null; samples: number }>>;
}

type Cells = Map<string, { letter: string; lastOutcome: string | null; samples: number }>;
type Key = `${Kind}/${Family}`;
const key = (kind: Kind, family: Family): Key => `${kind}/${family}`;

/** Every kind × family matrix now, cells by `src>dst`. */
async function matrices(): Promise<Map<Key, Cells>> {
  const out = new Map<Key, Cells>();
  for (const kind of KINDS) {
    for (const family of FAMILIES) {
      const m = await nm.get<Compact>(`/api/v1/matrix?kind=${kind}&family=${family}&format=compact`);
      if (m.family !== family || m.kind !== kind) throw new Error(`asked for ${kind}/${family}, got ${m.kind}/${m.family}`);
      const cells: Cells = new Map();
      m.rows.forEach((row, s) =>
        [...row].forEach((letter, d) => {
          if (s === d) return;
          const detail = m.details[String(s)]?.[String(d)];
          cells.set(`${m.nodes[s]}>${m.nodes[d]}`, { letter, lastOutcome: detail?.lastOutcome ?? null, samples: detail?.samples ?? 0 });
        }),
      );
      if (cells.size !== lab.nodes.length * (lab.nodes.length - 1)) throw new Error(`${kind}/${family}: ${cells.size} cells, expected ${lab.nodes.length * (lab.nodes.length - 1)} (nodes ${m.nodes.join(', ')})`);
      out.set(key(kind, family), cells);
    }
  }
  return out;
}

/**
 * Whether a matrix has no results at all: a kind never probed over that family
 * (every cell unknown and without data, so the compact form gives no details).
 */
const empty = (cells: Cells) => [...cells.values()].every((c) => c.letter === 'u' && c.lastOutcome === null && c.samples === 0);

function describeCells(all: Map<Key, Cells>, keep: (k: Key) => boolean = () => true): string {
  const parts: string[] = [];
  for (const [k, cells] of all) {
    if (!keep(k)) continue;
    if (empty(cells)) {
      parts.push(`${k}: not probed`);
      continue;
    }
    const bad = [...cells].filter(([, c]) => c.letter !== 'o').map(([pair, c]) => `${pair}:${c.letter}/${c.lastOutcome}`);
    parts.push(`${k}: ${bad.length ? bad.join(' ') : 'all ok'}`);
  }
  return parts.join('; ');
}

/** Polls the matrices until `check` finds no problem; the error names the last problems and matrices. */
async function until(what: string, check: (all: Map<Key, Cells>) => string[], timeoutMs: number): Promise<{ ms: number; all: Map<Key, Cells> }> {
  const started = Date.now();
  let last: string[] = [];
  let seen = '';
  for (;;) {
    let all: Map<Key, Cells> | undefined;
    try {
      all = await matrices();
      last = check(all);
      seen = describeCells(all);
    } catch (e) {
      // Not every node in the matrix yet (agents still connecting).
      last = [(e as Error).message];
    }
    if (all && last.length === 0) return { ms: Date.now() - started, all };
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last.slice(0, 10).join('; ')}; matrices: ${seen}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** While `ms` pass, `check` keeps finding no problem (polled): one pass, or one fail naming them. */
async function holds(t: Test, what: string, check: (all: Map<Key, Cells>) => string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  let polls = 0;
  while (Date.now() < end) {
    const problems = check(await matrices());
    if (problems.length > 0) return void t.fail(`${what}: ${problems.slice(0, 10).join('; ')}`);
    polls++;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.pass(`${what} (${polls} polls over ${ms} ms)`);
}

/** The kind × family matrices the agents fill: every kind over IPv4, and over IPv6 those found probed (below). */
let planned: Key[] = [];
let unplanned: Key[] = [];

/**
 * Problems with the matrices against `want(kind, family, src, dst)` → the
 * status letter wanted: for the planned matrices, cells that differ; for the
 * others, any result at all (a kind is probed over a family for every pair or
 * for none).
 */
function against(want: (k: Key, src: string, dst: string) => 'o' | 'f'): (all: Map<Key, Cells>) => string[] {
  return (all) => {
    const problems: string[] = [];
    for (const k of planned) {
      for (const [pair, c] of all.get(k)!) {
        const [src = '', dst = ''] = pair.split('>');
        const w = want(k, src, dst);
        if (c.letter !== w) problems.push(`${k} ${pair}: ${c.letter}/${c.lastOutcome}, want ${w}`);
      }
    }
    for (const k of unplanned) if (!empty(all.get(k)!)) problems.push(`${k} has results now, though it had none when every probed cell was ok: ${describeCells(all, (x) => x === k)}`);
    return problems;
  };
}

const allOk = against(() => 'o');
const DETECT = INTERVAL_MS + TIMEOUT_MS + 3_000;
const HEAL = 2 * INTERVAL_MS + TIMEOUT_MS + 3_000;

t.test('netmatrix, both families healthy: every probed cell of the IPv4 and the IPv6 matrices ok', async (t) => {
  await nm.start();
  // First every kind over IPv4 and tcp, http over IPv6 all ok (each cell then has results)...
  const must = [...KINDS.map((k) => key(k, 'ipv4')), ...IPV6_REQUIRED.map((k) => key(k, 'ipv6'))];
  const first = await until(
    'every IPv4 cell, and every tcp and http IPv6 cell, ok',
    (all) => must.flatMap((k) => [...all.get(k)!].filter(([, c]) => c.letter !== 'o').map(([pair, c]) => `${k} ${pair}: ${c.letter}/${c.lastOutcome}`)),
    2 * INTERVAL_MS + 10_000,
  );
  t.pass(`all ok ${first.ms} ms after the agents started`);
  // ...then two more rounds on every agent, so a kind probed over IPv6 has had
  // its chance to report (the same rounds carry every kind, and the first of
  // them is evaluated before the second ends): an IPv6 matrix with any result
  // now is probed, one with none is not, and must stay so.
  const rounds = async (name: string) => metricValue(await nm.agentMetrics(name), 'netmatrix_agent_rounds_total') ?? 0;
  const before = new Map<string, number>();
  for (const n of lab.nodes) before.set(n.name, await rounds(n.name));
  for (const n of lab.nodes) await waitFor(`two more rounds on ${n.name}`, async () => (await rounds(n.name)) >= before.get(n.name)! + 2, 4 * INTERVAL_MS + 5_000, 100);
  const all = await matrices();
  planned = [...all].filter(([k, cells]) => must.includes(k) || !empty(cells)).map(([k]) => k);
  unplanned = [...all.keys()].filter((k) => !planned.includes(k));
  t.ok(unplanned.every((k) => k.endsWith('/ipv6')), `every kind is probed over IPv4 (not probed: ${unplanned.join(', ') || 'none'})`);
  t.comment(`IPv6 kinds probed: ${planned.filter((k) => k.endsWith('/ipv6')).map((k) => k.split('/')[0]).join(', ')}; not probed over IPv6: ${unplanned.map((k) => k.split('/')[0]).join(', ') || 'none'}`);
  const ms = (await until('every cell of every probed kind and family ok', allOk, 2 * INTERVAL_MS + 5_000)).ms;
  t.pass(`every probed matrix all ok (${planned.length} of them: ${planned.join(', ')}), ${ms} ms later`);
  await holds(t, 'they stay ok', allOk, 2 * INTERVAL_MS);
});

t.test('IPv6 dropped between node-1 and node-2 (both directions): exactly those IPv6 cells fail, in every IPv6 kind', async (t) => {
  if (planned.length === 0) return void t.fail('no probed matrix: the healthy phase failed');
  await lab.blockPair('node-1', 'node-2', 'drop', 'all', 'ipv6');
  const blocked = (k: Key, s: string, d: string) => k.endsWith('/ipv6') && ((s === 'node-1' && d === 'node-2') || (s === 'node-2' && d === 'node-1'));
  const want = against((k, s, d) => (blocked(k, s, d) ? 'f' : 'o'));
  const seen = await until('node-1 ⇄ node-2 failing over IPv6 only', want, DETECT);
  t.pass(`seen ${seen.ms} ms after the block`);
  const failing = planned.filter((k) => k.endsWith('/ipv6')).flatMap((k) => ['node-1>node-2', 'node-2>node-1'].map((p) => ({ k, p, c: seen.all.get(k)!.get(p)! })));
  t.ok(failing.length >= 2 * IPV6_REQUIRED.length, `${failing.length} failing cells (${failing.map((x) => `${x.k} ${x.p}`).join(', ')})`);
  t.same([...new Set(failing.map((x) => x.c.lastOutcome))], ['timeout'], 'each times out (dropped, no error)');
  await holds(t, 'exactly those cells fail, every IPv4 cell and every other IPv6 cell stays ok', want, 3 * INTERVAL_MS);
  // One pair in detail: its IPv6 samples hold the timeouts, its IPv4 samples none.
  type Pair = { kinds: Record<string, { status: string; recent: { outcome: string }[] }> };
  const v4 = await nm.get<Pair>('/api/v1/pairs/node-1/node-2?family=ipv4');
  const v6 = await nm.get<Pair>('/api/v1/pairs/node-1/node-2?family=ipv6');
  t.same([v6.kinds.tcp?.status, v4.kinds.tcp?.status], ['failing', 'ok'], 'node-1 → node-2: tcp failing over IPv6, ok over IPv4');
  t.ok(v6.kinds.tcp?.recent.some((x) => x.outcome === 'timeout'), 'its IPv6 tcp samples hold timeouts');
  t.same([...new Set(v4.kinds.tcp?.recent.map((x) => x.outcome))], ['ok'], 'its IPv4 tcp samples are all ok');
  await lab.clear();
  t.pass(`healed ${(await until('every probed cell ok again', allOk, HEAL)).ms} ms after the clear`);
});

// reject, not unreachable: an IPv6 TCP connect in the lab learns of an ICMPv6
// "address unreachable" only at its first SYN retransmit (see the lab test
// above), after the probes' 500 ms deadline, so tcp and http would read timeout.
t.test('IPv6 rejected from node-3 to node-4 (one direction): node-3 → node-4 fails over IPv6 with refused, node-4 → node-3 stays ok', async (t) => {
  if (planned.length === 0) return void t.fail('no probed matrix: the healthy phase failed');
  await lab.blockPair('node-3', 'node-4', 'reject', 'all', 'ipv6');
  const blocked = (k: Key, s: string, d: string) => k.endsWith('/ipv6') && s === 'node-3' && d === 'node-4';
  const want = against((k, s, d) => (blocked(k, s, d) ? 'f' : 'o'));
  const seen = await until('node-3 → node-4 failing over IPv6 only', want, DETECT);
  const outcomes = planned.filter((k) => k.endsWith('/ipv6')).map((k) => `${k}:${seen.all.get(k)!.get('node-3>node-4')!.lastOutcome}`);
  t.same(outcomes.filter((o) => !o.endsWith(':refused')), [], `every IPv6 kind says refused (${outcomes.join(', ')})`);
  await holds(t, 'only node-3 → node-4 over IPv6 fails', want, 2 * INTERVAL_MS);
  await lab.clear();
  t.pass(`healed ${(await until('every probed cell ok again', allOk, HEAL)).ms} ms after the clear`);
});

t.test('the pair API gives each family its own target and cells', async (t) => {
  type Pair = { family: string; kinds: Record<string, { targetIp: string | null; status: string; recent: { outcome: string }[] }> };
  const v4 = await nm.get<Pair>('/api/v1/pairs/node-1/node-2?family=ipv4');
  const v6 = await nm.get<Pair>('/api/v1/pairs/node-1/node-2?family=ipv6');
  t.same([v4.family, v6.family], ['ipv4', 'ipv6']);
  t.same([v4.kinds.tcp?.targetIp, v4.kinds.node?.targetIp], [n2.podIP, n2.nodeIP], 'IPv4 targets');
  t.same([v6.kinds.tcp?.targetIp, v6.kinds.node?.targetIp], [n2.podIP6, n2.nodeIP6], 'IPv6 targets: the node said Hello with both families');
  t.same([v6.kinds.tcp?.status, v6.kinds.http?.status], ['ok', 'ok']);
});

t.test('agents and aggregator logged no error', async (t) => {
  t.same(nm.logs.filter((l) => /"level":(50|60)/.test(l)), []);
});

t.test('torn down: no namespace, process or rule left, the root namespace as it was', async (t) => {
  await nm.stop();
  const prefix = lab.prefix;
  await lab.down();
  const left = (await run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`${prefix}-`));
  t.same(left, [], 'no namespace of the lab left (their rules and processes went with them)');
  t.same(await guard.changes(), []);
});
