// An agent without CAP_NET_RAW (run as an unprivileged user): it says so in
// Hello (no icmp capability), logs it once, and keeps probing tcp and http.
import { spawn } from 'node:child_process';
import t from 'tap';
import { testAggregator } from '../helpers/aggregator.js';
import { waitFor } from '../helpers/wait.js';
import { missingHere } from '../helpers/ci.js';

const canDropPrivileges = process.getuid?.() === 0;
if (!canDropPrivileges) {
  missingHere(t, 'not root: cannot start an agent without its capabilities here');
} else {
  const agg = await testAggregator({ 'probe-interval': '300ms', 'probe-timeout': '150ms' });
  t.teardown(() => agg.stop());
  const env = { PATH: process.env.PATH ?? '', NODE_NAME: 'node-unpriv', POD_IP: '127.0.0.71', NETMATRIX_AGGREGATOR: `127.0.0.1:${agg.grpcPort}`, NETMATRIX_ALLOWED_CIDRS: '127.0.0.0/8', NETMATRIX_AGENT_LISTEN: '127.0.0.71:0', NETMATRIX_CNI: 'off' };
  const spawnAgent = (name: string, ip: string, unprivileged: boolean) => {
    const argv = ['dist/agent/main.js'];
    const cmd = unprivileged ? 'setpriv' : process.execPath;
    // Without capabilities but as uid 0: another uid could not read a checkout in a 0700 directory,
    // and what the test needs is an agent without CAP_NET_RAW, not another user.
    const args = unprivileged ? ['--inh-caps=-all', '--bounding-set=-all', process.execPath, ...argv] : argv;
    return spawn(cmd, args, { env: { ...env, NODE_NAME: name, POD_IP: ip, NETMATRIX_AGENT_LISTEN: `${ip}:0` }, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const unpriv = spawnAgent('node-unpriv', '127.0.0.71', true);
  const peer = spawnAgent('node-peer', '127.0.0.72', false);
  let log = '';
  unpriv.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  t.teardown(() => {
    unpriv.kill('SIGKILL');
    peer.kill('SIGKILL');
  });

  t.test('no icmp capability, one warning, tcp and http still probed', async (t) => {
    const nodes = await waitFor('both agents connected', async () => {
      const body = (await agg.app.inject('/api/v1/nodes')).json() as { nodes: { name: string; agent: { connected: boolean; capabilities: string[] } }[] };
      return body.nodes.length === 2 && body.nodes.every((n) => n.agent.connected) && body.nodes;
    }, 10_000, 50);
    t.same(nodes.find((n) => n.name === 'node-unpriv')!.agent.capabilities, ['tcp', 'http', 'dns'], 'Hello says: no icmp');
    t.same(nodes.find((n) => n.name === 'node-peer')!.agent.capabilities, ['icmp', 'tcp', 'http', 'dns'], 'a privileged agent has icmp');
    await waitFor('node-unpriv → node-peer tcp and http ok', async () => {
      const p = (await agg.app.inject('/api/v1/pairs/node-unpriv/node-peer')).json() as { kinds: Record<string, { status: string }> };
      return p.kinds.tcp?.status === 'ok' && p.kinds.http?.status === 'ok' && p.kinds.icmp?.status === 'unknown';
    }, 10_000, 50);
    t.pass('tcp and http ok, icmp not probed (unknown)');
    t.equal(log.match(/no CAP_NET_RAW/g)?.length, 1, 'said once in the log');
  });
}
