// A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 at a free
// port, its storage in a temporary directory, and either `auth: token` against a token server this
// process runs (token-server.ts) or `auth: htpasswd` (Basic challenges; bcrypt lines). Start, then
// always stop(): the registry is stopped by its PID, the token server closed, the directory removed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { atExit, freePort, killNow, running, spawnDaemon, stopDaemon, waitReady, type Daemon } from './processes.ts';
import { startTokenServer, type TokenServer } from './token-server.ts';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:PORT`: the registry part of references. */
  host: string;
  port: number;
  dir: string;
  /** distribution's filesystem storage root (blobs under docker/registry/v2/blobs). */
  storage: string;
  /** The token server, in token mode. */
  token?: TokenServer;
  daemon: Daemon;
  stop(): Promise<void>;
}

export type RegistryOptions =
  | { auth?: 'token'; users: Record<string, string>; anonymousPull?: boolean }
  /** `htpasswd`: its lines, `user:bcrypt-hash` (distribution reads bcrypt only). */
  | { auth: 'htpasswd'; htpasswd: string };

function authYaml(dir: string, token: TokenServer | undefined): string {
  if (!token) return `auth:\n  htpasswd:\n    realm: kubelab-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  return `auth:
  token:
    realm: ${token.realm}
    service: ${token.service}
    issuer: ${token.issuer}
    rootcertbundle: ${token.certFile}
`;
}

function configYaml(port: number, storage: string, auth: string): string {
  // `secret` only signs upload state between requests; a random one per run is fine.
  return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${auth}`;
}

/** Answers GET /v2/ (401 is an answer: the registry is up and wants a token). */
function pingStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
  });
}

export async function startRegistry(opts: RegistryOptions): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kltest-registry-'));
  const storage = path.join(dir, 'storage');
  let token: TokenServer | undefined;
  let daemon: Daemon | undefined;
  const unhook = atExit(() => {
    if (daemon) killNow(daemon);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    if (opts.auth === 'htpasswd') writeFileSync(path.join(dir, 'htpasswd'), `${opts.htpasswd.trim()}\n`);
    else token = await startTokenServer({ dir, service: `kubelab-test-${path.basename(dir)}`, issuer: 'kubelab-test-issuer', users: opts.users, anonymousPull: opts.anonymousPull });
    // The port is free when we look and taken when the registry binds: another run may take it in
    // between, so a failed start is tried again on a new port (three times at most).
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'config.yml');
      writeFileSync(config, configYaml(port, storage, authYaml(dir, token)));
      const d = spawnDaemon([REGISTRY_BINARY, 'serve', config], path.join(dir, `registry-${attempt}.log`), { PATH: process.env.PATH ?? '/usr/bin:/bin' });
      daemon = d;
      if (await waitReady(async () => (await pingStatus(port)) === 401, () => running(d), 15_000)) {
        const t = token;
        return {
          host: `127.0.0.1:${port}`,
          port,
          dir,
          storage,
          token: t,
          daemon: d,
          stop: async () => {
            await stopDaemon(d, 5000);
            await t?.close();
            rmSync(dir, { recursive: true, force: true });
            unhook();
          },
        };
      }
      await stopDaemon(d, 2000);
      const log = d.logTail();
      if (attempt >= 3 || !/address already in use/.test(log)) throw new Error(`docker-registry did not come up on 127.0.0.1:${port}:\n${log}`);
    }
  } catch (e) {
    if (daemon) await stopDaemon(daemon, 2000);
    await token?.close();
    rmSync(dir, { recursive: true, force: true });
    unhook();
    throw e;
  }
}
