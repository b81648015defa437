// Images for the transport tests: a temporary store with the lab's busybox (made offline by
// ensureLabImages, as `kubelab up` does), and tiny one-layer images with content of our choosing.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tarDirectory } from '../../../../src/image/layers.ts';
import { ImageStore, type StoredImage } from '../../../../src/image/store.ts';
import { ensureLabImages } from '../../../../src/runtime/lab-images.ts';

/** A fresh store under `dir` holding the lab images (busybox:latest among them). */
export async function labStore(dir: string): Promise<ImageStore> {
  const store = new ImageStore(dir);
  await ensureLabImages(store);
  return store;
}

/**
 * A one-layer image whose file /etc/kubelab-test holds `content` (random by default, so its layer
 * is unique to this run), gzip'd like a registry's usual layers.
 */
export async function tinyImage(store: ImageStore, ref: string, opts: { architecture?: string; variant?: string; content?: string } = {}): Promise<StoredImage> {
  const src = path.join(store.root, `tiny-src-${randomBytes(4).toString('hex')}`);
  mkdirSync(path.join(src, 'etc'), { recursive: true });
  writeFileSync(path.join(src, 'etc', 'kubelab-test'), opts.content ?? `${ref} ${randomBytes(8).toString('hex')}\n`);
  try {
    const layer = await tarDirectory(src, `${src}.tar`, { gzip: true, mtime: new Date(0) });
    const config = {
      architecture: opts.architecture ?? 'amd64',
      os: 'linux',
      ...(opts.variant ? { variant: opts.variant } : {}),
      config: { Cmd: ['cat', '/etc/kubelab-test'] },
      rootfs: { type: 'layers' as const, diff_ids: [] },
    };
    return await store.putImage(ref, config, [layer]);
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(`${src}.tar`, { force: true });
  }
}
