// A tiny HTTP proxy on 127.0.0.1 in front of a test registry that flips one byte in the body of the
// responses a predicate picks (headers, Docker-Content-Digest included, untouched unless asked): a
// registry, or a network, serving corrupted content, which digest verification must catch.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TamperProxy {
  host: string;
  /** The paths whose bodies were changed. */
  tampered: string[];
  close(): Promise<void>;
}

export async function startTamperProxy(targetPort: number, shouldTamper: (method: string, path: string) => boolean, opts: { dropDigestHeader?: boolean } = {}): Promise<TamperProxy> {
  const tampered: string[] = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      const pathname = (req.url ?? '').split('?')[0]!;
      if (up.statusCode !== 200 || !shouldTamper(req.method ?? 'GET', pathname)) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        if (body.length) {
          const at = Math.floor(body.length / 2);
          body[at] = body[at]! ^ 0x01;
          tampered.push(pathname);
        }
        const headers = { ...up.headers };
        if (opts.dropDigestHeader) delete headers['docker-content-digest'];
        res.writeHead(up.statusCode ?? 200, headers);
        res.end(body);
      });
    });
    upstream.once('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    tampered,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
