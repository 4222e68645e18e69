// proto/descriptor.ts must be what scripts/gen-proto-descriptor.mjs makes from
// the .proto today, and the Collector that proto/load.ts builds from it must
// encode and decode exactly as proto-loader's loadSync of the .proto does (what
// load.ts used before), for every field of every message on the stream.
import * as protoLoader from '@grpc/proto-loader';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import t from 'tap';
import { loadProto } from '../../proto/load.js';
import { mulberry32 } from '../helpers/random.js';

const PROTO = 'proto/netmatrix/v1/collector.proto';
const OPTIONS = JSON.parse(readFileSync('proto/loader-options.json', 'utf8')) as Record<string, unknown>;

function generate(protoDir?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-descriptor-'));
  try {
    const out = join(dir, 'descriptor.ts');
    execFileSync(process.execPath, ['scripts/gen-proto-descriptor.mjs', out, ...(protoDir ? [protoDir] : [])], { stdio: 'pipe' });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('the checked-in descriptor is current', async (t) => {
  t.equal(readFileSync('proto/descriptor.ts', 'utf8'), generate(), 'proto/descriptor.ts is stale: run `npm run proto:gen`');
});

t.test('a field added to the .proto changes the descriptor (so the check above notices a stale one)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-proto-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync('proto/loader-options.json', join(dir, 'loader-options.json'));
  cpSync('proto/netmatrix', join(dir, 'netmatrix'), { recursive: true });
  const file = join(dir, 'netmatrix', 'v1', 'collector.proto');
  const source = readFileSync(file, 'utf8');
  t.match(source, /\nmessage ProbeResult \{\n/);
  writeFileSync(file, source.replace(/\nmessage ProbeResult \{\n/, '\nmessage ProbeResult {\n  uint32 added_for_test = 999;\n'));
  const changed = generate(dir);
  t.not(changed, readFileSync('proto/descriptor.ts', 'utf8'));
  t.match(changed, /"addedForTest": \{\s+"type": "uint32",\s+"id": 999/);
});

/** What load.ts was: proto-loader parsing the .proto at run time, with the loader's options. */
function reference() {
  const ctor = (v: unknown) => (v === 'String' ? String : v === 'Number' ? Number : v);
  const options = { ...OPTIONS, longs: ctor(OPTIONS.longs), enums: ctor(OPTIONS.enums), includeDirs: ['proto'] } as protoLoader.Options;
  const def = protoLoader.loadSync(PROTO.slice('proto/'.length), options);
  return def['netmatrix.v1.Collector'] as protoLoader.ServiceDefinition;
}

/** The .proto's reflection, to make messages with every field set (names as the loader's options name them). */
function reflection(): protobuf.Root {
  const root = new protobuf.Root();
  root.loadSync(PROTO, { keepCase: OPTIONS.keepCase === true });
  root.resolveAll();
  return root;
}

type Obj = Record<string, unknown>;

/** A message of `type` with random values: every oneof has one member set, most other fields are set. */
function sample(type: protobuf.Type, rnd: () => number, seen: Set<string>, depth = 0): Obj {
  const out: Obj = {};
  const int = (n: number) => Math.floor(rnd() * n);
  const chosen = new Set(type.oneofsArray.map((o) => o.fieldsArray[int(o.fieldsArray.length)]!.name));
  const scalar = (f: protobuf.Field): unknown => {
    if (f.resolvedType instanceof protobuf.Type) return sample(f.resolvedType, rnd, seen, depth + 1);
    if (f.resolvedType instanceof protobuf.Enum) {
      const names = Object.keys(f.resolvedType.values);
      return names[int(names.length)];
    }
    switch (f.type) {
      case 'string':
        return ['', 'node-a', '192.0.2.1', 'fd00::1', 'ünïcødé ✓', 'x'.repeat(int(300))][int(6)];
      case 'bool':
        return rnd() < 0.5;
      case 'bytes':
        return Buffer.from(Array.from({ length: int(40) }, () => int(256)));
      case 'double':
        return rnd() * 1e6 - 5e5;
      case 'float':
        return Math.fround(rnd() * 1e3);
      case 'int32':
      case 'sint32':
      case 'sfixed32':
        return int(2 ** 31) - (rnd() < 0.3 ? 2 ** 30 : 0);
      case 'uint32':
      case 'fixed32':
        return [0, 1, 127, 128, 2 ** 32 - 1, int(2 ** 32)][int(6)];
      default: // 64-bit integers, as numbers (longs: Number), within 2^53
        return [0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER, int(2 ** 52)][int(5)];
    }
  };
  for (const f of type.fieldsArray) {
    if (f.partOf ? !chosen.has(f.name) : rnd() < 0.15) continue;
    seen.add(`${type.name}.${f.name}`);
    if (f instanceof protobuf.MapField) out[f.name] = Object.fromEntries(Array.from({ length: int(3) }, (_, i) => [`k${i}`, scalar(f)]));
    else if (f.repeated) out[f.name] = depth > 6 ? [] : Array.from({ length: 1 + int(3) }, () => scalar(f));
    else out[f.name] = scalar(f);
  }
  return out;
}

/** Every field of every message reachable from `type`. */
function fieldsOf(type: protobuf.Type, into = new Set<string>()): Set<string> {
  for (const f of type.fieldsArray) {
    const key = `${type.name}.${f.name}`;
    if (into.has(key)) continue;
    into.add(key);
    if (f.resolvedType instanceof protobuf.Type) fieldsOf(f.resolvedType, into);
  }
  return into;
}

t.test('the service is the one proto-loader describes', async (t) => {
  const ours = loadProto().netmatrix.v1.Collector;
  const ref = reference();
  t.same(Object.keys(ours.service), Object.keys(ref), 'the same methods');
  for (const [name, m] of Object.entries(ref)) {
    const o = (ours.service as unknown as Record<string, protoLoader.MethodDefinition<object, object>>)[name]!;
    t.same({ path: o.path, requestStream: o.requestStream, responseStream: o.responseStream, originalName: o.originalName }, { path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName }, name);
  }
  t.type(ours.prototype.Connect, 'function');
  t.type((ours.prototype as unknown as Record<string, unknown>).connect, 'function', 'the camelCase alias grpc-js adds from originalName');
});

t.test('every message on the stream encodes and decodes as proto-loader does (seeded)', async (t) => {
  const ours = loadProto().netmatrix.v1.Collector.service.Connect;
  const ref = reference().Connect!;
  const root = reflection();
  const rnd = mulberry32(0x5eed16);
  const directions = [
    { name: 'agent → aggregator', type: root.lookupType('netmatrix.v1.AgentMessage'), ours: { ser: ours.requestSerialize, de: ours.requestDeserialize }, ref: { ser: ref.requestSerialize, de: ref.requestDeserialize } },
    { name: 'aggregator → agent', type: root.lookupType('netmatrix.v1.AggregatorMessage'), ours: { ser: ours.responseSerialize, de: ours.responseDeserialize }, ref: { ser: ref.responseSerialize, de: ref.responseDeserialize } },
  ];
  for (const d of directions) {
    const seen = new Set<string>();
    let differ = 0;
    for (let i = 0; i < 300; i++) {
      const msg = sample(d.type, rnd, seen);
      const bytes = (d.ours.ser as (m: object) => Buffer)(msg);
      const want = (d.ref.ser as (m: object) => Buffer)(msg);
      if (!Buffer.from(bytes).equals(Buffer.from(want))) {
        if (differ++ === 0) t.fail(`${d.name}: encodes ${JSON.stringify(msg).slice(0, 300)} differently`);
        continue;
      }
      const back = d.ours.de(bytes);
      const wantBack = d.ref.de(want);
      if (JSON.stringify(back) !== JSON.stringify(wantBack)) {
        if (differ++ === 0) t.same(back, wantBack, `${d.name}: decodes ${JSON.stringify(msg).slice(0, 300)} differently`);
      }
    }
    t.equal(differ, 0, `${d.name}: 300 random messages, the same bytes and the same objects`);
    const missing = [...fieldsOf(d.type)].filter((f) => !seen.has(f));
    t.same(missing, [], `${d.name}: every field reachable from ${d.type.name} was set in some message`);
    t.same(d.ours.de(Buffer.alloc(0)), d.ref.de(Buffer.alloc(0)), `${d.name}: the empty message decodes to the same defaults`);
  }
});

t.test('what proto-loader refuses, this refuses with the same error', async (t) => {
  const ours = loadProto().netmatrix.v1.Collector.service.Connect;
  const ref = reference().Connect!;
  const error = (f: () => unknown) => {
    try {
      f();
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const cases: Array<[string, () => unknown, () => unknown]> = [
    ['an array for a message', () => ours.requestSerialize([] as never), () => ref.requestSerialize([] as never)],
    ['a truncated message', () => ours.requestDeserialize(Buffer.from([0x0a, 0x05, 0x0a])), () => ref.requestDeserialize(Buffer.from([0x0a, 0x05, 0x0a]))],
    ['a bad wire type', () => ours.responseDeserialize(Buffer.from([0x0f])), () => ref.responseDeserialize(Buffer.from([0x0f]))],
  ];
  for (const [name, a, b] of cases) {
    const want = error(b);
    t.ok(want, `${name}: proto-loader throws`);
    t.equal(error(a), want, name);
  }
});
