// Registry credentials the way Docker keeps them: `docker login` writes
// $DOCKER_CONFIG/config.json (default ~/.docker/config.json) with
//   {"auths": {"registry.example:5000": {"auth": base64("user:password")}}}
// kubelab reads the same file, so a learner's `docker login` (or skopeo's, with --authfile) works
// for FROM and `kubelab image pull` unchanged. Credential helpers (credsStore) are not run.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
}

/** The credentials config.json holds for a registry host (`127.0.0.1:5000`), if any. */
export function credentialsFor(registry: string, file = dockerConfigPath()): Credentials | undefined {
  if (!existsSync(file)) return undefined;
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: typeof auths }).auths ?? {};
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  // Keys may be bare hosts or URLs (`https://index.docker.io/v1/`).
  const entry = Object.entries(auths).find(([k]) => k.replace(/^https?:\/\//, '').replace(/\/.*$/, '') === registry)?.[1];
  if (!entry) return undefined;
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (!entry.auth) return undefined;
  const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon < 0) throw new Error(`${file}: the auth of ${registry} is not base64 of user:password`);
  return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
}
