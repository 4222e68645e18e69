// The pure derivations from wire-form objects.
import t from 'tap';
import { dnsFromObjects, dnsView, networkPolicyFromObject, nodeFromObject, objectKey, serviceFromObject, sliceFromObject, type WireObject } from '../../../aggregator/kubernetes/objects.js';
import { makeEndpointSlice, makeNode, makeService } from '../../helpers/fake-kube-api.js';

const wire = (o: unknown): WireObject => o as WireObject;

t.test('nodeFromObject', async (t) => {
  t.same(nodeFromObject(wire(makeNode('n1', { ips: ['192.0.2.1', '2001:db8::1'], zone: 'z1', legacyZone: 'old', podCIDRs: ['10.0.0.0/24'], podCIDR: '10.9.9.0/24' }))), {
    name: 'n1',
    internalIPs: ['192.0.2.1', '2001:db8::1'],
    zone: 'z1',
    podCidrs: ['10.0.0.0/24'],
    ready: true,
    unschedulable: false,
  }, 'topology label and podCIDRs win over their legacy forms; Hostname addresses are left out');
  t.match(nodeFromObject(wire(makeNode('n2', { legacyZone: 'old', podCIDR: '10.9.9.0/24', ready: false, unschedulable: true }))), {
    zone: 'old',
    podCidrs: ['10.9.9.0/24'],
    ready: false,
    unschedulable: true,
    internalIPs: [],
  });
  t.same(nodeFromObject(wire({ metadata: { name: 'bare' } })), { name: 'bare', internalIPs: [], zone: '', podCidrs: [], ready: false, unschedulable: false }, 'no Ready condition: not ready');
  t.equal(nodeFromObject(wire({ metadata: { name: 'u' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })).ready, false);
});

t.test('dnsFromObjects', async (t) => {
  const svc = wire(makeService('kube-system', 'kube-dns', ['198.51.100.10', '2001:db8:53::a']));
  const a = wire(makeEndpointSlice('kube-system', 'a', 'kube-dns', [{ ip: '203.0.113.2', pod: 'p1', node: 'n1', ready: false }], 1053));
  const b = wire(makeEndpointSlice('kube-system', 'b', 'kube-dns', [{ ip: '203.0.113.2', pod: 'p1', node: 'n1', ready: true }, { ip: '203.0.113.1' }]));
  t.same(dnsFromObjects(svc, [b, a]), {
    clusterIPs: ['198.51.100.10', '2001:db8:53::a'],
    port: 1053,
    endpoints: [
      { name: '203.0.113.1', address: '203.0.113.1', ready: true, node: null },
      { name: 'p1', address: '203.0.113.2', ready: true, node: 'n1' },
    ],
  }, 'an address in two slices is listed once, ready if either says so; the port named dns/UDP');
  const noDnsPort = wire({ metadata: { name: 's', namespace: 'kube-system' }, addressType: 'IPv4', endpoints: [], ports: [{ name: 'metrics', protocol: 'TCP', port: 9153 }, { name: 'dns', protocol: 'TCP', port: 5353 }] });
  t.equal(dnsFromObjects(svc, [noDnsPort]).port, 53, 'no UDP port named dns: 53');
  const fqdn = wire({ metadata: { name: 'f', namespace: 'kube-system' }, addressType: 'FQDN', endpoints: [{ addresses: ['dns.example.'] }] });
  t.same(dnsFromObjects(svc, [fqdn]).endpoints, [], 'FQDN slices are not addresses');
  t.same(dnsFromObjects(undefined, []), { clusterIPs: [], port: 53, endpoints: [] }, 'no service yet');
  t.same(dnsFromObjects(wire({ metadata: { name: 'x' }, spec: { clusterIP: '198.51.100.20' } }), []).clusterIPs, ['198.51.100.20'], 'clusterIP when clusterIPs is absent');
  t.same(dnsFromObjects(wire({ metadata: { name: 'x' }, spec: { clusterIP: 'None', clusterIPs: ['None'] } }), []).clusterIPs, [], 'headless');
});

t.test('the reduced forms kept of a Service and an EndpointSlice', async (t) => {
  t.same(serviceFromObject(wire(makeService('kube-system', 'kube-dns', ['198.51.100.10', '2001:db8:53::a']))), { clusterIPs: ['198.51.100.10', '2001:db8:53::a'] });
  const slice = wire(makeEndpointSlice('kube-system', 's', 'kube-dns', [{ ip: '203.0.113.2', pod: 'p1', node: 'n1', ready: false }, { ip: '203.0.113.3' }], 1053));
  t.same(sliceFromObject(slice), {
    key: 'kube-system/s',
    dnsPort: 1053,
    endpoints: [
      { name: 'p1', address: '203.0.113.2', ready: false, node: 'n1' },
      { name: '203.0.113.3', address: '203.0.113.3', ready: true, node: null },
    ],
  }, 'labels, ports other than dns/UDP, conditions other than ready are not kept');
  t.same(sliceFromObject(wire({ metadata: { name: 'f', namespace: 'ns' }, addressType: 'FQDN', endpoints: [{ addresses: ['dns.example.'] }], ports: [{ name: 'dns', protocol: 'UDP', port: 53 }] })), { key: 'ns/f', dnsPort: null, endpoints: [] });
  t.same(dnsView(undefined, [sliceFromObject(slice)]), dnsFromObjects(undefined, [slice]), 'the view of reduced objects is the view of the objects');
});

t.test('networkPolicyFromObject', async (t) => {
  t.same(networkPolicyFromObject(wire({ metadata: { name: 'p', namespace: 'ns' }, spec: { podSelector: {}, ingress: [] } })), { namespace: 'ns', name: 'p', podSelector: {}, policyTypes: ['Ingress'], spec: { podSelector: {}, ingress: [] } });
  t.same(networkPolicyFromObject(wire({ metadata: { name: 'p', namespace: 'ns' }, spec: { podSelector: {}, egress: [] } })).policyTypes, ['Ingress', 'Egress'], 'defaulted as the API server does');
  t.same(networkPolicyFromObject(wire({ metadata: { name: 'p', namespace: 'ns' }, spec: { podSelector: {}, policyTypes: ['Egress'] } })).policyTypes, ['Egress']);
});

t.test('objectKey', async (t) => {
  t.equal(objectKey(wire({ metadata: { name: 'n' } })), 'n');
  t.equal(objectKey(wire({ metadata: { name: 'n', namespace: 'ns' } })), 'ns/n');
});
