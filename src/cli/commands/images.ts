// `kubelab images` and `kubelab image import|pull|push|export|rm`: the local image store the nodes
// run from, and the ways images come in and go out (src/image: layouts, archives, the Docker
// engine through dockerode, registries over the OCI distribution API).
import { existsSync, statSync } from 'node:fs';
import { credentialsFor } from '../../image/credentials.ts';
import { writeDockerArchive, writeOciLayout } from '../../image/export.ts';
import { parseReference, pushImage } from '../../image/registry.ts';
import { resolveImageSource } from '../../image/sources.ts';
import { ImageStore } from '../../image/store.ts';
import { ensureLabImages } from '../../runtime/lab-images.ts';
import { formatBytes, table } from '../printers.ts';
import { out, progress } from '../context.ts';

export async function imagesCommand(): Promise<void> {
  const store = new ImageStore();
  await ensureLabImages(store);
  const rows = (await store.list()).map((i) => [i.ref, i.digest.slice(0, 19), formatBytes(i.size), i.created ?? '-']);
  out(table([['IMAGE', 'DIGEST', 'SIZE', 'CREATED'], ...rows]));
}

interface TransportFlags {
  tag?: string;
  platform?: string;
  dockerHost?: string;
  insecure?: boolean;
}

function sourceOptions(o: TransportFlags) {
  return {
    ...(o.tag ? { as: o.tag } : {}),
    ...(o.platform ? { platform: o.platform } : {}),
    ...(o.dockerHost ? { dockerSocket: o.dockerHost } : {}),
    ...(o.insecure ? { insecure: true } : {}),
  };
}

/**
 * SOURCE: oci:DIR[:REF], docker-archive:FILE, docker-daemon:REF (the Docker engine), or a registry
 * reference (host:port/repo:tag). A bare directory is an OCI layout, a bare file an archive.
 */
export async function imageImportCommand(source: string, opts: TransportFlags): Promise<void> {
  const store = new ImageStore();
  let spec = source;
  if (!/^[a-z-]+:/.test(source) && existsSync(source)) spec = statSync(source).isDirectory() ? `oci:${source}` : `docker-archive:${source}`;
  const img = await resolveImageSource(store, spec, { ...sourceOptions(opts), pull: 'always' });
  out(`${img.ref} ${img.digest}\n`);
}

export async function imagePushCommand(local: string, remote: string, opts: TransportFlags): Promise<void> {
  const store = new ImageStore();
  const auth = credentialsFor(parseReference(remote).registry);
  const r = await pushImage(store, local, remote, { ...(auth ? { auth } : {}), ...(opts.insecure ? { insecure: true } : {}) });
  progress(`pushed ${local} to ${r.reference}: ${r.uploaded.length} blob(s) uploaded, ${r.skipped.length} already there`);
  out(`${r.reference} ${r.digest}\n`);
}

/** DEST: oci:DIR or docker-archive:FILE. */
export async function imageExportCommand(refs: string[], dest: string): Promise<void> {
  const store = new ImageStore();
  if (dest.startsWith('oci:')) await writeOciLayout(store, refs, dest.slice(4));
  else if (dest.startsWith('docker-archive:')) await writeDockerArchive(store, refs, dest.slice('docker-archive:'.length));
  else throw new Error(`image export ${dest}: expected oci:DIR or docker-archive:FILE`);
  progress(`exported ${refs.join(', ')} to ${dest}`);
}

export async function imageRemoveCommand(refs: string[]): Promise<void> {
  const store = new ImageStore();
  for (const ref of refs) {
    if (!store.remove(ref)) throw new Error(`image ${ref} is not in the local store`);
    out(`untagged ${ref}\n`);
  }
}
