// The container images, without a container engine. Each Dockerfile's runtime
// stage is replayed into a temp "image root": its COPYs from the build stage
// read this checkout after `npm run build` (which the suite runs first), its
// COPYs from the deps stage read a replay of that stage (its COPYs and RUNs in
// a temp dir: `npm ci --omit=dev` from the lockfile, the npm cache preferred).
// Then the image root is run the way the image would run it (node on the
// ENTRYPOINT's script, cwd = WORKDIR): --help, and a real aggregator with real
// agents on loopback, the agents loading raw-socket's addon from the image.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import t from 'tap';
import { canRun, repoRoot } from '../helpers/child.js';
import { argDefaults, inContext, instructions, labels, parseCopy, parseDockerfile, parseEntrypoint, stageNamed, workdir, type Stage } from '../helpers/dockerfile.js';
import { waitFor } from '../helpers/wait.js';
import { skipUnlessCi } from '../helpers/ci.js';

const IMAGES = { agent: 'Dockerfile.agent', aggregator: 'Dockerfile.aggregator' } as const;
type ImageName = keyof typeof IMAGES;
const RUNTIME_USER = '65532';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; license: string; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8');
const tsconfigInclude = (JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `netmatrix-${prefix}-`));
  // The image's USER (65532) must be able to read the tree, as in the image.
  chmodSync(d, 0o755);
  tempDirs.push(d);
  return d;
}
t.teardown(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

// ---- replaying stages ---------------------------------------------------

/** A stage's filesystem as far as the runtime stage reads it: `dir` stands for the stage's WORKDIR. */
interface StageTree {
  readonly dir: string;
  readonly workdir: string;
  readonly what: string;
  /** Top-level names the stage has (COPYed from the context or made by a RUN); undefined: anything in `dir`. */
  readonly produces?: ReadonlySet<string>;
}

function run(cmd: string, cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // The npm cache is used where it has the packages (CI has run `npm ci`), the registry otherwise.
    execFile('sh', ['-c', cmd], { cwd, timeout: timeoutMs, env: { ...process.env, npm_config_prefer_offline: 'true' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`RUN ${cmd} failed (${err.code ?? err.signal}):\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

function copyFromContext(file: string, stage: Stage, into: string): void {
  for (const i of instructions(stage, 'COPY')) {
    const c = parseCopy(i);
    if (c.from !== undefined) throw new Error(`${file}:${c.line}: stage ${stage.name} copies from stage ${c.from}: not replayed here`);
    for (const src of c.sources) {
      if (!inContext(dockerignore, src)) throw new Error(`${file}:${c.line}: COPY ${src}: .dockerignore leaves it out of the build context`);
      if (!existsSync(join(repoRoot, src))) throw new Error(`${file}:${c.line}: COPY ${src}: not in the build context (${repoRoot})`);
      const dest = c.dest.endsWith('/') || c.dest === '.' ? join(into, c.dest, basename(src)) : join(into, c.dest);
      cpSync(join(repoRoot, src), dest, { recursive: true, verbatimSymlinks: true });
    }
  }
}

// Replays of stages that are not the build stage, by their text: the deps
// stage is the same in both Dockerfiles and is installed once.
const replays = new Map<string, Promise<StageTree>>();

function stageTree(file: string, stages: readonly Stage[], ref: string): Promise<StageTree> {
  const stage = stageNamed(stages, ref);
  if (stage.name === 'build') {
    // This checkout after `npm run build`: what the build stage COPYs from the context, and what its RUNs make.
    const runs = instructions(stage, 'RUN').map((r) => r.args);
    const produces = new Set<string>();
    for (const i of instructions(stage, 'COPY')) {
      const c = parseCopy(i);
      if (c.dest.endsWith('/') || c.dest === '.') for (const s of c.sources) produces.add(s.split('/')[0]!);
      else produces.add(c.dest.split('/')[0]!);
    }
    if (runs.some((r) => /\bnpm run build\b/.test(r))) produces.add('dist');
    if (runs.some((r) => /\bnpm ci\b/.test(r))) produces.add('node_modules');
    return Promise.resolve({ dir: repoRoot, workdir: workdir(stage), what: 'the build stage (this checkout after npm run build)', produces });
  }
  const key = stage.instructions.map((i) => `${i.keyword} ${i.args}`).join('\n');
  let tree = replays.get(key);
  if (!tree) {
    tree = (async () => {
      const dir = tempDir(`stage-${stage.name ?? stage.index}`);
      copyFromContext(file, stage, dir);
      const started = performance.now();
      for (const r of instructions(stage, 'RUN')) await run(r.args, dir, 300_000);
      t.comment(`stage ${stage.name} replayed (${instructions(stage, 'RUN').map((r) => r.args).join('; ')}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return { dir, workdir: workdir(stage), what: `the ${stage.name} stage (replayed in ${dir})` };
    })();
    replays.set(key, tree);
  }
  return tree;
}

/** `src` of a COPY --from, as a path relative to the stage's WORKDIR. */
function inStage(tree: StageTree, src: string): string {
  if (!src.startsWith('/')) return posix.normalize(src);
  const base = tree.workdir.replace(/\/$/, '');
  if (!src.startsWith(`${base}/`)) throw new Error(`${src} is outside the stage's WORKDIR ${tree.workdir}: not replayed here`);
  return posix.normalize(src.slice(base.length + 1));
}

/** Expands a `*` in a source's last component, as COPY does. */
function expand(dir: string, rel: string): string[] {
  if (!rel.includes('*')) return [rel];
  const parent = posix.dirname(rel);
  const re = new RegExp(`^${posix.basename(rel).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  const names = existsSync(join(dir, parent)) ? readdirSync(join(dir, parent)).filter((n) => re.test(n)) : [];
  return names.map((n) => posix.join(parent, n));
}

interface ImageRoot {
  readonly name: ImageName;
  readonly file: string;
  readonly runtime: Stage;
  /** Stands for the runtime stage's WORKDIR. */
  readonly root: string;
  /** The ENTRYPOINT after the node binary: node options and the script, relative to `root`. */
  readonly nodeArgs: string[];
  readonly script: string;
}

/**
 * Replays `text`'s runtime stage into a fresh image root. Every problem is one
 * error naming the line, found before anything is copied.
 */
async function assemble(name: ImageName, file: string, text: string): Promise<ImageRoot> {
  const stages = parseDockerfile(text);
  const runtime = stages.at(-1)!;
  const appDir = workdir(runtime).replace(/\/$/, '');
  const inApp = (p: string) => (!p.startsWith('/') ? p : p.startsWith(`${appDir}/`) ? p.slice(appDir.length + 1) : undefined);
  // What lands where: absolute source, destination relative to WORKDIR.
  const plan: { from: string; to: string; dir: boolean }[] = [];
  for (const i of instructions(runtime, 'COPY')) {
    const c = parseCopy(i);
    if (c.from === undefined) throw new Error(`${file}:${c.line}: the runtime stage copies from the build context: copy from the build stage instead`);
    const tree = await stageTree(file, stages, c.from);
    const destRel = inApp(c.dest);
    if (destRel === undefined) throw new Error(`${file}:${c.line}: COPY destination ${c.dest} is outside WORKDIR ${appDir}: not replayed here`);
    const intoDir = destRel.endsWith('/') || destRel === '.' || destRel === './' || c.sources.length > 1;
    for (const src of c.sources) {
      const rel = inStage(tree, src);
      const matches = expand(tree.dir, rel);
      if (matches.length === 0 || !matches.every((m) => existsSync(join(tree.dir, m))) || (tree.produces && !tree.produces.has(rel.split('/')[0]!))) {
        throw new Error(`${file}:${c.line}: COPY --from=${c.from} ${src}: ${rel} does not exist in ${tree.what}`);
      }
      for (const m of matches) {
        const from = join(tree.dir, m);
        const dir = statSync(from).isDirectory();
        plan.push({ from, to: posix.normalize(dir || !intoDir ? destRel : posix.join(destRel, basename(m))).replace(/\/$/, ''), dir });
      }
    }
  }
  const entry = parseEntrypoint(runtime);
  if (basename(entry[0]!) !== 'node') throw new Error(`${file}: ENTRYPOINT ${JSON.stringify(entry)} does not run node`);
  const at = entry.findIndex((a, k) => k > 0 && !a.startsWith('-'));
  if (at < 0) throw new Error(`${file}: ENTRYPOINT ${JSON.stringify(entry)} names no script`);
  const script = inApp(entry[at]!);
  const brought = (p: { from: string; to: string; dir: boolean }) =>
    script !== undefined && (p.dir ? (p.to === '.' || script.startsWith(`${p.to}/`)) && existsSync(join(p.from, p.to === '.' ? script : script.slice(p.to.length + 1))) : p.to === script);
  if (!plan.some(brought)) throw new Error(`${file}: ENTRYPOINT script ${entry[at]} is not in the image: no COPY of the runtime stage brings it`);

  const root = tempDir(`image-${name}`);
  for (const p of plan) {
    const to = join(root, p.to);
    mkdirSync(p.dir ? to : dirname(to), { recursive: true });
    cpSync(p.from, to, { recursive: true, verbatimSymlinks: true });
  }
  return { name, file, runtime, root, nodeArgs: entry.slice(1), script: script! };
}

// ---- looking at an image root -------------------------------------------

/** Apparent size of a tree, symlinks counted as links. */
function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? treeBytes(p) : lstatSync(p).size;
  }
  return n;
}
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Installed packages as lockfile keys ("node_modules/a", "node_modules/a/node_modules/@s/b"). */
function installed(dir: string, prefix = 'node_modules'): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const names = e.name.startsWith('@') ? readdirSync(join(dir, e.name)).map((n) => `${e.name}/${n}`) : [e.name];
    for (const n of names) {
      out.push(`${prefix}/${n}`);
      out.push(...installed(join(dir, n, 'node_modules'), `${prefix}/${n}/node_modules`));
    }
  }
  return out;
}

/** Imports reachable from `script` that the image root can't satisfy: relative files missing, packages not installed. */
function unresolvedImports(root: string, script: string): string[] {
  const missing = new Set<string>();
  const seen = new Set<string>();
  const stack = [join(root, script)];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const src = readFileSync(f, 'utf8');
    // tsc puts import and export statements at the start of a line; dynamic imports may be anywhere.
    const specs = [
      ...src.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm),
      ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
      ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ];
    for (const m of specs) {
      const spec = m[1]!;
      const who = f.slice(root.length + 1);
      if (spec.startsWith('.')) {
        const target = join(dirname(f), spec);
        if (existsSync(target)) stack.push(target);
        else missing.add(`${who} imports ${spec}`);
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!existsSync(join(root, 'node_modules', name, 'package.json'))) missing.add(`${who} imports package ${name}`);
      }
    }
  }
  return [...missing];
}

// ---- processes -----------------------------------------------------------

interface Proc {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}
const procs: Proc[] = [];

function start(image: ImageRoot, args: string[], wrapper: readonly string[] = [], script = image.script): Proc {
  // tap's process-info hook puts `--import <checkout>/node_modules/...` into the
  // NODE_OPTIONS of every process spawned here; an image's process must not
  // load anything from the checkout (and as another uid it could not, from a
  // checkout in a 0700 directory), so node starts without it.
  const argv = [...wrapper, 'env', '-u', 'NODE_OPTIONS', process.execPath, ...image.nodeArgs.filter((a) => a !== image.script), script, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: image.root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const p = { child, output: () => out, exited };
  procs.push(p);
  return p;
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), 5_000);
  await p.exited;
  clearTimeout(killer);
}
t.teardown(async () => {
  await Promise.all(procs.map(stop));
});

/** Runs to completion with a deadline. */
async function runToEnd(image: ImageRoot, args: string[], script?: string, timeoutMs = 15_000): Promise<{ code: number | null; out: string }> {
  const p = start(image, args, [], script);
  const killer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(killer);
  return { code, out: p.output() };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---- the Dockerfiles as text ----------------------------------------------

for (const [name, file] of Object.entries(IMAGES) as [ImageName, string][]) {
  t.test(`${file}: stages, user, labels, context`, async (t) => {
    const stages = parseDockerfile(readFileSync(join(repoRoot, file), 'utf8'));
    const runtime = stages.at(-1)!;
    t.match(runtime.base, /^gcr\.io\/distroless\/nodejs20-debian12(:|@)/, 'distroless node 20 runtime');
    t.same(instructions(runtime, 'RUN'), [], 'no RUN in the runtime stage: it has no shell');
    const user = instructions(runtime, 'USER').at(-1)?.args;
    t.ok(user, 'the runtime stage sets USER');
    const uid = user?.split(':')[0];
    t.ok(uid !== undefined && /^\d+$/.test(uid) && uid !== '0', `USER ${user} is a numeric non-root UID (runAsNonRoot can check it)`);
    t.equal(uid, RUNTIME_USER, "distroless's nonroot user");
    for (const s of stages.slice(0, -1)) t.match(s.base, /^node:20\.\d+\.\d+-bookworm$/, `stage ${s.name} is node 20 on bookworm, pinned to a release`);

    const l = labels(runtime);
    t.equal(l.get('org.opencontainers.image.title'), `netmatrix-${name}`);
    t.equal(l.get('org.opencontainers.image.licenses'), pkg.license);
    t.ok(l.get('org.opencontainers.image.source'), 'source label');
    t.equal(l.get('org.opencontainers.image.version'), '${VERSION}');
    t.equal(argDefaults(runtime).get('VERSION'), pkg.version, "the VERSION ARG defaults to package.json's version");

    // The build stage compiles what tsconfig.json includes: each must be COPYed in and in the build context.
    const build = stageNamed(stages, 'build');
    const copied = new Set(instructions(build, 'COPY').flatMap((i) => parseCopy(i).sources));
    for (const dir of tsconfigInclude) {
      t.ok(copied.has(dir), `the build stage copies ${dir}/ (tsconfig.json compiles it)`);
      t.ok(inContext(dockerignore, `${dir}/x.ts`), `.dockerignore lets ${dir}/ into the context`);
    }
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) t.ok(inContext(dockerignore, f), `${f} is in the context`);
    for (const p of ['node_modules/x', 'dist/agent/main.js', '.git/HEAD', 'test/deploy/images.test.ts']) t.notOk(inContext(dockerignore, p), `${p} is not in the context`);
  });
}

// ---- the replay's own failures are clear ------------------------------------

t.test('a COPY of a missing path, or an ENTRYPOINT not copied, fails naming it', async (t) => {
  const text = readFileSync(join(repoRoot, IMAGES.agent), 'utf8');
  const noSuchPath = text.replace('COPY --from=build /src/dist/agent dist/agent', 'COPY --from=build /src/dist/agent dist/agent\nCOPY --from=build /src/dist/no-such-dir dist/no-such-dir');
  await t.rejects(assemble('agent', 'Dockerfile.agent (edited)', noSuchPath), /Dockerfile\.agent \(edited\):\d+: COPY --from=build \/src\/dist\/no-such-dir: dist\/no-such-dir does not exist in the build stage/);
  // test/ is in this checkout but not in the build stage, which never COPYs it.
  const notInBuild = text.replace('COPY --from=build /src/dist/agent dist/agent', 'COPY --from=build /src/dist/agent dist/agent\nCOPY --from=build /src/test test');
  await t.rejects(assemble('agent', 'Dockerfile.agent (edited)', notInBuild), /COPY --from=build \/src\/test: test does not exist in the build stage/, 'only what the build stage has');
  const noEntry = text.replace('COPY --from=build /src/dist/agent dist/agent', '');
  await t.rejects(assemble('agent', 'Dockerfile.agent (edited)', noEntry), /ENTRYPOINT script dist\/agent\/main\.js is not in the image/);
});

// ---- the image roots -------------------------------------------------------

const images = new Map<ImageName, ImageRoot>();
for (const [name, file] of Object.entries(IMAGES) as [ImageName, string][]) {
  t.test(`${file}: the runtime stage replayed`, async (t) => {
    const started = performance.now();
    let image: ImageRoot;
    try {
      image = await assemble(name, file, readFileSync(join(repoRoot, file), 'utf8'));
    } catch (e) {
      return void t.fail((e as Error).message);
    }
    images.set(name, image);
    const total = treeBytes(image.root);
    const modules = treeBytes(join(image.root, 'node_modules'));
    t.comment(`${file}: image root ${mib(total)} (node_modules ${mib(modules)}, the rest ${mib(total - modules)}), assembled in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    t.same(unresolvedImports(image.root, image.script), [], `every import reachable from ${image.script} is in the image`);
    for (const f of ['package.json', 'dist/proto/descriptor.js']) t.ok(existsSync(join(image.root, f)), `${f} is in the image`);
    t.same(readdirSync(join(image.root, 'dist')).sort(), (name === 'agent' ? ['agent', 'common', 'proto'] : ['aggregator', 'cli', 'common', 'proto']).sort(), 'dist/ holds only what this image runs');

    const dev = installed(join(image.root, 'node_modules')).filter((p) => lock.packages[p]?.dev === true);
    t.same(dev, [], 'no package the lockfile marks dev-only');
    for (const d of ['tap', 'typescript']) t.notOk(existsSync(join(image.root, 'node_modules', d)), `${d} is not in the image`);
    t.ok(existsSync(join(image.root, 'node_modules/raw-socket/build/Release/raw.node')), "raw-socket's addon is compiled");

    const help = await runToEnd(image, ['--help']);
    t.equal(help.code, 0, `${image.script} --help exits 0`, { output: help.out });
    t.match(help.out, /--log-level/, 'and prints the settings');
    if (name === 'aggregator') {
      const cli = await runToEnd(image, ['--help'], 'dist/cli/main.js');
      t.equal(cli.code, 0, 'dist/cli/main.js --help exits 0', { output: cli.out });
    }
  });
}

// ---- running them ------------------------------------------------------------

const setprivSkip = skipUnlessCi(process.getuid?.() !== 0 ? 'needs root' : !canRun('setpriv', ['--version']) ? 'needs setpriv (util-linux)' : false);

t.test('the aggregator image serves agents from the agent image', async (t) => {
  const agg = images.get('aggregator');
  const agent = images.get('agent');
  if (!agg || !agent) return void t.fail('an image root was not assembled (see above)');
  const started = performance.now();
  const [grpcPort, httpPort] = [await freePort('127.0.0.1'), await freePort('127.0.0.1')];
  const aggregator = start(agg, ['--grpc-listen', `127.0.0.1:${grpcPort}`, '--http-listen', `127.0.0.1:${httpPort}`, '--dns-servers', 'none']);
  const api = `http://127.0.0.1:${httpPort}`;
  const get = async (path: string) => {
    const res = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    await waitFor('GET /readyz to answer 200', async () => (await get('/readyz')).status === 200, 15_000);
  } catch (e) {
    return void t.fail(`${(e as Error).message}\naggregator output:\n${aggregator.output()}`);
  }
  t.pass('/readyz answers 200');

  // As the test runs (root here: ICMP on); as the image's USER, which is what
  // Kubernetes gives a non-root container that adds NET_RAW (no ambient
  // capabilities: ICMP off); as UID 0 with only NET_RAW, the DaemonSet's way.
  const asRoot = process.getuid?.() === 0;
  const runs: { node: string; wrapper: string[]; icmp: boolean }[] = [{ node: 'image-agent', wrapper: [], icmp: asRoot }];
  if (!setprivSkip) {
    runs.push({ node: 'image-agent-nonroot', wrapper: ['setpriv', `--reuid=${RUNTIME_USER}`, `--regid=${RUNTIME_USER}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all,+net_raw'], icmp: false });
    runs.push({ node: 'image-agent-net-raw', wrapper: ['setpriv', '--inh-caps=-all', '--bounding-set=-all,+net_raw'], icmp: true });
  } else t.comment(`agents as the image's user and with NET_RAW only: skipped (${setprivSkip})`);
  const agents = new Map<string, Proc>();
  for (const [k, r] of runs.entries()) {
    const ip = `127.0.0.${91 + k}`;
    const args = ['--node-name', r.node, '--pod-ip', ip, '--listen', `${ip}:${await freePort(ip)}`, '--aggregator', `127.0.0.1:${grpcPort}`, '--allowed-cidrs', '127.0.0.0/8', '--cni', 'off'];
    agents.set(r.node, start(agent, args, r.wrapper));
  }

  type NodeView = { name: string; agent: { connected: boolean; capabilities: string[] } };
  let nodes: NodeView[] = [];
  try {
    await waitFor(
      `${[...agents.keys()].join(', ')} connected in GET /api/v1/nodes`,
      async () => {
        nodes = ((await get('/api/v1/nodes')).body.nodes as NodeView[]) ?? [];
        return runs.every((r) => nodes.some((n) => n.name === r.node && n.agent.connected));
      },
      20_000,
    );
  } catch (e) {
    const logs = [...agents].map(([n, p]) => `--- ${n}:\n${p.output()}`).join('\n');
    return void t.fail(`${(e as Error).message}\nnodes: ${JSON.stringify(nodes)}\n${logs}\n--- aggregator:\n${aggregator.output()}`);
  }
  t.comment(`aggregator ready and ${runs.length} agent(s) connected in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const r of runs) {
    const n = nodes.find((x) => x.name === r.node)!;
    t.pass(`${r.node} appears connected in /api/v1/nodes`);
    // raw-socket is imported statically, so a running agent has loaded the addon from the image root.
    t.equal(n.agent.capabilities.includes('icmp'), r.icmp, `${r.node}: ICMP ${r.icmp ? 'available' : 'unavailable'} (capabilities ${n.agent.capabilities.join(',')})`);
    if (!r.icmp) t.match(agents.get(r.node)!.output(), /no CAP_NET_RAW/, `${r.node} logs why ICMP is off`);
  }
  const ready = await get('/readyz');
  t.equal(ready.body.agentsConnected, runs.length, '/readyz counts the agents');

  // The CLI as `kubectl exec` would run it in the aggregator's container.
  const status = await runToEnd(agg, ['status', '--server', api], 'dist/cli/main.js');
  t.ok(status.code === 0 || status.code === 1, `netmatrix status answers with a verdict (exit ${status.code})`, { output: status.out });
  t.match(status.out, /image-agent/, 'and lists the agents');

  for (const p of [...agents.values(), aggregator]) await stop(p);
  t.equal(aggregator.child.exitCode, 0, 'the aggregator stops cleanly on SIGTERM');
});
