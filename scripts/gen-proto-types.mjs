#!/usr/bin/env node
// Regenerates proto/generated from proto/netmatrix/v1/*.proto with the very
// options proto/load.ts passes to loadSync (proto/loader-options.json), so the
// types can't describe objects the loader does not produce.
// Usage: node scripts/gen-proto-types.mjs [outDir]
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'proto', 'generated'));
const options = JSON.parse(readFileSync(join(root, 'proto', 'loader-options.json'), 'utf8'));
const protoDir = join(root, 'proto', 'netmatrix', 'v1');
const files = readdirSync(protoDir).filter((f) => f.endsWith('.proto')).sort().map((f) => join('netmatrix', 'v1', f));

const flags = [];
for (const [name, value] of Object.entries(options)) {
  if (value === true) flags.push(`--${name}`);
  else if (value !== false) flags.push(`--${name}=${value}`);
}
rmSync(outDir, { recursive: true, force: true });
execFileSync(
  join(root, 'node_modules', '.bin', 'proto-loader-gen-types'),
  [
    // --includeDirs is a yargs array: it would swallow the file names after it.
    '--includeDirs=.', // relative: generated files name the .proto, not this checkout's path
    ...flags,
    '--grpcLib=@grpc/grpc-js',
    '--targetFileExtension=.ts',
    '--importFileExtension=.js',
    `--outDir=${outDir}`,
    ...files,
  ],
  { cwd: join(root, 'proto'), stdio: 'inherit' },
);
