// CNI benchmark: what one assessCni (aggregator/cni/assess.ts) costs at 1,000
// and 5,000 nodes, in three clusters:
//
// healthy   every node the same bridge + host-local conflist and binaries, its
//           own /24 (no overlap), one pool each;
// drifted   the same, with 5 % of the nodes drifted, each to an MTU of its own
//           (one config group per drifted node: one diff each) and with a
//           bridge binary of its own (one CniPluginVersionSkew with 5 % outliers);
// overlap   every node's pod CIDR the same 10.244.0.0/16: N(N-1)/2 overlaps,
//           listed up to the cap and counted past it.
//
// Reference measured in the same run: sorting the same N pod CIDRs' bounds
// (first, last address as BigInt, parsed beforehand) by start, the least an
// overlap check that does not compare every pair must do. The evaluator runs
// every half interval (2.5 s at the default 5 s), stretched to 4 × its own
// duration; the table says what share of a core the CNI part takes there.
// BENCH_CNI_NODES (default 1000,5000) and BENCH_CNI_CASES (healthy,drifted,
// overlap) choose what runs; each case repeats up to 5 times within ~20 s and
// prints the median.
import { canonicalJson, sha256Hex } from '../agent/cni/normalize.js';
import { assessCni, type CniAssessment, type CniAssessOptions, type CniNodeInput } from '../aggregator/cni/assess.js';
import { cidrBounds, parseCidr } from '../common/cidr.js';
import type { CniSnapshot } from '../common/cni.js';
import { median } from './proc-stats.js';

const SIZES = (process.env.BENCH_CNI_NODES ?? '1000,5000').split(',').map(Number);
const CASES = (process.env.BENCH_CNI_CASES ?? 'healthy,drifted,overlap').split(',') as Case[];
const REPEATS = 5;
const BUDGET_MS = 20_000;
const EVALUATION_PERIOD_MS = 2_500;
const NOW = Date.parse('2026-11-25T10:00:00Z');
const OPTIONS: CniAssessOptions = { poolThreshold: 0.9, serviceCidrs: [parseCidr('10.96.0.0/12')!], externalCidrs: [], staleAfterMs: 15 * 60_000 };

type Case = 'healthy' | 'drifted' | 'overlap';

const BRIDGE = sha256Hex('bridge v1.4.0');
const PORTMAP = sha256Hex('portmap v1.4.0');
const HOST_LOCAL = sha256Hex('host-local v1.4.0');

/** One node's snapshot as the agent takes it of a bridge + host-local conflist. */
function snapshot(podCidr: string, mtu: number, bridgeSha: string): CniSnapshot {
  const config = {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, mtu, ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  const normalized = canonicalJson(config);
  return {
    takenAtMs: NOW,
    full: true,
    files: [{ name: '10-bridge.conflist', size: 400, sha256: sha256Hex(podCidr), valid: true, error: null, cniVersion: '1.0.0', network: 'k8s-pod-network', plugins: ['bridge', 'portmap'], ipamType: 'host-local', ranges: [podCidr] }],
    effective: {
      file: '10-bridge.conflist',
      network: 'k8s-pod-network',
      cniVersion: '1.0.0',
      plugins: ['bridge', 'portmap'],
      ipamType: 'host-local',
      normalized,
      hash: sha256Hex(normalized),
      perNode: { 'plugins[0].ipam.ranges': canonicalJson([[{ subnet: podCidr }]]) },
      podCidrs: [podCidr],
    },
    binaries: [
      { plugin: 'bridge', size: 4_200_000, sha256: bridgeSha, error: null },
      { plugin: 'portmap', size: 3_900_000, sha256: PORTMAP, error: null },
      { plugin: 'host-local', size: 3_100_000, sha256: HOST_LOCAL, error: null },
    ],
    pools: [{ network: 'k8s-pod-network', range: podCidr, size: 253, used: 10 + (podCidr.length % 50) }],
    errors: [],
  };
}

/** A /24 of its own per node, clear of the service range 10.96.0.0/12. */
const ownCidr = (i: number) => `10.${128 + (i >> 8)}.${i & 255}.0/24`;

/** 0..n-1 in an order fixed by a seed (xorshift32 + Fisher-Yates): node names and pod CIDRs are not assigned in the same order in a real cluster. */
function shuffled(n: number, seed = 0x9e3779b9): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let x = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function cluster(n: number, c: Case): CniNodeInput[] {
  const order = shuffled(n);
  return Array.from({ length: n }, (_, i) => {
    const drifted = c === 'drifted' && i % 20 === 7;
    const snap = snapshot(c === 'overlap' ? '10.244.0.0/16' : ownCidr(order[i]!), drifted ? 1000 + i : 1450, drifted ? sha256Hex(`bridge ${i}`) : BRIDGE);
    return { node: `node-${String(i).padStart(4, '0')}`, snapshot: snap, receivedAt: NOW - 5_000 };
  });
}

function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}

/** Median of up to REPEATS runs, fewer when one run is long (at least one). */
function measure(f: () => void): { ms: number; runs: number } {
  const runs: number[] = [];
  const started = performance.now();
  while (runs.length < REPEATS && (runs.length === 0 || performance.now() - started < BUDGET_MS)) runs.push(time(f));
  return { ms: median(runs), runs: runs.length };
}

/** The reference: the N pod CIDRs' bounds, parsed beforehand, sorted by start (then end). */
function sortReference(inputs: readonly CniNodeInput[]): number {
  const bounds = inputs.flatMap((n) => (n.snapshot?.effective?.podCidrs ?? []).map((t) => cidrBounds(parseCidr(t)!)));
  return measure(() => {
    [...bounds].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : a.last < b.last ? 1 : a.last > b.last ? -1 : 0));
  }).ms;
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));

export function cniBenchmark(): void {
  console.log(`cni: assessCni per evaluation; reference: sorting the same pod CIDR bounds; median of up to ${REPEATS} runs`);
  for (const n of SIZES) {
    for (const c of CASES) {
      const inputs = cluster(n, c);
      const ref = sortReference(inputs);
      // One untimed run so the code is warm (and a case too slow to repeat says so at once).
      let a: CniAssessment = assessCni(inputs, NOW, OPTIONS);
      const { ms, runs } = measure(() => (a = assessCni(inputs, NOW, OPTIONS)));
      const kinds = new Map<string, number>();
      for (const x of a.conditions) kinds.set(x.kind, (kinds.get(x.kind) ?? 0) + 1);
      const period = Math.max(EVALUATION_PERIOD_MS, 4 * ms);
      console.log(
        `  ${n} nodes, ${c}: ${fmt(ms)} ms (${runs} runs) = ${(ms / ref).toFixed(0)} × sorting ${n} CIDR bounds (${fmt(ref)} ms); ${((ms * 1e3) / n).toFixed(1)} µs per node; ` +
          `at the default interval every ${(period / 1000).toFixed(1)} s, ${((100 * ms) / period).toFixed(1)} % of a core`,
      );
      console.log(
        `    groups ${a.groups.length}, overlaps ${a.summary.overlaps.toLocaleString('en')} (${a.overlaps.length} listed, ${a.overlapsDropped.toLocaleString('en')} dropped), ` +
          `conditions ${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
      );
    }
  }
}
