// The plain tools the e2e suite measures netmatrix against, run inside lab
// namespaces: ping and fping (RTT, loss), a one-shot TCP connect, a TCP listener,
// and a DNS lookup (Node's resolver, or netmatrix's own prober: dnsQueries).
// Every call is bounded in count and time.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isListening, type Lab } from './lab.js';

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  /** Round-trip times of the replies, in ms, in order. */
  readonly rttsMs: readonly number[];
  /** ICMP errors ping reported ("Destination Host Unreachable", ...). */
  readonly errors: readonly string[];
  readonly elapsedMs: number;
  readonly output: string;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * `ping -c count -i interval -W wait` from a namespace: at most `count` probes,
 * done `waitS` after the last one at the latest. No `-w`: with a deadline, ping
 * stops at the first ICMP error, and tests count those errors. Intervals under
 * 0.2 s need root, which the lab has anyway.
 */
export async function ping(lab: Lab, ns: string, ip: string, opts: { count?: number; intervalS?: number; waitS?: number; args?: readonly string[] } = {}): Promise<PingResult> {
  const count = opts.count ?? 3;
  const interval = opts.intervalS ?? 0.05;
  const wait = opts.waitS ?? 1;
  const started = Date.now();
  const r = await lab.exec(ns, ['ping', '-n', '-c', String(count), '-i', String(interval), '-W', String(wait), ...(opts.args ?? []), ip], {
    allowFailure: true,
    timeoutMs: Math.ceil((count * interval + wait) * 1000) + 5000,
  });
  const rttsMs = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  // IPv4: "Destination Host Unreachable"; IPv6: "Destination unreachable: Address unreachable".
  const errors = [...r.stdout.matchAll(/(Destination [A-Za-z ]+Unreachable|Destination unreachable: [A-Za-z ]+|Packet filtered|Time to live exceeded)/g)].map((m) => m[1] ?? '');
  const stats = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return {
    sent: Number(stats?.[1] ?? 0),
    received: Number(stats?.[2] ?? 0),
    rttsMs,
    errors,
    elapsedMs: Date.now() - started,
    output: `${r.stdout}${r.stderr}`,
  };
}

export interface FpingResult {
  readonly sent: number;
  readonly received: number;
  readonly lossRatio: number;
  readonly output: string;
}

/** `fping -c count -p periodMs` from a namespace to one target: loss over many probes. */
export async function fping(lab: Lab, ns: string, ip: string, opts: { count?: number; periodMs?: number; timeoutMs?: number } = {}): Promise<FpingResult> {
  const count = opts.count ?? 100;
  const period = opts.periodMs ?? 10;
  const timeout = opts.timeoutMs ?? 500;
  const r = await lab.exec(ns, ['fping', '-q', '-c', String(count), '-p', String(period), '-t', String(timeout), ip], {
    allowFailure: true,
    timeoutMs: count * period + timeout + 10_000,
  });
  const m = /xmt\/rcv\/%loss = (\d+)\/(\d+)\//.exec(r.stderr + r.stdout);
  const sent = Number(m?.[1] ?? 0);
  const received = Number(m?.[2] ?? 0);
  return { sent, received, lossRatio: sent ? (sent - received) / sent : 1, output: `${r.stdout}${r.stderr}` };
}

export interface ConnectResult {
  /** 'connected', 'timeout', or the errno code (ECONNREFUSED, EHOSTUNREACH, ...). */
  readonly outcome: string;
  readonly elapsedMs: number;
}

const CONNECT_SCRIPT = `
const net = require('node:net');
const [host, port, timeout] = process.argv.slice(1);
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const s = net.connect({ host, port: Number(port) });
const done = (outcome) => { process.stdout.write(JSON.stringify({ outcome, elapsedMs: ms() })); s.destroy(); process.exit(0); };
s.setTimeout(Number(timeout), () => done('timeout'));
s.once('connect', () => done('connected'));
s.once('error', (e) => done(e.code || e.message));
`;

/** One TCP connect from a namespace (to an IPv4 or IPv6 address), timed from inside it (so node's start-up is not counted). */
export async function tcpConnect(lab: Lab, ns: string, ip: string, port: number, timeoutMs = 1000): Promise<ConnectResult> {
  const r = await lab.exec(ns, [process.execPath, '-e', CONNECT_SCRIPT, ip, String(port), String(timeoutMs)], { timeoutMs: timeoutMs + 10_000 });
  return JSON.parse(r.stdout) as ConnectResult;
}

const LISTEN_SCRIPT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen(Number(port), host);
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A TCP echo server on ip:port inside a namespace; ends with the lab (or when this process dies). */
export async function tcpListener(lab: Lab, ns: string, ip: string, port: number): Promise<ChildProcess> {
  const child = lab.spawn(ns, [process.execPath, '-e', LISTEN_SCRIPT, ip, String(port)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const until = Date.now() + 10_000;
  while (!isListening(child.pid ?? 0, ip, port, 'tcp')) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`TCP listener on ${ip}:${port} in ${ns} did not come up`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return child;
}

const RESOLVE_SCRIPT = `
const { Resolver } = require('node:dns').promises;
const [server, name] = process.argv.slice(1);
const r = new Resolver({ timeout: 1000, tries: 1 });
r.setServers([server]);
r.resolve4(name).then((a) => process.stdout.write(JSON.stringify({ addresses: a })), (e) => process.stdout.write(JSON.stringify({ error: e.code })));
`;

/** An A lookup of `name` at `server` from a namespace: the addresses, or the resolver's error code. */
export async function resolve4(lab: Lab, ns: string, server: string, name: string): Promise<{ addresses?: string[]; error?: string }> {
  const r = await lab.exec(ns, [process.execPath, '-e', RESOLVE_SCRIPT, server, name], { timeoutMs: 10_000 });
  return JSON.parse(r.stdout) as { addresses?: string[]; error?: string };
}

/** Where the compiled netmatrix is: the repository root holding package.json above this module. */
function distRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++, dir = dirname(dir)) if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist');
  throw new Error('dnsQueries: no package.json above this module');
}

export interface DnsQueryResult {
  /** The prober's outcome: ok, timeout, nxdomain, refused, ... */
  readonly outcome: string;
  readonly rttMs: number;
  readonly answers: readonly string[];
  readonly rcode: string | null;
}

const DNS_QUERIES_SCRIPT = `
const [mod, server, port, name, type, count, timeout, gap, transport] = process.argv.slice(1);
const { dnsQuery } = await import(mod);
const out = [];
for (let i = 0; i < Number(count); i++) {
  const r = await dnsQuery({ ip: server, port: Number(port) }, { name, type }, AbortSignal.timeout(Number(timeout)), { transport });
  out.push({ outcome: r.outcome, rttMs: r.rttUs / 1000, answers: r.answers, rcode: r.rcode });
  if (Number(gap) > 0) await new Promise((res) => setTimeout(res, Number(gap)));
}
process.stdout.write(JSON.stringify(out));
`;

/**
 * `count` DNS questions, one after the other, from a namespace with netmatrix's
 * own prober (dnsQuery of dist/agent/probers/dns.js: run `npm run build` first):
 * a reply counts only if it comes from the address asked (so a DNATed service
 * IP must be un-NATed on the way back). Each question has its own deadline.
 */
export async function dnsQueries(
  lab: Lab,
  ns: string,
  server: string,
  name: string,
  opts: { count?: number; timeoutMs?: number; gapMs?: number; type?: 'A' | 'AAAA'; port?: number; transport?: 'udp' | 'tcp' } = {},
): Promise<DnsQueryResult[]> {
  const mod = join(distRoot(), 'agent', 'probers', 'dns.js');
  if (!existsSync(mod)) throw new Error(`dnsQueries: ${mod} is missing: npm run build`);
  const count = opts.count ?? 1;
  const timeout = opts.timeoutMs ?? 500;
  const gap = opts.gapMs ?? 0;
  const argv = [process.execPath, '--input-type=module', '-e', DNS_QUERIES_SCRIPT, pathToFileURL(mod).href, server, String(opts.port ?? 53), name, opts.type ?? 'A', String(count), String(timeout), String(gap), opts.transport ?? 'udp'];
  const r = await lab.exec(ns, argv, { timeoutMs: count * (timeout + gap) + 10_000 });
  return JSON.parse(r.stdout) as DnsQueryResult[];
}
