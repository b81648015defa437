// Where an image comes from, as one string (what a Dockerfile's FROM, or a user, writes):
//   oci:DIR[:REF]  oci-layout://DIR[:REF]     an OCI image layout directory (REF: its ref.name)
//   docker-archive:FILE[:REF]                 a `docker save` tarball
//   docker-daemon:REF  docker-image://REF     an image of the Docker engine (DOCKER_HOST or the option)
//   localhost:5000/lab/busybox:1              a reference naming a registry: the store's copy, else pulled
//                                             (with the credentials of Docker's config.json unless given)
//   busybox, busybox:latest                   the local store
// resolveImageSource brings the image into the store (when it is not there) and returns it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { credentialsFor } from './credentials.ts';
import { dockerAvailable, dockerClient, dockerSocketPath, importFromDocker } from './docker-engine.ts';
import { importDockerArchive, importOciLayout } from './import.ts';
import { hasRegistryHost, parseReference, pullImage, storeNameOf, type PullOptions } from './registry.ts';
import { ImageNotFound, normalizeRef, REF_ANNOTATION, type Descriptor, type ImageStore, type StoredImage } from './store.ts';

export class SourceError extends Error {}

export type ImageSource =
  | { kind: 'oci-layout'; dir: string; ref?: string }
  | { kind: 'docker-archive'; file: string; ref?: string }
  | { kind: 'docker-daemon'; ref: string }
  | { kind: 'registry'; ref: string }
  | { kind: 'store'; ref: string };

/** A path and an optional `:REF` after it (paths cannot hold a colon here, as in skopeo). */
function pathAndRef(rest: string): { path: string; ref?: string } {
  const colon = rest.indexOf(':');
  if (colon < 0) return { path: rest };
  const ref = rest.slice(colon + 1);
  return ref ? { path: rest.slice(0, colon), ref } : { path: rest.slice(0, colon) };
}

/** The kind of source a spec names (no I/O). */
export function parseImageSource(spec: string): ImageSource {
  const s = spec.trim();
  if (!s) throw new SourceError('image source is empty');
  const prefixed = (prefix: string) => (s.startsWith(prefix) ? s.slice(prefix.length) : undefined);
  const need = (what: string, rest: string) => {
    if (!rest) throw new SourceError(`image source ${JSON.stringify(spec)}: ${what} is missing`);
    return rest;
  };
  let rest: string | undefined;
  if ((rest = prefixed('oci-layout://')) !== undefined || (rest = prefixed('oci:')) !== undefined) {
    const p = pathAndRef(need('the layout directory', rest));
    return { kind: 'oci-layout', dir: need('the layout directory', p.path), ...(p.ref ? { ref: p.ref } : {}) };
  }
  if ((rest = prefixed('docker-archive:')) !== undefined) {
    const p = pathAndRef(need('the archive file', rest));
    return { kind: 'docker-archive', file: need('the archive file', p.path), ...(p.ref ? { ref: p.ref } : {}) };
  }
  if ((rest = prefixed('docker-daemon:')) !== undefined || (rest = prefixed('docker-image://')) !== undefined) {
    return { kind: 'docker-daemon', ref: need('the image reference', rest) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(s)) throw new SourceError(`image source ${JSON.stringify(spec)}: unknown transport (use oci:, oci-layout://, docker-archive:, docker-daemon:, docker-image:// or a reference)`);
  return hasRegistryHost(s) || s.startsWith('docker.io/') ? { kind: 'registry', ref: s } : { kind: 'store', ref: s };
}

export interface SourceOptions extends PullOptions {
  /** The engine for docker-daemon: sources (default: a client of dockerSocket / DOCKER_HOST). */
  docker?: Dockerode;
  dockerSocket?: string;
  /** Registry references: `missing` (default) pulls only what the store lacks; `always`; `never`. */
  pull?: 'missing' | 'always' | 'never';
}

async function inStore(store: ImageStore, ref: string): Promise<StoredImage | undefined> {
  try {
    return await store.resolve(ref);
  } catch (e) {
    if (e instanceof ImageNotFound) return undefined;
    throw e;
  }
}

/** The store name for a layout's image: its ref.name when it is a full reference, else DIR's name:ref. */
function layoutImageName(dir: string, refName: string): string {
  return refName.includes('/') || refName.includes(':') ? refName : `${path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:${refName}`;
}

async function fromOciLayout(store: ImageStore, spec: string, dir: string, ref: string | undefined, as: string | undefined): Promise<StoredImage> {
  const indexFile = path.join(dir, 'index.json');
  if (!existsSync(indexFile)) throw new SourceError(`image source ${spec}: ${dir} is not an OCI image layout (no index.json)`);
  let manifests: Descriptor[];
  try {
    manifests = (JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests?: Descriptor[] }).manifests ?? [];
  } catch (e) {
    throw new SourceError(`image source ${spec}: ${indexFile}: ${(e as Error).message}`);
  }
  const names = manifests.map((m) => m.annotations?.[REF_ANNOTATION]).filter((n): n is string => !!n);
  let refName = ref;
  if (!refName) {
    if (manifests.length !== 1) throw new SourceError(`image source ${spec}: the layout holds ${manifests.length} images; name one as oci:${dir}:REF (it has: ${names.join(', ') || 'none named'})`);
    refName = names[0];
  }
  if (refName && !names.includes(refName)) throw new SourceError(`image source ${spec}: the layout has no image named ${JSON.stringify(refName)} (it has: ${names.join(', ') || 'none named'})`);
  const name = as ?? (refName ? layoutImageName(dir, refName) : `${layoutImageName(dir, 'latest')}`);
  const [img] = await importOciLayout(store, dir, refName, name);
  return img!;
}

async function fromDockerArchive(store: ImageStore, spec: string, file: string, ref: string | undefined, as: string | undefined): Promise<StoredImage> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new SourceError(`image source ${spec}: ${file} is not a file`);
  const images = await importDockerArchive(store, file, ref ? undefined : as);
  if (ref) {
    const img = await inStore(store, ref);
    if (!img || !images.some((i) => i.digest === img.digest)) throw new SourceError(`image source ${spec}: the archive has no image tagged ${ref} (it has: ${images.map((i) => i.ref).join(', ')})`);
    if (as) await store.tag(as, img.ref);
    return as ? store.resolve(as) : img;
  }
  if (images.length !== 1) throw new SourceError(`image source ${spec}: the archive holds ${images.length} images; name one as docker-archive:${file}:REF (it has: ${images.map((i) => i.ref).join(', ')})`);
  return images[0]!;
}

async function fromDockerDaemon(store: ImageStore, spec: string, ref: string, opts: SourceOptions): Promise<StoredImage> {
  const docker = opts.docker ?? dockerClient(opts.dockerSocket);
  if (!opts.docker && !(await dockerAvailable(opts.dockerSocket))) {
    throw new SourceError(`image source ${spec}: no Docker engine answers on ${dockerSocketPath(opts.dockerSocket)} (set DOCKER_HOST=unix://PATH or pass the socket)`);
  }
  const images = await importFromDocker(store, docker, ref, opts.as ? { as: opts.as } : {});
  // `docker save busybox` names its image busybox:latest; pick the one asked for when several came.
  const wanted = normalizeRef(ref);
  return images.find((i) => i.ref === wanted) ?? images[0]!;
}

/**
 * The stored image a source spec names, brought into the store first when it comes from outside.
 * Errors say which source could not be found and why.
 */
export async function resolveImageSource(store: ImageStore, spec: string, opts: SourceOptions = {}): Promise<StoredImage> {
  const source = parseImageSource(spec);
  switch (source.kind) {
    case 'oci-layout':
      return fromOciLayout(store, spec, source.dir, source.ref, opts.as);
    case 'docker-archive':
      return fromDockerArchive(store, spec, source.file, source.ref, opts.as);
    case 'docker-daemon':
      return fromDockerDaemon(store, spec, source.ref, opts);
    case 'registry': {
      const name = opts.as ?? storeNameOf(parseReference(source.ref));
      const pull = opts.pull ?? 'missing';
      // The lab's own images carry registry names too (registry.k8s.io/e2e-test-images/agnhost:2.43).
      const have = pull === 'always' ? undefined : (await inStore(store, name)) ?? (opts.as ? undefined : await inStore(store, source.ref));
      if (have) return have;
      if (pull === 'never') throw new SourceError(`image source ${spec}: not in the local store, and pulling is off`);
      // Without credentials given, those `docker login` left in Docker's config.json, if any.
      const auth = opts.auth ?? credentialsFor(parseReference(source.ref).registry);
      return (await pullImage(store, source.ref, { ...opts, as: name, ...(auth ? { auth } : {}) })).image;
    }
    case 'store': {
      const img = await inStore(store, source.ref);
      if (img) return img;
      const known = (await store.list()).map((i) => i.ref);
      throw new SourceError(
        `image source ${spec}: no image ${normalizeRef(source.ref)} in the local store (it has: ${known.join(', ') || 'nothing'}); name a registry (localhost:5000/${source.ref}) or a transport (oci:DIR, docker-archive:FILE, docker-daemon:REF) to bring it in`,
      );
    }
  }
}
