// The node flags that keep the agent's memory down (docs/architecture.md,
// "Agent footprint") are written once, in agent/main.ts's #! line, which the
// bin entry runs; the image's ENTRYPOINT repeats them, and no manifest runs
// the agent some other way. The built command, executed as the bin link
// executes it, runs with them.
import { spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { parseDockerfile, parseEntrypoint } from '../helpers/dockerfile.js';
import { waitFor } from '../helpers/wait.js';

const SHEBANG = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)+)$/;

function flagsOf(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0]!;
  const m = SHEBANG.exec(first);
  if (!m) throw new Error(`${file}: first line ${JSON.stringify(first)} is not "#!/usr/bin/env -S node --flag ..."`);
  return m[1]!.trim().split(' ');
}

const flags = flagsOf('agent/main.ts');

t.test('agent/main.ts names its node flags on its #! line', async (t) => {
  t.ok(flags.length > 0, `flags: ${flags.join(' ')}`);
  t.same(flags, [...new Set(flags)], 'each once');
});

t.test('the built command keeps them and is executable', async (t) => {
  t.same(flagsOf('dist/agent/main.js'), flags, 'dist/agent/main.js starts with the same #! line (run `npm run build`)');
  t.doesNotThrow(() => accessSync('dist/agent/main.js', constants.X_OK), 'executable, as a bin entry must be');
});

t.test("the image's ENTRYPOINT runs node with the same flags", async (t) => {
  const stages = parseDockerfile(readFileSync('Dockerfile.agent', 'utf8'));
  const entry = parseEntrypoint(stages.at(-1)!);
  t.same(entry, ['/nodejs/bin/node', ...flags, 'dist/agent/main.js']);
});

t.test('no manifest replaces the ENTRYPOINT or sets NODE_OPTIONS for the agent', async (t) => {
  const base = parseAllDocuments(readFileSync('deploy/base/agent.yaml', 'utf8')).map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { name: string; command?: unknown; args?: unknown; env?: { name: string }[] }[] } } } });
  const containers = base.filter((d) => d.kind === 'DaemonSet').flatMap((d) => d.spec?.template?.spec?.containers ?? []);
  t.ok(containers.length > 0, 'the DaemonSet has containers');
  for (const c of containers) {
    t.equal(c.command, undefined, `${c.name}: no command`);
    t.equal(c.args, undefined, `${c.name}: no args`);
    t.notOk(c.env?.some((e) => e.name === 'NODE_OPTIONS'), `${c.name}: no NODE_OPTIONS`);
  }
  const helm = readFileSync('deploy/helm/netmatrix/templates/agent.yaml', 'utf8');
  t.notMatch(helm, /^\s*(command|args):/m, 'the Helm chart sets no command or args');
  t.notMatch(helm, /NODE_OPTIONS/, 'nor NODE_OPTIONS');
  const overlays = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? overlays(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : []));
  for (const f of overlays('deploy/overlays')) {
    const text = readFileSync(f, 'utf8');
    if (/netmatrix-agent|kind: DaemonSet/.test(text)) t.notMatch(text, /NODE_OPTIONS|\/command|\/args|^\s*(command|args):/m, `${f}: patches the agent, not how it runs`);
  }
});

t.test('executed as the bin link executes it, the agent runs with the flags', async (t) => {
  // An aggregator nobody answers: the agent starts and retries; its command line is what is looked at.
  const env = { PATH: process.env.PATH ?? '', NODE_NAME: 'node-flags', POD_IP: '127.0.0.81', NETMATRIX_AGGREGATOR: '127.0.0.1:1', NETMATRIX_AGENT_LISTEN: '127.0.0.81:0', NETMATRIX_CNI: 'off', NETMATRIX_ICMP: 'off' };
  const child = spawn('dist/agent/main.js', [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  // env execs node in the same process: its command line becomes node's.
  const argv = await waitFor(
    'the agent to run under node',
    async () => {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${stderr}`);
      const a = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      return a.some((x) => x.endsWith('dist/agent/main.js')) && /(^|\/)node$/.test(a[0]!) && a;
    },
    10_000,
    20,
  );
  t.same(argv.slice(1, 1 + flags.length), flags, `node ${argv.slice(1).join(' ')}`);
});
