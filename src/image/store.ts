// src/image owns images at rest: the local image store, layer tarballs, and the interchange formats
// (OCI image layout, docker-archive). It knows nothing of containers or the cluster.
//
// The store is itself an OCI image layout (<root>/oci: oci-layout, index.json, blobs/sha256/...), one
// manifest per tag, annotated org.opencontainers.image.ref.name = the normalized reference, so
// `skopeo inspect oci:/var/lib/kubelab/images/oci:busybox:latest` reads it. Beside it,
// <root>/layers/<diffID hex>/ holds each layer unpacked once, in overlayfs lower-dir form.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, promises as fsp, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { extractLayer, type LayerBlob } from './layers.ts';

export const REF_ANNOTATION = 'org.opencontainers.image.ref.name';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** The OCI image config, as Docker and BuildKit write it. */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
    Shell?: string[];
    OnBuild?: string[] | null;
    ArgsEscaped?: boolean;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

export interface StoredImage {
  ref: string;
  digest: string;
  manifest: OciManifest;
  config: OciImageConfig;
  layers: { digest: string; diffID: string; size: number; mediaType: string }[];
}

/**
 * A reference in the store's normal form: docker.io/ and library/ dropped, :latest added when the
 * reference has neither tag nor digest. `docker.io/library/busybox` → `busybox:latest`.
 */
export function normalizeRef(ref: string): string {
  let r = ref.trim();
  if (!r) throw new ImageNotFound(ref, []);
  const at = r.indexOf('@');
  const digest = at >= 0 ? r.slice(at) : '';
  if (at >= 0) r = r.slice(0, at);
  const parts = r.split('/');
  if (parts.length > 1 && (parts[0] === 'docker.io' || parts[0] === 'index.docker.io')) parts.shift();
  if (parts.length > 1 && parts[0] === 'library') parts.shift();
  r = parts.join('/');
  const lastSlash = r.lastIndexOf('/');
  const hasTag = r.lastIndexOf(':') > lastSlash;
  if (digest) return r + digest;
  return hasTag ? r : `${r}:latest`;
}

export class ImageNotFound extends Error {
  constructor(
    readonly ref: string,
    known: string[],
  ) {
    super(`image ${JSON.stringify(ref)} not found in the local store${known.length ? ` (it has: ${known.join(', ')})` : ' (it is empty)'}`);
  }
}

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const hexOf = (digest: string) => digest.replace(/^sha256:/, '');

async function fileDigest(file: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) (h.update(chunk as Buffer), (size += (chunk as Buffer).length));
  return { digest: `sha256:${h.digest('hex')}`, size };
}

export class ImageStore {
  readonly oci: string;
  readonly layersDir: string;

  constructor(readonly root: string = process.env.KUBELAB_IMAGES_DIR ?? '/var/lib/kubelab/images') {
    this.oci = path.join(root, 'oci');
    this.layersDir = path.join(root, 'layers');
    mkdirSync(path.join(this.oci, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(this.layersDir, { recursive: true });
    if (!existsSync(path.join(this.oci, 'oci-layout'))) writeFileSync(path.join(this.oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    if (!existsSync(path.join(this.oci, 'index.json'))) this.writeIndex({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
  }

  blobPath(digest: string): string {
    return path.join(this.oci, 'blobs', 'sha256', hexOf(digest));
  }

  private readIndex(): { schemaVersion: 2; mediaType?: string; manifests: Descriptor[] } {
    return JSON.parse(readFileSync(path.join(this.oci, 'index.json'), 'utf8'));
  }

  private writeIndex(index: object): void {
    const tmp = path.join(this.oci, `.index.json.${process.pid}.${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, JSON.stringify(index));
    renameSync(tmp, path.join(this.oci, 'index.json'));
  }

  /** Stores bytes (or a file, moved in) by digest; idempotent. */
  async putBlob(data: Buffer | string): Promise<{ digest: string; size: number }> {
    if (Buffer.isBuffer(data)) {
      const digest = sha256(data);
      const p = this.blobPath(digest);
      if (!existsSync(p)) {
        const tmp = `${p}.${process.pid}.tmp`;
        writeFileSync(tmp, data);
        renameSync(tmp, p);
      }
      return { digest, size: data.length };
    }
    const d = await fileDigest(data);
    const p = this.blobPath(d.digest);
    if (!existsSync(p)) {
      const tmp = `${p}.${process.pid}.tmp`;
      await fsp.copyFile(data, tmp);
      renameSync(tmp, p);
    }
    return d;
  }

  /** Writes config and manifest for `layers` (already tarred) and tags the result `ref`. */
  async putImage(ref: string, config: OciImageConfig, layers: LayerBlob[]): Promise<StoredImage> {
    for (const l of layers) {
      const stored = await this.putBlob(l.path);
      if (stored.digest !== l.digest) throw new Error(`layer ${l.path}: digest ${stored.digest} differs from ${l.digest}`);
    }
    const cfg = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) } }));
    const cfgDesc = await this.putBlob(cfg);
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, ...cfgDesc },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const m = await this.putBlob(Buffer.from(JSON.stringify(manifest)));
    this.tagDescriptor(ref, { mediaType: MANIFEST_MEDIA_TYPE, ...m });
    return this.resolve(ref);
  }

  /** Points `ref` at a manifest (moving the tag if it pointed elsewhere). */
  tagDescriptor(ref: string, desc: Descriptor): void {
    const name = normalizeRef(ref);
    const index = this.readIndex();
    index.manifests = index.manifests.filter((d) => d.annotations?.[REF_ANNOTATION] !== name);
    index.manifests.push({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [REF_ANNOTATION]: name }, platform: { architecture: 'amd64', os: 'linux' } });
    this.writeIndex(index);
  }

  async tag(ref: string, target: string): Promise<void> {
    const img = await this.resolve(target);
    this.tagDescriptor(ref, { mediaType: MANIFEST_MEDIA_TYPE, digest: img.digest, size: readFileSync(this.blobPath(img.digest)).length });
  }

  async list(): Promise<{ ref: string; digest: string; size: number; created?: string }[]> {
    const out = [];
    for (const d of this.readIndex().manifests) {
      const ref = d.annotations?.[REF_ANNOTATION];
      if (!ref) continue;
      const img = await this.resolve(ref);
      out.push({ ref, digest: d.digest, size: img.layers.reduce((a, l) => a + l.size, 0), created: img.config.created });
    }
    return out;
  }

  async resolve(ref: string): Promise<StoredImage> {
    const name = normalizeRef(ref);
    const index = this.readIndex();
    const byDigest = name.includes('@') ? name.slice(name.indexOf('@') + 1) : undefined;
    const desc = index.manifests.find((d) => d.annotations?.[REF_ANNOTATION] === name || (byDigest && d.digest === byDigest));
    if (!desc) throw new ImageNotFound(ref, index.manifests.map((d) => d.annotations?.[REF_ANNOTATION]).filter((x): x is string => !!x));
    const manifest: OciManifest = JSON.parse(readFileSync(this.blobPath(desc.digest), 'utf8'));
    const config: OciImageConfig = JSON.parse(readFileSync(this.blobPath(manifest.config.digest), 'utf8'));
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== manifest.layers.length) throw new Error(`image ${name}: ${manifest.layers.length} layers but ${diffIDs.length} diff_ids`);
    return {
      ref: name,
      digest: desc.digest,
      manifest,
      config,
      layers: manifest.layers.map((l, i) => ({ digest: l.digest, diffID: diffIDs[i]!, size: l.size, mediaType: l.mediaType })),
    };
  }

  /** Where a layer is (or will be) unpacked, in overlayfs lower-dir form. */
  layerDir(diffID: string): string {
    return path.join(this.layersDir, hexOf(diffID));
  }

  /**
   * Takes in a layer made here (a build step's): its tar is moved into the blobs (not copied), and
   * `unpacked`, the directory it was tarred from (overlayfs form), is kept as the layer's unpacked
   * copy, so nothing has to extract the tar again. Either may already be there: then ours goes.
   */
  async adoptLayer(blob: LayerBlob, unpacked?: string): Promise<void> {
    const target = this.blobPath(blob.digest);
    if (!existsSync(target)) {
      try {
        renameSync(blob.path, target);
      } catch {
        await this.putBlob(blob.path); // another filesystem: copy it in
      }
    }
    const dir = this.layerDir(blob.diffID);
    if (unpacked && !existsSync(dir)) {
      try {
        renameSync(unpacked, dir);
      } catch {
        /* raced with another process, or another filesystem: layerDirs extracts it when needed */
      }
    }
  }

  /** The image's layers unpacked for overlayfs, top-most first (lowerdir order). Unpacks as needed. */
  async layerDirs(img: Pick<StoredImage, 'layers'>): Promise<string[]> {
    const dirs: string[] = [];
    for (const l of img.layers) {
      const dir = this.layerDir(l.diffID);
      if (!existsSync(dir)) {
        // Unpack beside it, then rename: concurrent callers and crashes never see half a layer.
        const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
        mkdirSync(tmp, { mode: 0o755 });
        try {
          await extractLayer(this.blobPath(l.digest), tmp, { mode: 'overlay' });
          await fsp.chmod(tmp, 0o755);
          try {
            renameSync(tmp, dir);
          } catch (e) {
            if (!existsSync(dir)) throw e; // another process won the race: use its copy
          }
        } finally {
          rmSync(tmp, { recursive: true, force: true });
        }
      }
      dirs.push(dir);
    }
    return dirs.reverse();
  }

  /** Drops a tag (the blobs stay until prune). */
  remove(ref: string): boolean {
    const name = normalizeRef(ref);
    const index = this.readIndex();
    const before = index.manifests.length;
    index.manifests = index.manifests.filter((d) => d.annotations?.[REF_ANNOTATION] !== name);
    this.writeIndex(index);
    return index.manifests.length < before;
  }
}
