// An image's root filesystem read straight from its unpacked layers, without mounting them: the
// same answers overlayfs would give for a lower-dir stack (top-most layer first). The builder reads
// through it to resolve COPY destinations and --chown names, to copy out of another stage, and to
// know which paths existed before a RUN step.
//
// overlayfs rules, as stored by the image store (src/image/layers.ts, 'overlay' mode):
//   - the top-most layer that has an entry at a path decides it;
//   - a whiteout (a character device 0:0) deletes the path and everything below it;
//   - a directory marked opaque (trusted.overlay.opaque=y) hides what lower layers hold inside it;
//   - a non-directory at a prefix hides whatever lower layers hold below that prefix.
// Symlinks are resolved inside the view, as a chroot would (`..` never climbs above /).
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { opaqueDirs } from './layers.ts';

export interface ViewEntry {
  /** The file in the layer that provides this path. */
  abs: string;
  stat: Stats;
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Splits an absolute or relative image path into clean components (`..` clamped at the root). */
export function components(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out;
}

async function opaqueOf(layer: string): Promise<Set<string>> {
  const inStore = path.basename(path.dirname(layer)) === 'layers' && /^[0-9a-f]{64}$/.test(path.basename(layer));
  const sidecar = `${layer}.opaque`;
  if (inStore && existsSync(sidecar)) {
    try {
      return new Set(JSON.parse(readFileSync(sidecar, 'utf8')) as string[]);
    } catch {
      /* damaged: read the layer again */
    }
  }
  const found = await opaqueDirs(layer);
  if (inStore) {
    try {
      const tmp = `${sidecar}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify([...found]));
      renameSync(tmp, sidecar);
    } catch {
      /* a read-only store: fine, getfattr again next time */
    }
  }
  return found;
}

export class RootfsView {
  private readonly opaque = new Map<string, Promise<Set<string>>>();
  private opaqueReady = new Map<string, Set<string>>();

  /** @param layers unpacked layer directories, top-most first (overlayfs lowerdir order). */
  constructor(readonly layers: readonly string[]) {}

  /**
   * Reads every layer's opaque directories (one getfattr per layer); call once before lookups. A
   * layer of the image store never changes, so what getfattr found is kept beside it
   * (`layers/<diffID>.opaque`) and later builds read that instead.
   */
  async load(): Promise<this> {
    for (const l of this.layers) {
      if (!this.opaque.has(l)) this.opaque.set(l, opaqueOf(l));
      this.opaqueReady.set(l, await this.opaque.get(l)!);
    }
    return this;
  }

  private isOpaque(layer: string, rel: string): boolean {
    return this.opaqueReady.get(layer)?.has(rel) ?? false;
  }

  /**
   * What one layer says about a path: the entry it holds there, whether it deletes the path (a
   * whiteout, or a non-directory at a prefix), and whether it hides what lower layers hold there (an
   * opaque directory on the way or at the path, or any non-directory entry).
   */
  private probe(layer: string, parts: readonly string[]): { st?: Stats; deleted: boolean; hidesLower: boolean } {
    if (parts.length === 0) return { st: lstatSync(layer), deleted: false, hidesLower: false };
    let opaqueAbove = false;
    for (let k = 1; k <= parts.length; k++) {
      const rel = parts.slice(0, k).join('/');
      const st = lstatOrUndefined(path.join(layer, rel));
      if (!st) return { deleted: false, hidesLower: opaqueAbove };
      if (isWhiteout(st)) return { deleted: true, hidesLower: true };
      if (k === parts.length) return { st, deleted: false, hidesLower: !st.isDirectory() || opaqueAbove || this.isOpaque(layer, rel) };
      if (!st.isDirectory()) return { deleted: true, hidesLower: true };
      if (this.isOpaque(layer, rel)) opaqueAbove = true;
    }
    return { deleted: false, hidesLower: opaqueAbove };
  }

  /** The entry at a path as overlayfs would show it, without following a final symlink. */
  lookup(parts: readonly string[]): ViewEntry | undefined {
    for (const layer of this.layers) {
      const r = this.probe(layer, parts);
      if (r.deleted) return undefined;
      if (r.st) return { abs: path.join(layer, ...parts), stat: r.st };
      if (r.hidesLower) return undefined;
    }
    return undefined;
  }

  /**
   * Resolves symlinks on the way to `p` inside the view; with `followLast` the final component too.
   * Returns the resolved components (the path may not exist).
   */
  resolve(p: string, followLast = true): string[] {
    const raw = (x: string) => x.split('/').filter((c) => c !== '' && c !== '.');
    let pending = raw(p);
    const done: string[] = [];
    let hops = 0;
    while (pending.length) {
      const c = pending.shift()!;
      if (c === '..') {
        done.pop(); // never above the root
        continue;
      }
      const e = this.lookup([...done, c]);
      if (e?.stat.isSymbolicLink() && (pending.length > 0 || followLast)) {
        if (++hops > 40) throw new Error(`too many levels of symbolic links resolving ${p}`);
        const target = readlinkSync(e.abs);
        if (target.startsWith('/')) done.length = 0; // absolute: from the view's root
        pending = [...raw(target), ...pending]; // relative: from the link's directory (done)
        continue;
      }
      done.push(c);
    }
    return done;
  }

  /** The entry at `p` (final symlink followed when asked), or undefined. */
  stat(p: string, followLast = true): ViewEntry | undefined {
    return this.lookup(this.resolve(p, followLast));
  }

  /** Names in a directory of the view, merged over the layers. */
  readdir(p: string): string[] {
    const parts = this.resolve(p);
    const names = new Set<string>();
    const gone = new Set<string>(); // whited out by a higher layer
    for (const layer of this.layers) {
      const r = this.probe(layer, parts);
      if (r.deleted || (r.st && !r.st.isDirectory())) break;
      if (r.st) {
        for (const n of readdirSync(path.join(layer, ...parts))) {
          if (gone.has(n) || names.has(n)) continue;
          const st = lstatOrUndefined(path.join(layer, ...parts, n));
          if (st && isWhiteout(st)) gone.add(n);
          else names.add(n);
        }
      }
      if (r.hidesLower) break;
    }
    return [...names].sort();
  }

  /** A text file of the image (`/etc/passwd`), or '' when it is absent. */
  readText(p: string): string {
    const e = this.stat(p);
    if (!e || !e.stat.isFile()) return '';
    return readFileSync(e.abs, 'utf8');
  }
}
