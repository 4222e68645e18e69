import t, { type Test } from 'tap';
import { COMMAND_HELP, HELP, UsageError, parseInvocation } from '../../cli/args.js';
import { FINDING_KINDS, PAIR_KINDS } from '../../common/vocabulary.js';

const invocation = (argv: string[], env: Record<string, string> = {}) => {
  const p = parseInvocation(argv, env);
  if (!('invocation' in p)) throw new Error('expected an invocation');
  return p.invocation;
};

const usage = (t: Test, argv: string[], message: string | RegExp, env: Record<string, string> = {}) =>
  t.throws(() => parseInvocation(argv, env), { name: 'UsageError', message }, argv.join(' '));

t.test('defaults', async (t) => {
  t.same(invocation(['matrix']), { command: 'matrix', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false }, 'no --kind: the aggregator picks (the first kind it probes)');
  t.same(invocation(['status']), { command: 'status', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false });
  t.same(invocation(['findings']), { command: 'findings', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false, state: 'firing' }, 'every kind, firing ones');
  t.ok(Object.isFrozen(invocation(['status'])));
  t.same(invocation(['dns']), { command: 'dns', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false }, 'every node');
});

t.test('dns: --node names one node', async (t) => {
  t.same(invocation(['dns', '--node', 'node-a', '--json']), { command: 'dns', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: true, noColor: false, node: 'node-a' });
  t.match(invocation(['dns', '--node=ip-10-0-1-7.eu-west-1.compute.internal']), { node: 'ip-10-0-1-7.eu-west-1.compute.internal' });
  t.notOk('node' in invocation(['dns']));
  t.ok(Object.isFrozen(invocation(['dns', '--node', 'node-a'])));
});

t.test('flags, env, and flags win', async (t) => {
  const env = { NETMATRIX_SERVER: 'http://192.0.2.1:8080', NETMATRIX_API_TOKEN: 'from-env' };
  t.match(invocation(['status'], env), { server: 'http://192.0.2.1:8080', token: 'from-env' });
  t.match(invocation(['status', '--server', 'https://192.0.2.2/netmatrix/', '--token', 'from-flag'], env), { server: 'https://192.0.2.2/netmatrix/', token: 'from-flag' });
  t.match(invocation(['status'], { NETMATRIX_SERVER: '', NETMATRIX_API_TOKEN: '' }), { server: 'http://127.0.0.1:8080' }, 'empty env vars are unset');
  t.notOk('token' in invocation(['status'], { NETMATRIX_API_TOKEN: '' }));
  t.same(
    invocation(['matrix', '--kind=tcp', '--family', 'ipv6', '--json', '--no-color', '--timeout', '250ms']),
    { command: 'matrix', server: 'http://127.0.0.1:8080', timeoutMs: 250, json: true, noColor: true, kind: 'tcp', family: 'ipv6' },
  );
  for (const kind of PAIR_KINDS) t.equal((invocation(['matrix', '--kind', kind]) as { kind: string }).kind, kind);
  t.match(invocation(['--json', 'status']), { command: 'status', json: true }, 'options before the command');
});

t.test('findings: --kind from the closed set, --pending or --all', async (t) => {
  for (const kind of FINDING_KINDS) t.match(invocation(['findings', '--kind', kind]), { command: 'findings', kind, state: 'firing' });
  t.match(invocation(['findings', '--pending']), { state: 'pending' });
  t.match(invocation(['findings', '--all', '--kind=NodeUnreachable', '--json']), { state: 'all', kind: 'NodeUnreachable', json: true });
  t.notOk('kind' in invocation(['findings', '--all']));
  t.ok(Object.isFrozen(invocation(['findings'])));
});

t.test('help and version', async (t) => {
  t.same(parseInvocation(['--help'], {}), { help: HELP });
  t.same(parseInvocation(['-h'], {}), { help: HELP });
  t.same(parseInvocation(['matrix', '--help'], {}), { help: COMMAND_HELP.matrix });
  t.same(parseInvocation(['status', '-h'], {}), { help: COMMAND_HELP.status });
  t.same(parseInvocation(['findings', '--help'], {}), { help: COMMAND_HELP.findings });
  t.same(parseInvocation(['dns', '--help'], {}), { help: COMMAND_HELP.dns });
  t.same(parseInvocation(['dns', '--node', '', '--help'], {}), { help: COMMAND_HELP.dns });
  t.same(parseInvocation(['findings', '--kind', 'Nope', '--help'], {}), { help: COMMAND_HELP.findings });
  t.same(parseInvocation(['matrix', '--kind', 'udp', '--help'], {}), { help: COMMAND_HELP.matrix }, 'help wins over a bad value');
  t.same(parseInvocation(['--version'], {}), { version: true });
  for (const text of [HELP, COMMAND_HELP.matrix, COMMAND_HELP.status, COMMAND_HELP.findings, COMMAND_HELP.dns, COMMAND_HELP.cni, COMMAND_HELP.forget]) {
    t.match(text, /Exit codes:\n {2}0 .*\n {2}1 .*failing/);
    t.match(text, 'a firing finding (findings, status)');
    t.match(text, 'a failing cell (matrix,\n      status, dns)');
    t.match(text, 'NETMATRIX_SERVER');
    t.match(text, 'NETMATRIX_API_TOKEN');
    t.notOk(text.split('\n').some((l) => l.length > 80), 'fits 80 columns');
  }
  t.match(COMMAND_HELP.matrix, `--kind K         ${PAIR_KINDS.join(', ')}`);
  t.match(COMMAND_HELP.status, '(icmp, tcp, http, node)');
  t.match(COMMAND_HELP.status, 'A firing finding fails the command (exit 1)');
  t.match(COMMAND_HELP.status, 'findings:', '--json names its findings');
  t.match(HELP, /^ {2}findings {9}/m);
  for (const kind of FINDING_KINDS) t.match(COMMAND_HELP.findings, new RegExp(`[ :]${kind}[,\n]`), `--kind lists ${kind}`);
  t.match(COMMAND_HELP.findings, '--pending');
  t.match(COMMAND_HELP.findings, '--all');
  t.match(HELP, /^ {2}dns {14}every node asking every DNS server/m);
  t.match(COMMAND_HELP.dns, /^ {2}--node NAME {6}only this node's row/m);
  t.match(COMMAND_HELP.dns, 'A failing cell fails the command (exit 1)');
  t.match(COMMAND_HELP.dns, 'A node the aggregator does not know exits 3');
  t.match(COMMAND_HELP.dns, '--dns-servers none');
});

t.test('usage errors are one line naming what is wrong', async (t) => {
  usage(t, [], 'which command? status, matrix, findings, dns, cni or forget (see netmatrix --help)');
  usage(t, ['frobnicate'], 'unknown command "frobnicate": expected status, matrix, findings, dns, cni or forget (see netmatrix --help)');
  usage(t, ['frobnicate', '--help'], /^unknown command "frobnicate"/);
  usage(t, ['matrix', 'extra'], 'unexpected argument "extra" (see netmatrix matrix --help)');
  usage(t, ['matrix', '--kind', 'udp'], 'unknown --kind "udp": expected one of icmp, tcp, http, mtu, node');
  usage(t, ['matrix', '--kind', 'dns'], /^unknown --kind "dns"/, {});
  usage(t, ['matrix', '--family', 'ipx'], 'unknown --family "ipx": expected ipv4 or ipv6');
  usage(t, ['status', '--kind', 'tcp'], '--kind is an option of netmatrix matrix or findings, not of status (see netmatrix status --help)');
  usage(t, ['findings', '--family', 'ipv4'], '--family is an option of netmatrix matrix, not of findings (see netmatrix findings --help)');
  usage(t, ['matrix', '--all'], '--all is an option of netmatrix findings, not of matrix (see netmatrix matrix --help)');
  usage(t, ['findings', '--kind', 'tcp'], `unknown --kind "tcp": expected one of ${FINDING_KINDS.join(', ')}`);
  usage(t, ['findings', '--kind', 'nodeunreachable'], /^unknown --kind "nodeunreachable": expected one of NodeUnreachable, /, {});
  usage(t, ['matrix', '--kind', 'NodeUnreachable'], /^unknown --kind "NodeUnreachable": expected one of icmp/, {});
  usage(t, ['findings', '--pending', '--all'], '--pending and --all exclude each other: --all lists pending findings too');
  usage(t, ['findings', 'NodeUnreachable'], 'unexpected argument "NodeUnreachable" (see netmatrix findings --help)');
  usage(t, ['matrix', '--bogus'], 'unknown option --bogus (see netmatrix --help)');
  usage(t, ['matrix', '-x'], 'unknown option -x (see netmatrix --help)');
  usage(t, ['matrix', '--kind'], '--kind needs a value');
  usage(t, ['matrix', '--kind', '--json'], '--kind needs a value');
  usage(t, ['matrix', '--json=yes'], '--json takes no value');
  usage(t, ['matrix', '--timeout', 'soon'], 'invalid --timeout "soon": expected a duration over zero, like 5s or 500ms');
  usage(t, ['matrix', '--timeout', '0'], /^invalid --timeout "0"/);
  usage(t, ['matrix', '--server', 'not a url'], 'invalid --server "not a url": expected a URL like http://127.0.0.1:8080');
  usage(t, ['matrix', '--server', 'ftp://192.0.2.1/'], 'invalid --server "ftp://192.0.2.1/": expected an http:// or https:// URL');
  usage(t, ['matrix'], 'invalid NETMATRIX_SERVER "192.0.2.1:8080": expected a URL like http://127.0.0.1:8080', { NETMATRIX_SERVER: '192.0.2.1:8080' });
  usage(t, ['matrix'], 'invalid NETMATRIX_SERVER "localhost:8080": expected an http:// or https:// URL', { NETMATRIX_SERVER: 'localhost:8080' });
  usage(t, ['status', '--server', 'http://admin:hunter2@192.0.2.1/'], 'invalid --server: a URL with credentials; give a token with --token or NETMATRIX_API_TOKEN');
  usage(t, ['matrix', '--node', 'node-a'], '--node is an option of netmatrix dns or cni, not of matrix (see netmatrix matrix --help)');
  usage(t, ['dns', '--kind', 'tcp'], '--kind is an option of netmatrix matrix or findings, not of dns (see netmatrix dns --help)');
  usage(t, ['dns', '--node'], '--node needs a value');
  usage(t, ['dns', '--node', ''], 'invalid --node "": expected a node name');
  usage(t, ['dns', '--node', ' '], 'invalid --node " ": expected a node name');
  usage(t, ['dns', 'node-a'], 'unexpected argument "node-a" (see netmatrix dns --help)');
  t.ok(new UsageError('x') instanceof Error);
});

t.test('cni: every node, or --node for one', async (t) => {
  t.same(invocation(['cni']), { command: 'cni', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false });
  t.same(invocation(['cni', '--node', 'node-b', '--json']), { command: 'cni', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: true, noColor: false, node: 'node-b' });
  t.ok(Object.isFrozen(invocation(['cni', '--node', 'node-b'])));
  t.same(parseInvocation(['cni', '--help'], {}), { help: COMMAND_HELP.cni });
  t.match(HELP, /^ {2}cni {14}each node's CNI config/m);
  t.match(COMMAND_HELP.cni, /^Usage: netmatrix cni \[--node NAME\] \[--json\] \[options\]$/m);
  t.match(COMMAND_HELP.cni, 'A drifted, split or invalid node, a skewed plugin binary, a pool near\nexhaustion or a pod CIDR overlap fails the command (exit 1)');
  t.match(COMMAND_HELP.cni, 'A node the aggregator does not know exits 3');
  t.match(HELP, 'or CNI drift, a skewed plugin, a pool near exhaustion\n      or a pod CIDR overlap (cni)');
  usage(t, ['cni', '--node', ''], 'invalid --node "": expected a node name');
  usage(t, ['cni', '--kind', 'tcp'], '--kind is an option of netmatrix matrix or findings, not of cni (see netmatrix cni --help)');
  usage(t, ['cni', 'node-b'], 'unexpected argument "node-b" (see netmatrix cni --help)');
  usage(t, ['status', '--node', 'node-b'], '--node is an option of netmatrix dns or cni, not of status (see netmatrix status --help)');
});

t.test('forget: the node is its one argument', async (t) => {
  t.same(invocation(['forget', 'node-d']), { command: 'forget', server: 'http://127.0.0.1:8080', timeoutMs: 5000, json: false, noColor: false, node: 'node-d' });
  t.match(invocation(['forget', '--json', 'ip-10-0-1-7.eu-west-1.compute.internal', '--token', 'x']), { command: 'forget', json: true, token: 'x', node: 'ip-10-0-1-7.eu-west-1.compute.internal' });
  t.match(invocation(['--server', 'http://192.0.2.1:8080', 'forget', 'node-d']), { server: 'http://192.0.2.1:8080', node: 'node-d' }, 'options before the command');
  t.ok(Object.isFrozen(invocation(['forget', 'node-d'])));
  t.same(parseInvocation(['forget', '--help'], {}), { help: COMMAND_HELP.forget });
  t.same(parseInvocation(['forget', '-h'], {}), { help: COMMAND_HELP.forget }, 'help needs no node');
  t.match(HELP, /^ {2}forget NODE {6}forget a node that is gone for good/m);
  t.match(COMMAND_HELP.forget, /^Usage: netmatrix forget NODE \[--json\] \[options\]$/m);
  for (const why of ['--api-token-file', '--token, NETMATRIX_API_TOKEN', 'agent is connected', 'kubectl delete node NODE', '--node-expiry', 'NodeUnreachable, NodeIsolated or\nPodNetworkUnreachable']) t.match(COMMAND_HELP.forget, why);
  usage(t, ['forget'], 'which node? netmatrix forget NODE (see netmatrix forget --help)');
  usage(t, ['forget', ''], 'invalid node "": expected a node name');
  usage(t, ['forget', 'node-d', 'node-e'], 'unexpected argument "node-e" (see netmatrix forget --help)');
  usage(t, ['forget', '--node', 'node-d'], '--node is an option of netmatrix dns or cni, not of forget (see netmatrix forget --help)');
  usage(t, ['forget', 'node-d', '--kind', 'tcp'], '--kind is an option of netmatrix matrix or findings, not of forget (see netmatrix forget --help)');
  usage(t, ['status', 'node-d'], 'unexpected argument "node-d" (see netmatrix status --help)', {});
});
