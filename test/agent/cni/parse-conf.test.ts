// The libcni rules for one file: what makes a .conflist or a .conf usable, and what it says.
import t from 'tap';
import { jsonDepth, MAX_JSON_DEPTH, parseConf } from '../../../agent/cni/parse-conf.js';

const parse = (name: string, text: string) => parseConf(name, Buffer.from(text), 'sha');

t.test('a conflist: name, version, chain, IPAM type and ranges as written', async (t) => {
  const p = parse(
    '10-bridge.conflist',
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'net',
      plugins: [
        { type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00::/64' }]] } },
        { type: 'portmap' },
      ],
    }),
  );
  t.same(p.info, {
    name: '10-bridge.conflist',
    size: p.info.size,
    sha256: 'sha',
    valid: true,
    error: null,
    cniVersion: '1.0.0',
    network: 'net',
    plugins: ['bridge', 'portmap'],
    ipamType: 'host-local',
    ranges: ['10.244.1.0/24', 'fd00::/64'],
  });
  t.equal(p.list?.plugins.length, 2);
});

t.test('a .conf/.json is one plugin, wrapped as a one-plugin chain (libcni ConfListFromConf)', async (t) => {
  const p = parse('10-x.conf', '{"cniVersion":"0.3.1","name":"n","type":"bridge","ipam":{"type":"host-local","subnet":"10.1.0.0/16"}}');
  t.ok(p.info.valid);
  t.same(p.info.plugins, ['bridge']);
  t.same(p.info.ranges, ['10.1.0.0/16']);
  t.same(Object.keys(p.list!.config), ['name', 'cniVersion', 'plugins']);
  t.equal((p.list!.config.plugins as unknown[]).length, 1);
  t.ok(parse('x.json', '{"name":"n","type":"loopback"}').info.valid, 'no cniVersion is allowed (CNI reads it as 0.1.0)');
  t.equal(parse('x.json', '{"name":"n","type":"loopback"}').list?.cniVersion, null);
});

t.test('rejections, each with a message that says what to fix', async (t) => {
  const cases: [string, string, string][] = [
    ['a.conflist', '{"name":"n"}', 'conflist has no plugins'],
    ['a.conflist', '{"name":"n","plugins":[]}', 'conflist has no plugins'],
    ['a.conflist', '{"name":"n","plugins":{}}', 'plugins is an object, not a list'],
    ['a.conflist', '{"plugins":[{"type":"x"}]}', 'conflist has no name'],
    ['a.conflist', '{"name":"","plugins":[{"type":"x"}]}', 'conflist has an empty name'],
    ['a.conflist', '{"name":7,"plugins":[{"type":"x"}]}', 'name is a number, not a string'],
    ['a.conflist', '{"name":"n","cniVersion":1,"plugins":[{"type":"x"}]}', 'cniVersion is a number, not a string'],
    ['a.conflist', '{"name":"n","plugins":[{"type":"x"},{}]}', 'plugin 2 (plugins[1]) has no type'],
    ['a.conflist', '{"name":"n","plugins":[{"type":"x"},"y"]}', 'plugin 2 (plugins[1]) is a string, not an object'],
    ['a.conflist', '{"name":"n","plugins":[{"type":5}]}', 'plugin 1 (plugins[0]) type is a number, not a string'],
    ['a.conf', '{"name":"n","plugins":[{"type":"x"}]}', 'no type: a .conf file holds one plugin, and this one looks like a conflist (rename it to .conflist)'],
    ['a.json', '{"name":"n"}', 'plugin has no type'],
    ['a.conf', '{"type":"bridge"}', 'config has no name'],
    ['a.conf', '[]', 'top level is a list, not a JSON object'],
    ['a.conf', 'null', 'top level is null, not a JSON object'],
    ['a.conf', '', 'empty file'],
    ['a.conf', '{"name":"n",\0"type":"x"}', 'binary file (NUL bytes)'],
    ['a.conf', '\uFEFF{"name":"n","type":"x"}', 'starts with a UTF-8 byte order mark, which the runtime’s JSON parser rejects'],
    ['a.conf', '{"name":"n","type":"x",}', "invalid JSON at position 23 (line 1, column 24): trailing comma before '}'"],
  ];
  for (const [name, text, error] of cases) {
    const p = parse(name, text);
    t.equal(p.info.error, error, `${name} ${text.slice(0, 40)}`);
    t.equal(p.info.valid, false);
    t.equal(p.list, null);
  }
});

t.test('an invalid file still shows what it could be read for', async (t) => {
  const p = parse('a.conflist', '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{}]}');
  t.same([p.info.network, p.info.cniVersion, p.info.plugins], ['n', '1.0.0', ['bridge']]);
});

t.test('nesting is bounded before anything recurses over it', async (t) => {
  const deep = `{"name":"n","type":"x","a":${'['.repeat(200)}${']'.repeat(200)}}`;
  t.equal(parse('a.conf', deep).info.error, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  t.equal(jsonDepth({ a: [{ b: 1 }] }), 3);
  const veryDeep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  t.equal(parse('a.conf', veryDeep).info.error, `nested deeper than ${MAX_JSON_DEPTH} levels`);
});

t.test('long strings are cut to the text bound', async (t) => {
  const p = parse('a.conf', JSON.stringify({ name: 'n'.repeat(2000), type: 'x' }));
  t.ok(Buffer.byteLength(p.info.network!) <= 512);
  t.ok(p.info.network!.endsWith('…'));
});
