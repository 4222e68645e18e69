// Node names are Kubernetes DNS-1123 subdomains.
import t from 'tap';
import { isDns1123Subdomain } from '../../common/names.js';

t.test('accepts DNS-1123 subdomains', async (t) => {
  for (const name of ['a', '0', 'node-1', 'worker-a.example.com', 'ip-192-0-2-10.ec2.internal', 'a.b.c', '1-2-3', 'x'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`]) {
    t.ok(isDns1123Subdomain(name), name);
  }
  t.equal(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`.length, 253);
});

t.test('refuses what is not one', async (t) => {
  for (const name of ['', 'Node-1', 'NODE', 'node_1', 'node 1', '-node', 'node-', '.node', 'node.', 'a..b', 'a.-b', 'a-.b', 'nöde', 'node/1', 'node:1', '*', 'a\nb', ' a']) {
    t.notOk(isDns1123Subdomain(name), JSON.stringify(name));
  }
});

t.test('at most 253 characters', async (t) => {
  const n253 = Array.from({ length: 4 }, (_, i) => String.fromCharCode(97 + i).repeat(i === 3 ? 61 : 63)).join('.');
  t.equal(n253.length, 253);
  t.ok(isDns1123Subdomain(n253));
  t.notOk(isDns1123Subdomain(`${n253}a`), '254 characters, every label within 63');
});

t.test('a label longer than 63 characters is a valid Kubernetes node name', async (t) => {
  t.ok(isDns1123Subdomain('a'.repeat(64)));
  t.ok(isDns1123Subdomain(`${'a'.repeat(100)}.example`));
});
