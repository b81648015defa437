// Images between the local store and a Docker engine, over its API (dockerode on a unix socket):
//   importFromDocker: GET /images/{name}/get (what `docker save` does), streamed to a temporary
//     docker-archive and imported from there;
//   loadIntoDocker: POST /images/load of a docker-archive (what `docker load` does);
//   dockerAvailable: GET /_ping, with a short bound.
// The socket is the option's, else DOCKER_HOST's (unix:// only), else /var/run/docker.sock.
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { importDockerArchive } from './import.ts';
import type { ImageStore, StoredImage } from './store.ts';

export class DockerEngineError extends Error {}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** The engine's socket: `socketPath`, else DOCKER_HOST (unix://PATH), else /var/run/docker.sock. */
export function dockerSocketPath(socketPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (socketPath) return socketPath.replace(/^unix:\/\//, '');
  const host = env.DOCKER_HOST;
  if (!host) return DEFAULT_DOCKER_SOCKET;
  if (host.startsWith('unix://')) return host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET;
  throw new DockerEngineError(`DOCKER_HOST=${host}: only unix:// sockets are supported (kubelab talks to local engines only)`);
}

// dockerode (and its dependency tree) is loaded on first use: most kubelab commands never talk to a
// Docker engine, and loading it costs every CLI start about 90 ms.
let DockerodeClass: typeof Dockerode | undefined;
function engineClient(opts: Dockerode.DockerOptions): Dockerode {
  DockerodeClass ??= createRequire(import.meta.url)('dockerode') as typeof Dockerode;
  return new DockerodeClass(opts);
}

/** A client of the engine at the socket (see dockerSocketPath). */
export function dockerClient(socketPath?: string): Dockerode {
  return engineClient({ socketPath: dockerSocketPath(socketPath) });
}

/** Whether an engine answers its ping on the socket within `timeoutMs`. Never throws. */
export async function dockerAvailable(socketPath?: string, timeoutMs = 3000): Promise<boolean> {
  let socket: string;
  try {
    socket = dockerSocketPath(socketPath);
  } catch {
    return false;
  }
  if (!existsSync(socket)) return false;
  try {
    const reply = await engineClient({ socketPath: socket, timeout: timeoutMs }).ping();
    return String(reply) === 'OK';
  } catch {
    return false;
  }
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;
const reasonOf = (e: unknown) => {
  const err = e as { statusCode?: number; json?: { message?: string }; message?: string };
  return `${err.statusCode ? `${err.statusCode} ` : ''}${err.json?.message ?? err.message ?? String(e)}`.trim();
};

/**
 * Copies the engine's image `ref` into the store (tagged as the engine's RepoTags, or `as`). The
 * archive goes through a temporary file, never through memory.
 */
export async function importFromDocker(store: ImageStore, docker: Dockerode, ref: string, opts: { as?: string; tmpDir?: string } = {}): Promise<StoredImage[]> {
  const scratch = mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), 'kubelab-docker-save-'));
  const file = path.join(scratch, 'image.tar');
  try {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.getImage(ref).get();
    } catch (e) {
      const why = statusOf(e) === 404 ? `the engine has no image ${JSON.stringify(ref)} (${reasonOf(e)})` : reasonOf(e);
      throw new DockerEngineError(`docker engine: saving ${ref}: ${why}`);
    }
    try {
      await pipeline(stream as Readable, createWriteStream(file));
    } catch (e) {
      throw new DockerEngineError(`docker engine: saving ${ref}: the stream broke: ${(e as Error).message}`);
    }
    return await importDockerArchive(store, file, opts.as);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The engine's progress messages of a load, one JSON object a line. */
interface LoadMessage {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** Parses a load's answer: the names it loaded (`Loaded image: …`), or the error it reported. */
export function parseLoadOutput(text: string): { loaded: string[]; error?: string } {
  const loaded: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let msg: LoadMessage;
    try {
      msg = JSON.parse(line) as LoadMessage;
    } catch {
      continue; // progress bars and the like
    }
    if (msg.error || msg.errorDetail) return { loaded, error: msg.errorDetail?.message ?? msg.error };
    const m = /Loaded image(?: ID)?: (\S+)/.exec(msg.stream ?? '');
    if (m) loaded.push(m[1]!);
  }
  return { loaded };
}

/** Loads a docker-archive into the engine; returns what the engine says it loaded. */
export async function loadIntoDocker(docker: Dockerode, archiveFile: string): Promise<string[]> {
  if (!existsSync(archiveFile)) throw new DockerEngineError(`docker engine: load: ${archiveFile} does not exist`);
  let response: NodeJS.ReadableStream;
  try {
    response = await docker.loadImage(createReadStream(archiveFile), { quiet: false });
  } catch (e) {
    throw new DockerEngineError(`docker engine: load of ${archiveFile}: ${reasonOf(e)}`);
  }
  const chunks: Buffer[] = [];
  for await (const c of response as Readable) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  const result = parseLoadOutput(Buffer.concat(chunks).toString('utf8'));
  if (result.error) throw new DockerEngineError(`docker engine: load of ${archiveFile}: ${result.error}`);
  return result.loaded;
}
