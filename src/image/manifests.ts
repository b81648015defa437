// Manifests as the transports meet them: the media types of OCI and Docker v2 schema 2, turning a
// Docker manifest into the OCI one the store keeps (the config and layer blobs are the same bytes,
// only the manifest's media types change), and picking one platform's manifest out of an index or a
// manifest list. Pure: no I/O, so the registry client, the exporters and unit tests share it.
import { CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, type Descriptor, type OciManifest } from './store.ts';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = MANIFEST_MEDIA_TYPE;
export const OCI_CONFIG = CONFIG_MEDIA_TYPE;
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const DOCKER_LAYER_FOREIGN_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

/** What a registry client accepts, best first: both index kinds, then both single-image kinds. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

export const isIndexType = (t: string | undefined) => t === OCI_INDEX || t === DOCKER_MANIFEST_LIST;
export const isImageManifestType = (t: string | undefined) => t === OCI_MANIFEST || t === DOCKER_MANIFEST;

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export class ManifestError extends Error {}

/** Docker media types of a layer mapped to OCI's; layers already OCI stay as they are. */
const LAYER_TO_OCI: Record<string, string> = {
  [DOCKER_LAYER_GZIP]: OCI_LAYER_GZIP,
  [DOCKER_LAYER]: OCI_LAYER,
  [DOCKER_LAYER_FOREIGN_GZIP]: OCI_LAYER_NONDISTRIBUTABLE_GZIP,
};

/** The layer media types the store can unpack (extractLayer reads tar and gzip'd tar). */
const UNPACKABLE = new Set([OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_NONDISTRIBUTABLE_GZIP, 'application/vnd.oci.image.layer.nondistributable.v1.tar']);

/**
 * The manifest's media type: the one it declares, else the transport's Content-Type. A Docker v2
 * manifest always declares its type; an OCI one may leave it out (then config/layers vs manifests tell).
 */
export function manifestMediaType(parsed: { mediaType?: string; manifests?: unknown; config?: unknown; schemaVersion?: number }, contentType?: string): string {
  if (parsed.mediaType) return parsed.mediaType;
  const ct = contentType?.split(';')[0]?.trim();
  if (ct && ct !== 'application/json' && ct !== 'text/plain') return ct;
  if (parsed.schemaVersion === 1) return DOCKER_MANIFEST_SCHEMA1;
  if (Array.isArray(parsed.manifests)) return OCI_INDEX;
  if (parsed.config) return OCI_MANIFEST;
  throw new ManifestError('the document is neither an image manifest nor an index (no mediaType, config or manifests)');
}

/**
 * The OCI form of an image manifest: Docker's media types replaced by OCI's. Returns the input itself
 * (converted: false) when it already is OCI, so its digest is kept. Throws on layers the store cannot
 * unpack (zstd), naming the layer.
 */
export function toOciManifest(manifest: OciManifest & { mediaType?: string }): { manifest: OciManifest; converted: boolean } {
  const type = manifest.mediaType ?? OCI_MANIFEST;
  if (type === DOCKER_MANIFEST_SCHEMA1 || type === DOCKER_MANIFEST_SCHEMA1_SIGNED) throw new ManifestError('Docker schema 1 manifests are not supported (push the image again with a current client)');
  if (!isImageManifestType(type)) throw new ManifestError(`${type} is not an image manifest`);
  if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw new ManifestError('the image manifest has no config or no layers list');
  const layers = manifest.layers.map((l) => ({ ...l, mediaType: LAYER_TO_OCI[l.mediaType] ?? l.mediaType }));
  for (const l of layers) {
    if (!UNPACKABLE.has(l.mediaType)) throw new ManifestError(`layer ${l.digest} is ${l.mediaType}; kubelab's store unpacks only tar and tar+gzip layers`);
  }
  if (type === OCI_MANIFEST && (manifest.config.mediaType === OCI_CONFIG || manifest.config.mediaType === undefined) && layers.every((l, i) => l.mediaType === manifest.layers[i]!.mediaType)) {
    return { manifest, converted: false };
  }
  const out: OciManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { ...manifest.config, mediaType: manifest.config.mediaType === DOCKER_CONFIG ? OCI_CONFIG : manifest.config.mediaType },
    layers,
  };
  if (manifest.annotations) out.annotations = manifest.annotations;
  return { manifest: out, converted: true };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new ManifestError(`platform ${JSON.stringify(text)} is not os/architecture[/variant] (for example linux/amd64 or linux/arm64/v8)`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const formatPlatform = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** The variant an architecture has when none is written: arm64 is v8, 32-bit arm v7; others have none. */
const defaultVariant = (arch: string): string | undefined => (arch === 'arm64' ? 'v8' : arch === 'arm' ? 'v7' : undefined);

/**
 * The index entry for `want`: same os and architecture, and the same variant (an absent variant
 * counts as the architecture's default one). When `want` names no variant, an entry without one (or
 * with the default one) wins over others. Throws, listing what the index offers, when none matches.
 */
export function selectPlatform(index: ImageIndex, want: Platform): Descriptor {
  const entries = index.manifests.filter((d) => d.platform);
  const same = entries.filter((d) => d.platform!.os === want.os && d.platform!.architecture === want.architecture);
  const variantOf = (d: Descriptor) => d.platform!.variant ?? defaultVariant(d.platform!.architecture);
  const wantVariant = want.variant ?? defaultVariant(want.architecture);
  const exact = same.find((d) => variantOf(d) === wantVariant);
  const pick = exact ?? (want.variant ? undefined : same[0]);
  if (pick) return pick;
  const offered = [...new Set(entries.map((d) => formatPlatform(d.platform!)))];
  throw new ManifestError(`no image for platform ${formatPlatform(want)} (the index has: ${offered.length ? offered.join(', ') : 'no platform entries'})`);
}
