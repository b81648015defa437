// kubelab's test server, in the spirit of Kubernetes' agnhost `netexec`: it answers over HTTP with
// the pod's name, the pod's IP and the client address it saw (so a lab can prove "no NAT"), echoes
// over TCP and UDP, and understands agnhost's UDP commands (`hostname`, `echo X`, `clientip`).
//   agnhost netexec [--http-port=8080] [--udp-port=8081] [--tcp-port=N]
//   agnhost pause
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';

function podIP(): string {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (name === 'lo') continue;
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return '127.0.0.1';
}

function flags(args: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(args[i]!);
    if (!m) throw new Error(`unexpected argument ${args[i]}`);
    out.set(m[1]!, m[2] ?? args[++i] ?? '');
  }
  return out;
}

const clean = (addr: string | undefined) => (addr ?? '').replace(/^::ffff:/, '');

function identity(client: string, port: number | undefined) {
  return { pod: os.hostname(), podIP: podIP(), client: `${client}:${port ?? 0}`, clientIP: client };
}

function netexec(opts: Map<string, string>): void {
  // Each port flag takes a list ("80,81"): the policy truth table serves several ports per pod.
  const list = (v: string | undefined, d: string) => (v ?? d).split(',').map(Number).filter((n) => n > 0);
  const httpPorts = list(opts.get('http-port'), '8080');
  const udpPorts = list(opts.get('udp-port'), '8081');
  const tcpPorts = list(opts.get('tcp-port'), '');

  for (const httpPort of httpPorts) {
    http
      .createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://agnhost');
        const client = clean(req.socket.remoteAddress);
        const reply = (code: number, body: string, type = 'text/plain') => {
          res.writeHead(code, { 'content-type': type });
          res.end(body);
        };
        switch (url.pathname) {
          case '/':
            return reply(200, JSON.stringify({ ...identity(client, req.socket.remotePort), path: url.pathname }) + '\n', 'application/json');
          case '/hostname':
            return reply(200, os.hostname());
          case '/clientip':
            return reply(200, `${client}:${req.socket.remotePort}`);
          case '/echo':
            return reply(200, url.searchParams.get('msg') ?? '');
          case '/healthz':
            return reply(200, 'ok');
          case '/exit':
            reply(200, 'exiting');
            return void setTimeout(() => process.exit(Number(url.searchParams.get('code') ?? 0)), 50);
          default:
            return reply(404, 'not found\n');
        }
      })
      .listen(httpPort, '0.0.0.0');
  }

  for (const udpPort of udpPorts) {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const text = msg.toString().trim();
      let answer: string;
      if (text === 'hostname') answer = os.hostname();
      else if (text === 'clientip') answer = `${rinfo.address}:${rinfo.port}`;
      else if (text.startsWith('echo ')) answer = text.slice(5);
      else answer = JSON.stringify(identity(rinfo.address, rinfo.port));
      sock.send(answer, rinfo.port, rinfo.address);
    });
    sock.bind(udpPort, '0.0.0.0');
  }

  for (const tcpPort of tcpPorts) net.createServer((s) => s.pipe(s)).listen(tcpPort, '0.0.0.0');
}

function main(argv: string[]): void {
  const [command = 'netexec', ...rest] = argv;
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  if (command === 'pause') return void setInterval(() => {}, 1 << 30);
  if (command === 'netexec') return netexec(flags(rest));
  process.stderr.write(`agnhost: unknown command ${command} (kubelab's agnhost knows netexec and pause)\n`);
  process.exit(2);
}

main(process.argv.slice(2));
