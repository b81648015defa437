// Bringing images into the store from the interchange formats: an OCI image layout (a directory, as
// skopeo, umoci or buildah write it) and a docker-archive (`docker save`'s tarball). Blobs are
// verified against their digests as they are copied.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { DOCKER_MANIFEST, OCI_LAYER } from './manifests.ts';
import { CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, REF_ANNOTATION, sha256, type Descriptor, type ImageStore, type OciManifest, type StoredImage } from './store.ts';

export class ImportError extends Error {}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new ImportError(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
}

async function copyVerified(store: ImageStore, file: string, digest: string): Promise<void> {
  const got = await store.putBlob(file);
  if (got.digest !== digest) throw new ImportError(`blob ${file}: content digest ${got.digest} does not match ${digest}`);
}

/** Imports the manifests of an OCI layout (all, or the one whose ref.name is `refName`), tagged `as` or by their ref.name. */
export async function importOciLayout(store: ImageStore, dir: string, refName?: string, as?: string): Promise<StoredImage[]> {
  const index = readJson<{ manifests: Descriptor[] }>(path.join(dir, 'index.json'), `OCI layout ${dir}`);
  const blob = (d: string) => path.join(dir, 'blobs', ...d.split(':'));
  const picked = index.manifests.filter((m) => !refName || m.annotations?.[REF_ANNOTATION] === refName);
  if (!picked.length) throw new ImportError(`OCI layout ${dir}: no manifest named ${JSON.stringify(refName)} (has: ${index.manifests.map((m) => m.annotations?.[REF_ANNOTATION] ?? m.digest).join(', ')})`);
  const out: StoredImage[] = [];
  for (const desc of picked) {
    if (desc.mediaType !== MANIFEST_MEDIA_TYPE && desc.mediaType !== DOCKER_MANIFEST) throw new ImportError(`OCI layout ${dir}: ${desc.digest} is a ${desc.mediaType}; import one platform's manifest`);
    const manifest = readJson<OciManifest>(blob(desc.digest), `manifest ${desc.digest}`);
    await copyVerified(store, blob(desc.digest), desc.digest);
    await copyVerified(store, blob(manifest.config.digest), manifest.config.digest);
    for (const l of manifest.layers) await copyVerified(store, blob(l.digest), l.digest);
    const ref = as ?? desc.annotations?.[REF_ANNOTATION];
    if (!ref) throw new ImportError(`OCI layout ${dir}: manifest ${desc.digest} has no ref.name: give the image a name`);
    store.tagDescriptor(ref, { mediaType: desc.mediaType, digest: desc.digest, size: desc.size });
    out.push(await store.resolve(ref));
  }
  return out;
}

/** Imports a docker-archive (manifest.json, <config>.json, layer tars): each RepoTag becomes a tag. */
export async function importDockerArchive(store: ImageStore, file: string, as?: string): Promise<StoredImage[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubelab-import-'));
  try {
    const r = await execa('tar', ['-xf', file, '-C', dir, '--no-same-owner'], { reject: false });
    if (r.exitCode !== 0) throw new ImportError(`docker-archive ${file}: ${r.stderr.trim()}`);
    const entries = readJson<{ Config: string; RepoTags?: string[]; Layers: string[] }[]>(path.join(dir, 'manifest.json'), `docker-archive ${file}`);
    const out: StoredImage[] = [];
    for (const e of entries) {
      const configBytes = readFileSync(path.join(dir, e.Config));
      const config = JSON.parse(configBytes.toString());
      const layers = [];
      for (const [i, l] of e.Layers.entries()) {
        // Layers are plain tars here; their digest is the diffID the config lists.
        const stored = await store.putBlob(path.join(dir, l));
        const want = config.rootfs?.diff_ids?.[i];
        if (want && want !== stored.digest) throw new ImportError(`docker-archive ${file}: layer ${l} has digest ${stored.digest}, the config says ${want}`);
        layers.push({ mediaType: OCI_LAYER, digest: stored.digest, size: stored.size });
      }
      const cfg = await store.putBlob(configBytes);
      const manifest: OciManifest = { schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPE, config: { mediaType: CONFIG_MEDIA_TYPE, ...cfg }, layers };
      const m = await store.putBlob(Buffer.from(JSON.stringify(manifest)));
      const refs = as ? [as] : (e.RepoTags ?? []);
      if (!refs.length) throw new ImportError(`docker-archive ${file}: image ${sha256(configBytes)} has no RepoTags: give it a name`);
      for (const ref of refs) store.tagDescriptor(ref, { mediaType: MANIFEST_MEDIA_TYPE, ...m });
      out.push(await store.resolve(refs[0]!));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

