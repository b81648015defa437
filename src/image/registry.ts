// A client of the OCI distribution API (the protocol of Docker Hub, distribution's registry, quay,
// ghcr ...): pull an image into the local store, push one from it. What it does on the wire:
//   GET /v2/ (ping) → 401 with a WWW-Authenticate challenge → a token from the Bearer realm (with
//   Basic credentials when given) or Basic credentials themselves → the request again, authorized;
//   manifests asked for with every media type we read (OCI index/manifest, Docker list/schema 2);
//   an index narrowed to one platform; every manifest and blob checked against its digest while it
//   streams to disk, so nothing unverified ever enters the store.
// HTTP for loopback hosts and when `insecure`, HTTPS otherwise. Node's http/https only.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  isImageManifestType,
  isIndexType,
  MANIFEST_ACCEPT,
  ManifestError,
  manifestMediaType,
  OCI_MANIFEST,
  parsePlatform,
  selectPlatform,
  toOciManifest,
  type ImageIndex,
  type Platform,
} from './manifests.ts';
import { parseWwwAuthenticate, repositoryScope, scopesOf, type Challenge } from './registry-auth.ts';
import type { Descriptor, ImageStore, OciImageConfig, OciManifest, StoredImage } from './store.ts';

// ---------------------------------------------------------------------------------------------
// References

export interface ImageReference {
  /** The registry as written (`localhost:5000`, `ghcr.io`), `docker.io` when none was. */
  registry: string;
  /** The repository path inside it (`lab/busybox`; `library/busybox` on docker.io). */
  repository: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

/** Docker's rule: the first component is a registry when it has a dot or a port, or is localhost. */
const looksLikeRegistry = (component: string) => component.includes('.') || component.includes(':') || component === 'localhost';

/** Whether the reference names its registry (`localhost:5000/x`, `ghcr.io/x`) rather than defaulting to docker.io. */
export function hasRegistryHost(ref: string): boolean {
  const slash = ref.indexOf('/');
  return slash > 0 && looksLikeRegistry(ref.slice(0, slash));
}

/**
 * `localhost:5000/lab/busybox:1` → {registry: localhost:5000, repository: lab/busybox, tag: 1};
 * `host/repo@sha256:…` → a digest; `busybox` → docker.io, library/busybox, latest.
 */
export function parseReference(ref: string): ImageReference {
  const text = ref.trim();
  const bad = (why: string) => new ReferenceError(`image reference ${JSON.stringify(ref)}: ${why}`);
  if (!text) throw bad('it is empty');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`${JSON.stringify(digest)} is not a digest (algorithm:hex)`);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw bad(`only sha256 digests (64 hex digits) are supported, not ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`${JSON.stringify(tag)} is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && looksLikeRegistry(parts[0]!)) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw bad(`${JSON.stringify(registry)} is not a registry host[:port]`);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!PATH_COMPONENT.test(p)) throw bad(`repository component ${JSON.stringify(p)} must be lower-case letters and digits, separated by . _ __ or -`);
  }
  const repository = parts.join('/');
  if (repository.length > 255) throw bad('the repository name is longer than 255 characters');
  if (!tag && !digest) tag = 'latest';
  return digest ? (tag ? { registry, repository, tag, digest } : { registry, repository, digest }) : { registry, repository, tag: tag! };
}

/** The reference in full: `localhost:5000/lab/busybox:1`, `docker.io/library/busybox@sha256:…`. */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** docker.io's API lives on registry-1.docker.io; every other registry serves it on its own name. */
export const apiHost = (registry: string) => (registry === 'docker.io' ? 'registry-1.docker.io' : registry);

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const hostnameOf = (host: string) => (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!);

/** HTTP for loopback registries and when asked (`insecure`), HTTPS for every other one. */
export function registryScheme(registry: string, insecure = false): 'http' | 'https' {
  return insecure || LOOPBACK.has(hostnameOf(registry)) || hostnameOf(registry).startsWith('127.') ? 'http' : 'https';
}

// ---------------------------------------------------------------------------------------------
// Errors

export class RegistryError extends Error {
  constructor(
    readonly registry: string,
    readonly repository: string | undefined,
    readonly what: string,
    readonly detail: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(`registry ${registry}: ${repository ? `repository ${repository}: ` : ''}${what}: ${detail}`);
  }
}

/** `404 MANIFEST_UNKNOWN`, with the registry's message when it says more than the code. */
function describeFailure(status: number, body: string): { detail: string; code?: string } {
  try {
    const errors = (JSON.parse(body) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    if (errors.length) {
      const code = errors.map((e) => e.code ?? 'UNKNOWN').join(', ');
      const messages = errors.map((e) => e.message).filter((m): m is string => !!m && m.toLowerCase() !== (errors[0]?.code ?? '').toLowerCase().replace(/_/g, ' '));
      return { detail: `${status} ${code}${messages.length ? `: ${messages.join('; ')}` : ''}`, code: errors[0]?.code };
    }
  } catch {
    /* not JSON */
  }
  const text = body.trim().replace(/\s+/g, ' ').slice(0, 200);
  return { detail: `${status} ${http.STATUS_CODES[status] ?? ''}${text ? `: ${text}` : ''}`.trim() };
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface RegistryOptions {
  /** Plain HTTP even for a non-loopback host. */
  insecure?: boolean;
  auth?: { username: string; password: string };
  /** A socket that sends nothing for this long fails the request (default 60 s). */
  idleTimeoutMs?: number;
}

type Body = Buffer | (() => Readable);

interface SendOptions {
  method: string;
  headers?: Record<string, string>;
  body?: Body;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const USER_AGENT = 'kubelab/0.1 (image transports)';

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`the response is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** One HTTP exchange (redirects of GET/HEAD followed, credentials dropped when they change origin). */
function sendOnce(url: URL, opts: SendOptions, agents: Agents, idleTimeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: opts.method, headers: { 'user-agent': USER_AGENT, ...opts.headers }, agent: url.protocol === 'https:' ? agents.https : agents.http });
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data for ${idleTimeoutMs} ms`)));
    req.once('response', resolve);
    req.once('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else pipeline(body(), req).catch(reject);
  });
}

interface Agents {
  http: http.Agent;
  https: https.Agent;
}

async function send(url: URL, opts: SendOptions, agents: Agents, idleTimeoutMs: number): Promise<{ res: IncomingMessage; url: URL }> {
  let current = url;
  let headers = { ...opts.headers };
  for (let hop = 0; ; hop++) {
    const res = await sendOnce(current, { ...opts, headers }, agents, idleTimeoutMs);
    const location = header(res.headers, 'location');
    const redirect = [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && location && (opts.method === 'GET' || opts.method === 'HEAD');
    if (!redirect) return { res, url: current };
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects (last to ${location})`);
    const next = new URL(location, current);
    if (next.origin !== current.origin) {
      // Blob storage behind a redirect (S3, a CDN) authorizes by the signed URL, and must not see our token.
      const { authorization: _dropped, ...rest } = headers;
      headers = rest;
    }
    current = next;
  }
}

/**
 * One repository of one registry, with the authorization its challenges asked for. Every request
 * that meets a 401 gets a token for the challenge's scope (or the Basic credentials) and is sent
 * once more; a second 401 is an error.
 */
class RegistrySession {
  readonly base: URL;
  private authorization?: string;
  private readonly scopes = new Set<string>();
  private readonly agents: Agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  private readonly idleTimeoutMs: number;

  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly actions: readonly string[],
    readonly opts: RegistryOptions,
  ) {
    this.base = new URL(`${registryScheme(registry, opts.insecure)}://${apiHost(registry)}`);
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  }

  fail(what: string, detail: string, status?: number, code?: string): RegistryError {
    return new RegistryError(this.registry, this.repository, what, detail, status, code);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** GET /v2/: is this a registry, and does it want credentials? A challenge is answered right away. */
  async ping(): Promise<void> {
    const res = await this.exchange('ping', new URL('/v2/', this.base), { method: 'GET' });
    if (res.statusCode === 200) return void res.resume();
    if (res.statusCode === 401) {
      const challenge = this.challengeOf(res, 'ping');
      res.resume();
      await this.authorize(challenge, [repositoryScope(this.repository, this.actions)]);
      return;
    }
    const body = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
    const f = describeFailure(res.statusCode ?? 0, body.toString());
    throw this.fail('ping', res.statusCode === 404 ? `${f.detail} (no /v2/ API here: is this a registry?)` : f.detail, res.statusCode);
  }

  private async exchange(what: string, url: URL, opts: SendOptions): Promise<IncomingMessage> {
    const headers = { ...opts.headers, ...(this.authorization ? { authorization: this.authorization } : {}) };
    try {
      return (await send(url, { ...opts, headers }, this.agents, this.idleTimeoutMs)).res;
    } catch (e) {
      throw this.fail(what, `${opts.method} ${url.href}: ${(e as Error).message}`);
    }
  }

  private challengeOf(res: IncomingMessage, what: string): Challenge {
    const text = header(res.headers, 'www-authenticate');
    const challenges = text ? parseWwwAuthenticate(text) : [];
    const usable = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!usable) throw this.fail(what, `401 Unauthorized without a Bearer or Basic challenge (WWW-Authenticate: ${text ?? 'absent'})`, 401);
    return usable;
  }

  /** Answers a challenge: a Bearer token for every scope asked so far, or Basic credentials. */
  private async authorize(challenge: Challenge, fallbackScopes: string[]): Promise<void> {
    const auth = this.opts.auth;
    if (challenge.scheme === 'basic') {
      if (!auth) throw this.fail('authorization', `the registry asks for credentials (Basic realm ${JSON.stringify(challenge.params.realm ?? '')}); pass a username and password`, 401);
      this.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      return;
    }
    const realm = challenge.params.realm;
    if (!realm) throw this.fail('authorization', 'the Bearer challenge names no realm (token server)', 401);
    const asked = scopesOf(challenge);
    for (const s of asked.length ? asked : fallbackScopes) this.scopes.add(s);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.fail('authorization', `the token realm ${JSON.stringify(realm)} is not a URL`, 401);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of this.scopes) url.searchParams.append('scope', s);
    if (auth) url.searchParams.set('account', auth.username);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    let res: IncomingMessage;
    try {
      res = (await send(url, { method: 'GET', headers }, this.agents, this.idleTimeoutMs)).res;
    } catch (e) {
      throw this.fail('token', `token server ${url.origin}${url.pathname}: ${(e as Error).message}`);
    }
    const body = (await readBody(res, 1024 * 1024).catch(() => Buffer.alloc(0))).toString();
    if (res.statusCode !== 200) {
      const f = describeFailure(res.statusCode ?? 0, body);
      const who = auth ? `the credentials of user ${JSON.stringify(auth.username)}` : 'an anonymous request (no credentials were given)';
      throw this.fail('token', `token server ${url.origin}${url.pathname} refused ${who} for ${[...this.scopes].join(' ')}: ${f.detail}`, res.statusCode, f.code);
    }
    let token: string | undefined;
    try {
      const parsed = JSON.parse(body) as { token?: string; access_token?: string };
      token = parsed.token ?? parsed.access_token;
    } catch {
      /* handled below */
    }
    if (!token) throw this.fail('token', `token server ${url.origin}${url.pathname} answered 200 without a token`);
    this.authorization = `Bearer ${token}`;
  }

  /**
   * A request whose status must be one of `ok`; a 401 is answered once. Failures carry the registry's
   * error code (`404 MANIFEST_UNKNOWN`). The caller reads (or drains) the returned body.
   */
  async request(what: string, pathOrUrl: string | URL, opts: SendOptions, ok: number[]): Promise<IncomingMessage> {
    const url = typeof pathOrUrl === 'string' ? new URL(pathOrUrl, this.base) : pathOrUrl;
    let res = await this.exchange(what, url, opts);
    if (res.statusCode === 401) {
      const challenge = this.challengeOf(res, what);
      res.resume();
      await this.authorize(challenge, [repositoryScope(this.repository, this.actions)]);
      res = await this.exchange(what, url, opts);
    }
    if (!ok.includes(res.statusCode ?? 0)) {
      const body = opts.method === 'HEAD' ? '' : (await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0))).toString();
      if (opts.method === 'HEAD') res.resume();
      const f = describeFailure(res.statusCode ?? 0, body);
      throw this.fail(what, `${f.detail}${res.statusCode === 401 ? this.refusalHint() : ''}`, res.statusCode, f.code);
    }
    return res;
  }

  /** After a 401 despite our authorization: what the registry refused, not just that it did. */
  private refusalHint(): string {
    if (this.authorization?.startsWith('Basic ')) return ` (the registry refused the credentials of user ${JSON.stringify(this.opts.auth?.username)})`;
    if (this.authorization) return ` (the registry refused the token server's token for ${[...this.scopes].join(' ')})`;
    return '';
  }

  repoPath(kind: 'manifests' | 'blobs', ref: string): string {
    return `/v2/${this.repository}/${kind}/${ref}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Digests

const digestAlgorithm = (digest: string) => digest.slice(0, digest.indexOf(':'));

function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** A hashing pass-through that also enforces the expected size (a registry sending more is cut off). */
function hashingCounter(expectedSize: number | undefined, algorithm: string) {
  const hash = createHash(algorithm);
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (expectedSize !== undefined && size > expectedSize) return cb(new Error(`more than the ${expectedSize} bytes the descriptor announces`));
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ digest: `${algorithm}:${hash.digest('hex')}`, size }) };
}

// ---------------------------------------------------------------------------------------------
// Pull

interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  parsed: Record<string, unknown>;
}

async function fetchManifest(session: RegistrySession, reference: string, expected?: Descriptor): Promise<FetchedManifest> {
  const what = `manifest ${reference}`;
  const res = await session.request(what, session.repoPath('manifests', reference), { method: 'GET', headers: { accept: MANIFEST_ACCEPT.join(', ') } }, [200]);
  let bytes: Buffer;
  try {
    bytes = await readBody(res, MAX_MANIFEST_BYTES);
  } catch (e) {
    throw session.fail(what, (e as Error).message);
  }
  const digest = digestOf(bytes);
  const served = header(res.headers, 'docker-content-digest');
  if (served && digestAlgorithm(served) === 'sha256' && served !== digest) {
    throw session.fail(what, `content digest ${digest} does not match the Docker-Content-Digest ${served} the registry sent`);
  }
  const wanted = expected?.digest ?? (reference.includes(':') ? reference : undefined);
  if (wanted && wanted !== digest) throw session.fail(what, `content digest ${digest} does not match the requested ${wanted}`);
  if (expected && expected.size !== bytes.length) throw session.fail(what, `${bytes.length} bytes, the index says ${expected.size}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw session.fail(what, `not JSON: ${(e as Error).message}`);
  }
  let mediaType: string;
  try {
    mediaType = manifestMediaType(parsed as never, header(res.headers, 'content-type'));
  } catch (e) {
    throw session.fail(what, (e as Error).message);
  }
  return { bytes, digest, mediaType, parsed };
}

/** Streams a blob into the store under its digest, or fails (leaving nothing) when its content has another. */
async function downloadBlob(session: RegistrySession, store: ImageStore, desc: Descriptor): Promise<void> {
  const target = store.blobPath(desc.digest);
  if (existsSync(target)) return; // the store only ever holds verified blobs
  const what = `blob ${desc.digest}`;
  if (digestAlgorithm(desc.digest) !== 'sha256') throw session.fail(what, 'only sha256 digests are supported');
  const res = await session.request(what, session.repoPath('blobs', desc.digest), { method: 'GET' }, [200]);
  const served = header(res.headers, 'docker-content-digest');
  if (served && served !== desc.digest) {
    res.resume();
    throw session.fail(what, `the registry serves content with digest ${served} for the descriptor's ${desc.digest}`);
  }
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const counter = hashingCounter(desc.size, 'sha256');
  try {
    try {
      await pipeline(res, counter.stream, createWriteStream(tmp, { mode: 0o644 }));
    } catch (e) {
      throw session.fail(what, `download failed: ${(e as Error).message}`);
    }
    const got = counter.result();
    if (got.digest !== desc.digest) throw session.fail(what, `content digest ${got.digest} does not match the descriptor's ${desc.digest}`);
    if (got.size !== desc.size) throw session.fail(what, `${got.size} bytes, the descriptor says ${desc.size}`);
    renameSync(tmp, target);
  } finally {
    rmSync(tmp, { force: true });
  }
}

export interface PullOptions extends RegistryOptions {
  /** `os/arch[/variant]`, default linux/amd64: which manifest of an index to take. */
  platform?: string;
  /** The store tag to give it (default: the full reference, `127.0.0.1:5000/lab/busybox:1`). */
  as?: string;
}

export interface PullResult {
  image: StoredImage;
  /** The digest the registry knows the image by (the index's, when it was one). */
  remoteDigest: string;
  /** The digest of the platform manifest the registry served. */
  manifestDigest: string;
  /** True when a Docker v2 manifest was rewritten with OCI media types (its digest then differs). */
  converted: boolean;
  /** The platform that was picked from an index, when there was one. */
  platform?: string;
}

/** The reference's name in the local store: the full reference (tag, or digest when pulled by one). */
export function storeNameOf(r: ImageReference): string {
  return r.digest ? `${r.registry}/${r.repository}@${r.digest}` : formatReference(r);
}

export async function pullImage(store: ImageStore, ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseReference(ref);
  const want: Platform = parsePlatform(opts.platform ?? 'linux/amd64');
  const session = new RegistrySession(r.registry, r.repository, ['pull'], opts);
  try {
    await session.ping();
    const reference = r.digest ?? r.tag!;
    let top = await fetchManifest(session, reference);
    const remoteDigest = top.digest;
    let platform: string | undefined;
    // An index points at manifests (an index inside an index happens, rarely): bounded descent.
    for (let depth = 0; isIndexType(top.mediaType); depth++) {
      if (depth >= 2) throw session.fail(`manifest ${reference}`, 'indexes nested more than two deep');
      let desc: Descriptor;
      try {
        desc = selectPlatform(top.parsed as unknown as ImageIndex, want);
      } catch (e) {
        if (e instanceof ManifestError) throw session.fail(`manifest ${reference}`, e.message);
        throw e;
      }
      platform = [desc.platform!.os, desc.platform!.architecture, desc.platform!.variant].filter(Boolean).join('/');
      top = await fetchManifest(session, desc.digest, desc);
    }
    if (!isImageManifestType(top.mediaType)) throw session.fail(`manifest ${reference}`, `${top.mediaType} is not an image manifest kubelab can run`);
    let oci: { manifest: OciManifest; converted: boolean };
    try {
      oci = toOciManifest({ ...(top.parsed as unknown as OciManifest), mediaType: top.mediaType });
    } catch (e) {
      throw session.fail(`manifest ${reference}`, (e as Error).message);
    }
    await downloadBlob(session, store, oci.manifest.config);
    const config = readConfig(session, store, oci.manifest.config.digest);
    if (config.rootfs?.diff_ids?.length !== oci.manifest.layers.length) {
      throw session.fail(`manifest ${reference}`, `${oci.manifest.layers.length} layers but the config lists ${config.rootfs?.diff_ids?.length ?? 0} diff_ids`);
    }
    if (opts.platform && !platform && (config.os !== want.os || config.architecture !== want.architecture)) {
      throw session.fail(`manifest ${reference}`, `the image is for ${config.os}/${config.architecture}, not the requested ${opts.platform}`);
    }
    for (const layer of oci.manifest.layers) await downloadBlob(session, store, layer);
    const manifestBytes = oci.converted ? Buffer.from(JSON.stringify(oci.manifest)) : top.bytes;
    const stored = await store.putBlob(manifestBytes);
    const name = opts.as ?? storeNameOf(r);
    store.tagDescriptor(name, { mediaType: OCI_MANIFEST, ...stored });
    return { image: await store.resolve(name), remoteDigest, manifestDigest: top.digest, converted: oci.converted, ...(platform ? { platform } : {}) };
  } finally {
    session.close();
  }
}

function readConfig(session: RegistrySession, store: ImageStore, digest: string): OciImageConfig {
  try {
    return JSON.parse(readFileSync(store.blobPath(digest), 'utf8')) as OciImageConfig;
  } catch (e) {
    throw session.fail(`config ${digest}`, `not an image config: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Push

export interface PushResult {
  /** The pushed manifest's digest (as the registry confirmed it). */
  digest: string;
  size: number;
  /** The full remote reference it was pushed as. */
  reference: string;
  /** Blobs sent, and blobs the registry had already. */
  uploaded: string[];
  skipped: string[];
}

async function blobExists(session: RegistrySession, digest: string): Promise<boolean> {
  const res = await session.request(`blob ${digest}`, session.repoPath('blobs', digest), { method: 'HEAD' }, [200, 404]);
  res.resume();
  return res.statusCode === 200;
}

/** A monolithic upload: POST for an upload URL, then PUT of the whole blob with ?digest=. */
async function uploadBlob(session: RegistrySession, file: string, digest: string, size: number): Promise<void> {
  const what = `upload of blob ${digest}`;
  const start = await session.request(what, `/v2/${session.repository}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' }, body: Buffer.alloc(0) }, [202]);
  start.resume();
  const location = header(start.headers, 'location');
  if (!location) throw session.fail(what, 'the registry answered 202 without a Location for the upload');
  const url = new URL(location, session.base);
  url.searchParams.set('digest', digest);
  const done = await session.request(
    what,
    url,
    { method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body: () => createReadStream(file) },
    [201],
  );
  done.resume();
  const confirmed = header(done.headers, 'docker-content-digest');
  if (confirmed && confirmed !== digest) throw session.fail(what, `the registry stored digest ${confirmed} for our ${digest}`);
}

/** Pushes a stored image (its blobs the registry lacks, then its manifest) as `remoteRef`. */
export async function pushImage(store: ImageStore, localRef: string, remoteRef: string, opts: RegistryOptions = {}): Promise<PushResult> {
  const r = parseReference(remoteRef);
  const img = await store.resolve(localRef);
  const manifestBytes = readFileSync(store.blobPath(img.digest));
  const mediaType = img.manifest.mediaType ?? OCI_MANIFEST;
  const session = new RegistrySession(r.registry, r.repository, ['pull', 'push'], opts);
  const uploaded: string[] = [];
  const skipped: string[] = [];
  try {
    await session.ping();
    for (const blob of [...img.manifest.layers, img.manifest.config]) {
      if (await blobExists(session, blob.digest)) {
        skipped.push(blob.digest);
        continue;
      }
      await uploadBlob(session, store.blobPath(blob.digest), blob.digest, blob.size);
      uploaded.push(blob.digest);
    }
    const reference = r.digest ?? r.tag!;
    if (r.digest && r.digest !== img.digest) throw session.fail(`manifest ${reference}`, `the image's digest is ${img.digest}, not the ${r.digest} the reference names`);
    const res = await session.request(
      `manifest ${reference}`,
      session.repoPath('manifests', reference),
      { method: 'PUT', headers: { 'content-type': mediaType, 'content-length': String(manifestBytes.length) }, body: manifestBytes },
      [201],
    );
    res.resume();
    const confirmed = header(res.headers, 'docker-content-digest');
    if (confirmed && confirmed !== img.digest) throw session.fail(`manifest ${reference}`, `the registry stored digest ${confirmed} for our ${img.digest}`);
    return { digest: img.digest, size: manifestBytes.length, reference: formatReference(r), uploaded, skipped };
  } finally {
    session.close();
  }
}
