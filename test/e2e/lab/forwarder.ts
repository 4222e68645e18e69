// The program lab.forward() runs inside a namespace (as `node -e`): it listens
// on a Unix socket, which any namespace reaches through the filesystem, and pipes
// each connection to ip:port in its own namespace. It exits on SIGTERM, or when
// its stdin closes (the process that started it is gone).
// Runs inside a lab namespace: a Unix socket (reachable from any namespace through the filesystem) piped to ip:port.
export const FORWARD_SCRIPT = `
const net = require('node:net');
const fs = require('node:fs');
const [path, host, port] = process.argv.slice(1);
fs.rmSync(path, { force: true });
// Half-open both ways, so a client's end() reaches the server and the answer still comes back.
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ host, port: Number(port), allowHalfOpen: true });
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream).pipe(client);
});
server.listen(path, () => process.stdout.write('ready\\n'));
const stop = () => { server.close(); fs.rmSync(path, { force: true }); process.exit(0); };
process.on('SIGTERM', stop);
process.stdin.on('end', stop).resume();
`;
