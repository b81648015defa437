// `kubelab images` and `kubelab image import`: the local image store the nodes run from.
import { existsSync, statSync } from 'node:fs';
import { importDockerArchive, importOciLayout } from '../../image/import.ts';
import { ImageStore } from '../../image/store.ts';
import { ensureLabImages } from '../../runtime/lab-images.ts';
import { formatBytes, table } from '../printers.ts';
import { out } from '../context.ts';

export async function imagesCommand(): Promise<void> {
  const store = new ImageStore();
  await ensureLabImages(store);
  const rows = (await store.list()).map((i) => [i.ref, i.digest.slice(0, 19), formatBytes(i.size), i.created ?? '-']);
  out(table([['IMAGE', 'DIGEST', 'SIZE', 'CREATED'], ...rows]));
}

/** SOURCE: oci:DIR[:REF] or docker-archive:FILE (a bare directory is an OCI layout, a file an archive). */
export async function imageImportCommand(source: string, opts: { tag?: string }): Promise<void> {
  const store = new ImageStore();
  let images;
  if (source.startsWith('oci:') || (existsSync(source) && statSync(source).isDirectory())) {
    const spec = source.replace(/^oci:/, '');
    const colon = spec.indexOf(':');
    const [dir, ref] = colon >= 0 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, undefined];
    images = await importOciLayout(store, dir, ref, opts.tag);
  } else {
    images = await importDockerArchive(store, source.replace(/^docker-archive:/, ''), opts.tag);
  }
  for (const i of images) out(`${i.ref} ${i.digest}\n`);
}
