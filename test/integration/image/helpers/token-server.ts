// A token server of the registry token-auth protocol, in the test's own process on 127.0.0.1: it
// checks Basic credentials against a user table, and answers GET /token?service=&scope=... with a
// JWT signed RS256 by a key made with openssl, the certificate in the header's x5c (the registry
// trusts it through its rootcertbundle), the claims granting what each scope asks.
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { parseScope } from '../../../../src/image/registry-auth.ts';

export interface TokenRequestRecord {
  account?: string;
  scopes: string[];
  outcome: 'issued' | 'refused';
}

export interface TokenServer {
  /** The realm to configure: http://127.0.0.1:PORT/token. */
  realm: string;
  service: string;
  issuer: string;
  /** The certificate (PEM) the registry must trust. */
  certFile: string;
  requests: TokenRequestRecord[];
  close(): Promise<void>;
}

export interface TokenServerOptions {
  dir: string;
  service: string;
  issuer: string;
  users: Record<string, string>;
  /** Whether a request without credentials gets a pull-only token (default: refused). */
  anonymousPull?: boolean;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A throwaway RSA key and self-signed certificate, made by openssl. */
async function makeSigningKey(dir: string): Promise<{ key: KeyObject; certFile: string; certDer: string }> {
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=kubelab test token issuer', '-keyout', keyFile, '-out', certFile]);
  const pem = readFileSync(certFile, 'utf8');
  const certDer = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return { key: createPrivateKey(readFileSync(keyFile)), certFile, certDer };
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Basic realm="kubelab test token server"' } : {}) });
  res.end(JSON.stringify({ errors: [{ code, message }] }));
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const { key, certFile, certDer } = await makeSigningKey(opts.dir);
  const requests: TokenRequestRecord[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const scopes = url.searchParams.getAll('scope');
    if (url.pathname !== '/token' || req.method !== 'GET') return refuse(res, 404, 'NOT_FOUND', 'only GET /token');
    if (url.searchParams.get('service') !== opts.service) return refuse(res, 400, 'DENIED', `service must be ${opts.service}`);
    let account: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith('Basic ')) {
      const [user, ...pw] = Buffer.from(authz.slice(6), 'base64').toString().split(':');
      if (!user || opts.users[user] === undefined || opts.users[user] !== pw.join(':')) {
        requests.push({ account: user, scopes, outcome: 'refused' });
        return refuse(res, 401, 'UNAUTHORIZED', 'invalid username or password');
      }
      account = user;
    } else if (!opts.anonymousPull) {
      requests.push({ scopes, outcome: 'refused' });
      return refuse(res, 401, 'UNAUTHORIZED', 'authentication required');
    }
    const access = scopes
      .map(parseScope)
      .filter((s): s is NonNullable<typeof s> => !!s)
      .map((s) => ({ type: s.type, name: s.name, actions: account ? s.actions : s.actions.filter((a) => a === 'pull') }));
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: opts.issuer, sub: account ?? '', aud: opts.service, exp: now + 600, nbf: now - 30, iat: now, jti: randomBytes(12).toString('hex'), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${signingInput}.${b64url(sign('sha256', Buffer.from(signingInput), key))}`;
    requests.push({ account, scopes, outcome: 'issued' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 600, issued_at: new Date(now * 1000).toISOString() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: opts.service,
    issuer: opts.issuer,
    certFile,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
