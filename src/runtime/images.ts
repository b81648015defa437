// What the runtime needs of an image: its layers unpacked (top-most first, overlayfs lowerdir order)
// and the run defaults of its config. Backed by the local image store (src/image); the lab's own
// images (busybox, agnhost, kubelab/dns) are made there on first use, so every lab works offline.
import { ImageNotFound, ImageStore } from '../image/store.ts';
import type { ImageRunDefaults } from './spec/command.ts';
import { ensureLabImages } from './lab-images.ts';

export interface RunnableImage {
  ref: string;
  digest: string;
  layers: string[];
  config: ImageRunDefaults & { ExposedPorts?: Record<string, object> };
}

/** The image cannot be run: Kubernetes reports this as the container's waiting reason. */
export class ImageUnavailable extends Error {
  readonly reason = 'ErrImageNeverPull';
}

export class RuntimeImages {
  private ready?: Promise<void>;

  constructor(readonly store: ImageStore = new ImageStore()) {}

  async runnable(ref: string): Promise<RunnableImage> {
    this.ready ??= ensureLabImages(this.store);
    await this.ready;
    let img;
    try {
      img = await this.store.resolve(ref);
    } catch (e) {
      if (e instanceof ImageNotFound) throw new ImageUnavailable(`image ${JSON.stringify(ref)} is not in kubelab's local image store and pulls are off (imagePullPolicy Never): ${e.message}`);
      throw e;
    }
    return { ref, digest: img.digest, layers: await this.store.layerDirs(img), config: (img.config.config ?? {}) as RunnableImage['config'] };
  }
}
