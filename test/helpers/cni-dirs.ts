// A node's CNI dirs for loopback tests, as a bridge + host-local node has them:
// one conflist, small 0755 stand-ins for the plugin binaries (hashed, never
// run) and host-local's IPAM dir with a few addresses allocated.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CNI_NETWORK = 'loopback-pods';

export interface CniDirs {
  readonly confDir: string;
  readonly binDir: string;
  readonly ipamDir: string;
}

/** The conflist of a bridge + portmap chain with host-local over `subnet`. */
export function bridgeConflist(subnet: string, mtu: number, network = CNI_NETWORK): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: network,
    plugins: [
      { type: 'bridge', bridge: 'cni0', isGateway: true, mtu, ipam: { type: 'host-local', ranges: [[{ subnet }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  })}\n`;
}

/** Lays out `<root>/<name>/{net.d,bin,networks}` for node i (pod CIDR 10.244.i.0/28, 3 addresses used). */
export function writeCniNode(root: string, name: string, i: number, mtu = 1450): CniDirs {
  const d = { confDir: join(root, name, 'net.d'), binDir: join(root, name, 'bin'), ipamDir: join(root, name, 'networks') };
  for (const dir of [d.confDir, d.binDir, join(d.ipamDir, CNI_NETWORK)]) mkdirSync(dir, { recursive: true });
  writeFileSync(join(d.confDir, '10-pods.conflist'), bridgeConflist(`10.244.${i}.0/28`, mtu));
  for (const p of ['bridge', 'host-local', 'portmap']) writeFileSync(join(d.binDir, p), `#!/bin/false\n${p} v1.5.1\n`, { mode: 0o755 });
  for (let k = 2; k < 5; k++) writeFileSync(join(d.ipamDir, CNI_NETWORK, `10.244.${i}.${k}`), 'c\neth0\n');
  return d;
}

/** The agent flags that point it at `d`. */
export function cniFlags(d: CniDirs): Record<string, string> {
  return { cni: 'on', 'cni-conf-dir': d.confDir, 'cni-bin-dir': d.binDir, 'ipam-dir': d.ipamDir };
}
