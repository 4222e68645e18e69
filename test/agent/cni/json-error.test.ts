// Where a config's JSON goes wrong, with a position that does not depend on the V8 version.
import t from 'tap';
import { locateJsonError } from '../../../agent/cni/json-error.js';

t.test('valid JSON has no error', async (t) => {
  for (const ok of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]} ', '"s"', '0']) t.equal(locateJsonError(ok), undefined, ok);
});

t.test('each kind of mistake, with its position, line and column', async (t) => {
  const cases: [string, number, string][] = [
    ['{"a": 1,}', 8, "trailing comma before '}'"],
    ['[1, 2,]', 6, "trailing comma before ']'"],
    ['{"a": 1 "b": 2}', 8, "expected ',' or '}' after a property value"],
    ['[1 2]', 3, "expected ',' or ']' after an array element"],
    ["{'a': 1}", 1, 'expected a property name in double quotes'],
    ['{"a" 1}', 5, "expected ':' after a property name"],
    ['{"a": tru}', 6, 'unexpected character "t"'],
    ['{"a": 01}', 7, 'bad number'],
    ['{"a": "x', 8, 'unterminated string'],
    ['{"a": "\\q"}', 7, 'bad escape "\\\\q"'],
    ['{"a": "\t"}', 7, 'control character U+0009 inside a string (must be escaped)'],
    ['{"a": 1} x', 9, 'unexpected data after the JSON value'],
    ['{"a": [1, 2', 11, 'unexpected end of input'],
    ['', 0, 'unexpected end of input'],
  ];
  for (const [text, position, reason] of cases) {
    const e = locateJsonError(text);
    t.same(e && { position: e.position, reason: e.reason }, { position, reason }, text);
  }
  const multi = locateJsonError('{\n  "a": 1,\n  "b": ]\n}');
  t.same(multi, { position: 19, line: 3, column: 8, reason: 'unexpected character "]"' });
});

t.test('a megabyte of "[" is an error, not a stack overflow', async (t) => {
  const e = locateJsonError('['.repeat(1024 * 1024));
  t.equal(e?.reason, 'unexpected end of input');
  t.equal(e?.position, 1024 * 1024);
});
