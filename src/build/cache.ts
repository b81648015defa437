// The build cache, keyed as BuildKit keys its operations: a step's key is a digest of its parent's
// key (the filesystem it starts from), the step itself (the command with its environment, user and
// working directory; a copy's destination, owner and mode) and, for COPY and ADD, the content
// digests of what it reads. Instructions that only change the image config (LABEL, EXPOSE, CMD, ...)
// are not operations: changing them never invalidates a later RUN, as in BuildKit.
//
// An entry records the layer a step produced (or that it produced none); its blob stays in the
// image store. Entries are small JSON files under <store>/build-cache/, written atomically.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageStore } from '../image/store.ts';

export interface CachedLayer {
  digest: string;
  diffID: string;
  size: number;
  mediaType: string;
}

export interface CacheEntry {
  key: string;
  /** null: the step changed nothing (an empty layer, left out of the image). */
  layer: CachedLayer | null;
  createdBy: string;
  created: string;
}

/** The cache key of a step: parent key + what the step is, canonically serialised. */
export function stepKey(parent: string, step: unknown): string {
  return createHash('sha256').update(parent).update('\n').update(JSON.stringify(step)).digest('hex');
}

export class BuildCache {
  readonly dir: string;

  constructor(private readonly store: ImageStore) {
    this.dir = path.join(store.root, 'build-cache');
    mkdirSync(this.dir, { recursive: true });
  }

  /** The entry for a key, when its layer blob is still in the store. */
  get(key: string): CacheEntry | undefined {
    const file = path.join(this.dir, `${key}.json`);
    if (!existsSync(file)) return undefined;
    try {
      const e = JSON.parse(readFileSync(file, 'utf8')) as CacheEntry;
      if (e.layer && !existsSync(this.store.blobPath(e.layer.digest))) return undefined;
      return e;
    } catch {
      return undefined; // a damaged entry is a miss
    }
  }

  put(entry: CacheEntry): void {
    const file = path.join(this.dir, `${entry.key}.json`);
    const tmp = `${file}.${process.pid}.${randomBytes(3).toString('hex')}`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  }
}
