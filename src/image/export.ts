// Images out of the store, into the interchange formats other tools read:
//   writeOciLayout: an OCI image layout directory (oci-layout, index.json naming each image with
//     org.opencontainers.image.ref.name, blobs/sha256/...), as skopeo's `oci:DIR:REF` and umoci read
//     it. Writing into an existing layout keeps its other images; a name written again moves.
//   writeDockerArchive: `docker save`'s tarball (manifest.json with Config/RepoTags/Layers, the
//     config as <image id>.json, each layer as <id>/layer.tar uncompressed, and the legacy
//     `repositories` file), for `docker load` and skopeo's `docker-archive:FILE`.
import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, promises as fsp, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { OCI_INDEX, OCI_MANIFEST, toOciManifest, type ImageIndex } from './manifests.ts';
import { chainId } from '../runtime/spec/imageconfig.ts';
import { normalizeRef, REF_ANNOTATION, sha256, type Descriptor, type ImageStore, type StoredImage } from './store.ts';

export class ExportError extends Error {}

const hexOf = (digest: string) => digest.replace(/^sha256:/, '');

/** Writes `data` to `file` through a temporary beside it, so readers never see half a file. */
function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The image's manifest as OCI media types (the store may hold Docker v2 manifests from old imports). */
function ociManifestBytes(store: ImageStore, img: StoredImage): { bytes: Buffer; digest: string } {
  const raw = readFileSync(store.blobPath(img.digest));
  const { manifest, converted } = toOciManifest(img.manifest);
  if (!converted) return { bytes: raw, digest: img.digest };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, digest: sha256(bytes) };
}

export interface OciLayoutOptions {
  /** The ref.name to give each image, by store reference (default: its store name, `busybox:latest`). */
  names?: Record<string, string>;
}

/**
 * Writes the images `refs` into the OCI layout at `dir` (made when absent). Returns the index
 * entries written. Blobs are copied (a reflink where the filesystem has them), never linked: a tool
 * changing the layout cannot change the store.
 */
export async function writeOciLayout(store: ImageStore, refs: string[], dir: string, opts: OciLayoutOptions = {}): Promise<Descriptor[]> {
  if (!refs.length) throw new ExportError(`OCI layout ${dir}: no images to write`);
  const images = await Promise.all(refs.map((r) => store.resolve(r)));
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layoutFile = path.join(dir, 'oci-layout');
  if (existsSync(layoutFile)) {
    const version = (JSON.parse(readFileSync(layoutFile, 'utf8')) as { imageLayoutVersion?: string }).imageLayoutVersion;
    if (version !== '1.0.0') throw new ExportError(`OCI layout ${dir}: imageLayoutVersion ${JSON.stringify(version)} is not 1.0.0; refusing to add to it`);
  } else writeAtomic(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexFile = path.join(dir, 'index.json');
  let index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  if (existsSync(indexFile)) {
    try {
      index = JSON.parse(readFileSync(indexFile, 'utf8')) as ImageIndex;
    } catch (e) {
      throw new ExportError(`OCI layout ${dir}: index.json is not JSON (${(e as Error).message}); refusing to overwrite it`);
    }
    if (!Array.isArray(index.manifests)) throw new ExportError(`OCI layout ${dir}: index.json has no manifests list; refusing to overwrite it`);
  }
  const copyBlob = async (digest: string) => {
    const to = path.join(blobs, hexOf(digest));
    if (existsSync(to)) return;
    const tmp = `${to}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fsp.copyFile(store.blobPath(digest), tmp, constants.COPYFILE_FICLONE);
    renameSync(tmp, to);
  };
  const written: Descriptor[] = [];
  for (const [i, img] of images.entries()) {
    const name = opts.names?.[refs[i]!] ?? img.ref;
    const manifest = ociManifestBytes(store, img);
    for (const l of img.layers) await copyBlob(l.digest);
    await copyBlob(img.manifest.config.digest);
    const manifestFile = path.join(blobs, hexOf(manifest.digest));
    if (!existsSync(manifestFile)) writeAtomic(manifestFile, manifest.bytes);
    const platform = { architecture: img.config.architecture, os: img.config.os, ...((img.config as { variant?: string }).variant ? { variant: (img.config as { variant?: string }).variant! } : {}) };
    const desc: Descriptor = { mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.bytes.length, annotations: { [REF_ANNOTATION]: name }, platform };
    index.manifests = index.manifests.filter((d) => d.annotations?.[REF_ANNOTATION] !== name);
    index.manifests.push(desc);
    written.push(desc);
  }
  writeAtomic(indexFile, JSON.stringify(index));
  return written;
}

// ---------------------------------------------------------------------------------------------
// docker-archive

export interface ArchiveImage {
  /** The config blob's digest: Docker's image ID. */
  configDigest: string;
  /** `busybox:latest`, `localhost:5000/lab/x:1` (refs by digest cannot be RepoTags). */
  repoTags: string[];
  diffIDs: string[];
}

export interface ArchiveManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface ArchivePlan {
  /** manifest.json. */
  manifest: ArchiveManifestEntry[];
  /** The legacy `repositories` file: repository → tag → the top layer's ID. */
  repositories: Record<string, Record<string, string>>;
  /** Each layer directory once (images sharing a stack share its directories): its ID, parent and diffID. */
  layers: { id: string; parent?: string; diffID: string }[];
}

/**
 * A layer directory's ID: the layer's chain ID (ChainID(1) = DiffID(1), ChainID(n) =
 * sha256(ChainID(n-1) + " " + DiffID(n))), so the same stack of layers gets the same directories.
 */
export function chainIDs(diffIDs: string[]): string[] {
  return diffIDs.map((_, i) => chainId(diffIDs.slice(0, i + 1)));
}

/** Splits `localhost:5000/lab/x:1` into repository and tag at the tag's colon (not the port's). */
function splitRepoTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

/** What goes in the archive, as data: unit tests check its shape, writeDockerArchive follows it. */
export function dockerArchivePlan(images: ArchiveImage[]): ArchivePlan {
  const manifest: ArchiveManifestEntry[] = [];
  const repositories: ArchivePlan['repositories'] = {};
  const layers: ArchivePlan['layers'] = [];
  const seen = new Set<string>();
  for (const img of images) {
    const ids = chainIDs(img.diffIDs).map(hexOf);
    ids.forEach((id, i) => {
      if (seen.has(id)) return;
      seen.add(id);
      layers.push({ id, diffID: img.diffIDs[i]!, ...(i > 0 ? { parent: ids[i - 1]! } : {}) });
    });
    manifest.push({ Config: `${hexOf(img.configDigest)}.json`, RepoTags: img.repoTags.length ? img.repoTags : null, Layers: ids.map((id) => `${id}/layer.tar`) });
    const top = ids[ids.length - 1];
    for (const t of img.repoTags) {
      const [repo, tag] = splitRepoTag(t);
      if (top) (repositories[repo] ??= {})[tag] = top;
    }
  }
  return { manifest, repositories, layers };
}

/** A layer as docker wants it, an uncompressed tar on disk, checked against its diffID. */
async function plainLayer(store: ImageStore, layer: StoredImage['layers'][number], scratch: string): Promise<string> {
  const blob = store.blobPath(layer.digest);
  const head = Buffer.alloc(2);
  const fh = await fsp.open(blob, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  if (!gzipped) {
    if (layer.digest !== layer.diffID) throw new ExportError(`layer ${layer.digest}: an uncompressed layer whose diffID is ${layer.diffID}`);
    return blob;
  }
  const out = path.join(scratch, `${hexOf(layer.diffID)}.tar`);
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(blob), createGunzip(), tap, createWriteStream(out));
  const got = `sha256:${hash.digest('hex')}`;
  if (got !== layer.diffID) throw new ExportError(`layer ${layer.digest}: uncompressed digest ${got} does not match the config's diffID ${layer.diffID}`);
  return out;
}

/**
 * Writes the images `refs` as one docker-archive at `file` (through a temporary beside it). Refs of
 * the same image share one entry with several RepoTags, as `docker save a b` does.
 */
export async function writeDockerArchive(store: ImageStore, refs: string[], file: string): Promise<ArchivePlan> {
  if (!refs.length) throw new ExportError(`docker-archive ${file}: no images to write`);
  const byConfig = new Map<string, { img: StoredImage; tags: string[] }>();
  for (const ref of refs) {
    const img = await store.resolve(ref);
    const entry = byConfig.get(img.manifest.config.digest) ?? { img, tags: [] };
    const name = normalizeRef(ref);
    if (!name.includes('@') && !entry.tags.includes(name)) entry.tags.push(name);
    byConfig.set(img.manifest.config.digest, entry);
  }
  const entries = [...byConfig.values()];
  const plan = dockerArchivePlan(entries.map(({ img, tags }) => ({ configDigest: img.manifest.config.digest, repoTags: tags, diffIDs: img.layers.map((l) => l.diffID) })));
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'kubelab-export-'));
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const pack = tar.pack();
    const written = pipeline(pack, createWriteStream(tmp));
    const mtime = new Date(0);
    const addBuffer = (name: string, data: string | Buffer) =>
      new Promise<void>((resolve, reject) => pack.entry({ name, mtime, mode: 0o644 }, data, (e) => (e ? reject(e) : resolve())));
    const addFile = async (name: string, source: string) => {
      const { size } = await fsp.stat(source);
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name, size, mtime, mode: 0o644 }, (e) => (e ? reject(e) : resolve()));
        pipeline(createReadStream(source), entry).catch(reject);
      });
    };
    const layerOf = new Map<string, StoredImage['layers'][number]>();
    for (const { img } of entries) for (const l of img.layers) layerOf.set(l.diffID, l);
    for (const l of plan.layers) {
      await new Promise<void>((resolve, reject) => pack.entry({ name: `${l.id}/`, type: 'directory', mtime, mode: 0o755 }, (e) => (e ? reject(e) : resolve())));
      await addBuffer(`${l.id}/VERSION`, '1.0');
      await addBuffer(`${l.id}/json`, JSON.stringify({ id: l.id, ...(l.parent ? { parent: l.parent } : {}), created: mtime.toISOString(), container_config: {} }));
      await addFile(`${l.id}/layer.tar`, await plainLayer(store, layerOf.get(l.diffID)!, scratch));
    }
    for (const { img } of entries) await addBuffer(`${hexOf(img.manifest.config.digest)}.json`, readFileSync(store.blobPath(img.manifest.config.digest)));
    await addBuffer('manifest.json', JSON.stringify(plan.manifest));
    await addBuffer('repositories', JSON.stringify(plan.repositories));
    pack.finalize();
    await written;
    renameSync(tmp, file);
    return plan;
  } finally {
    rmSync(tmp, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}
