// Layer tarballs in and out of directories.
//   extractLayer: a layer tar (gzip or not) into a directory, refusing anything that would escape it
//     or create a device; in 'overlay' mode OCI whiteouts become overlayfs whiteouts (a 0:0 character
//     device, and the trusted.overlay.opaque xattr) so the directory can be an overlay lower dir.
//   tarDirectory: a directory into a deterministic tar (sorted, fixed times optional), for base images.
//   diffLayer: an overlay upper dir into a layer tar, overlayfs whiteouts turned back into OCI ones.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { execa } from 'execa';
import tar, { type Header as Headers } from 'tar-stream';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE = '.wh..wh..opq';

export class LayerError extends Error {}

/** Cleans a tar member name into a relative path, or throws when it leaves the root. */
export function memberPath(name: string): string {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw new LayerError(`tar entry ${JSON.stringify(name)} escapes the root`);
      parts.pop();
      continue;
    }
    parts.push(p);
  }
  return parts.join('/');
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch {
    return undefined;
  }
}

/** Throws when a parent of `rel` inside `root` is a symlink (a later entry could write through it). */
async function checkParents(root: string, rel: string, entry: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let p = root;
  for (const part of parts) {
    p = path.join(p, part);
    const st = await lstatOrUndefined(p);
    if (st?.isSymbolicLink()) throw new LayerError(`tar entry ${JSON.stringify(entry)} goes through the symlink ${path.relative(root, p)}`);
    if (!st) await fsp.mkdir(p, { mode: 0o755 });
  }
}

/** The stream itself, or gunzipped when it starts with gzip's magic bytes. */
function maybeGunzip(input: Readable): Readable {
  const out = new PassThrough();
  let inner: Writable | undefined;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!inner) {
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          const gunzip = createGunzip();
          gunzip.on('error', (e) => out.destroy(e));
          gunzip.pipe(out);
          inner = gunzip;
        } else inner = out;
      }
      if (inner.write(chunk)) cb();
      else inner.once('drain', () => cb());
    },
    final(cb) {
      (inner ?? out).end();
      cb();
    },
  });
  input.on('error', (e) => out.destroy(e));
  input.pipe(sink);
  return out;
}

export interface ExtractOptions {
  /** overlay: whiteouts become overlayfs whiteouts; plain: whiteouts delete what they name. */
  mode: 'overlay' | 'plain';
}

/** Extracts a layer into `dest` (which must exist). Errors name the offending entry. */
export async function extractLayer(source: string | Readable, dest: string, opts: ExtractOptions): Promise<void> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const extract = tar.extract();
  const whiteouts: string[] = [];
  const opaques: string[] = [];
  const dirTimes: [string, Date][] = [];
  extract.on('entry', (header, stream, next) => {
    const done = (e?: unknown) => {
      stream.resume();
      if (e) next(e as Error);
      else next();
    };
    handle(header, stream as unknown as Readable).then(() => done(), (e) => done(e));
  });
  const handle = async (h: Headers, stream: Readable): Promise<void> => {
    const rel = memberPath(h.name);
    if (rel === '') return; // the root itself
    const base = path.posix.basename(rel);
    const dir = path.posix.dirname(rel);
    await checkParents(dest, rel, h.name);
    const target = path.join(dest, rel);
    if (base === OPAQUE) {
      if (opts.mode === 'overlay') opaques.push(path.join(dest, dir));
      else for (const e of await fsp.readdir(path.join(dest, dir)).catch(() => [])) await fsp.rm(path.join(dest, dir, e), { recursive: true, force: true });
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const victim = path.join(dest, dir, base.slice(WHITEOUT_PREFIX.length));
      await fsp.rm(victim, { recursive: true, force: true });
      if (opts.mode === 'overlay') whiteouts.push(victim);
      return;
    }
    const existing = await lstatOrUndefined(target);
    if (existing && !(existing.isDirectory() && h.type === 'directory')) await fsp.rm(target, { recursive: true, force: true });
    const mode = (h.mode ?? 0o644) & 0o7777;
    switch (h.type) {
      case 'directory':
        if (!existing?.isDirectory()) await fsp.mkdir(target, { mode });
        await fsp.chmod(target, mode);
        break;
      case 'file':
      case 'contiguous-file':
        await pipeline(stream, createWriteStream(target, { mode }));
        await fsp.chmod(target, mode);
        break;
      case 'symlink':
        await fsp.symlink(h.linkname ?? '', target);
        break;
      case 'link': {
        const from = memberPath(h.linkname ?? '');
        await checkParents(dest, from, h.linkname ?? '');
        const st = await lstatOrUndefined(path.join(dest, from));
        if (!st || st.isDirectory()) throw new LayerError(`tar entry ${JSON.stringify(h.name)} links to ${JSON.stringify(h.linkname)}, which is not a file of the layer`);
        await fsp.link(path.join(dest, from), target);
        return; // a hard link shares the inode's owner and mode
      }
      case 'fifo':
        await execa('mkfifo', ['-m', mode.toString(8), target]);
        break;
      case 'character-device':
      case 'block-device':
        throw new LayerError(`tar entry ${JSON.stringify(h.name)} is a device node: layers may not create devices`);
      default:
        return; // pax headers and the like carry no file
    }
    await fsp.lchown(target, h.uid ?? 0, h.gid ?? 0);
    const mtime = h.mtime ?? new Date(0);
    if (h.type === 'directory') dirTimes.push([target, mtime]);
    else await fsp.lutimes(target, mtime, mtime);
  };
  await pipeline(maybeGunzip(input), extract);
  // Whiteouts are device nodes and xattrs node cannot make: one command each batch.
  if (whiteouts.length || opaques.length) {
    const script = [...whiteouts.map((w) => `mknod ${sq(w)} c 0 0`), ...opaques.map((o) => `setfattr -n trusted.overlay.opaque -v y ${sq(o)}`)].join('\n');
    await execa('sh', ['-ec', script]);
  }
  for (const [d, t] of dirTimes.reverse()) await fsp.utimes(d, t, t).catch(() => {});
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface LayerBlob {
  /** Digest of the blob as stored (compressed when gzip). */
  digest: string;
  /** Digest of the uncompressed tar (the image config's rootfs.diff_ids). */
  diffID: string;
  size: number;
  mediaType: string;
  path: string;
}

export interface TarOptions {
  gzip?: boolean;
  /** Fixed mtime for every entry (reproducible base images). */
  mtime?: Date;
  /** Overlay upper dir: turn overlayfs whiteouts into OCI whiteouts. */
  upper?: boolean;
}

/** Lists a directory tree, sorted, parents before children. */
async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = (await fsp.readdir(path.join(root, rel))).sort();
  for (const e of entries) {
    const r = rel ? `${rel}/${e}` : e;
    out.push(r);
    const st = await fsp.lstat(path.join(root, r));
    if (st.isDirectory()) out.push(...(await walk(root, r)));
  }
  return out;
}

/**
 * The directories under `root` that overlayfs marked opaque (trusted.overlay.opaque=y: their lower
 * contents are hidden), relative to root. One getfattr for the whole tree: node cannot read xattrs.
 */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  const r = await execa('getfattr', ['-R', '-d', '-m', '^trusted\\.overlay\\.opaque$', '--absolute-names', root], { reject: false });
  const found = new Set<string>();
  let file: string | undefined;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice('# file: '.length);
    else if (file && /^trusted\.overlay\.opaque="y"$/.test(line.trim())) found.add(path.relative(root, file));
  }
  return found;
}

/** A directory (or an overlay upper dir) as a layer tar written to `outFile`, with its digests. */
export async function tarDirectory(dir: string, outFile: string, opts: TarOptions = {}): Promise<LayerBlob> {
  const pack = tar.pack();
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let size = 0;
  const tarStream = new PassThrough();
  pack.pipe(tarStream);
  tarStream.on('data', (c: Buffer) => diffHash.update(c));
  const compressed = opts.gzip ? tarStream.pipe(createGzip({ level: 6 })) : tarStream;
  compressed.on('data', (c: Buffer) => (blobHash.update(c), (size += c.length)));
  const written = pipeline(compressed, createWriteStream(outFile));
  const inodes = new Map<string, string>();
  const opaque = opts.upper ? await opaqueDirs(dir) : new Set<string>();
  const entry = (h: Partial<Headers> & { name: string }, body?: Buffer | Readable) =>
    new Promise<void>((resolve, reject) => {
      if (body instanceof Readable) {
        const s = pack.entry(h, (e) => (e ? reject(e) : resolve()));
        body.pipe(s);
      } else pack.entry(h, body ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve()));
    });
  for (const rel of await walk(dir)) {
    const abs = path.join(dir, rel);
    const st = await fsp.lstat(abs);
    const common = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: opts.mtime ?? st.mtime };
    if (opts.upper && st.isCharacterDevice() && st.rdev === 0) {
      await entry({ ...common, name: path.posix.join(path.posix.dirname(rel), WHITEOUT_PREFIX + path.posix.basename(rel)), type: 'file', size: 0, mode: 0o644 });
      continue;
    }
    if (st.isDirectory()) {
      await entry({ ...common, type: 'directory' });
      if (opaque.has(rel)) await entry({ ...common, name: `${rel}/${OPAQUE}`, type: 'file', size: 0, mode: 0o644 });
    } else if (st.isSymbolicLink()) {
      await entry({ ...common, type: 'symlink', linkname: await fsp.readlink(abs) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && inodes.has(key)) {
        await entry({ ...common, type: 'link', linkname: inodes.get(key)!, size: 0 });
        continue;
      }
      inodes.set(key, rel);
      await entry({ ...common, type: 'file', size: st.size }, createReadStream(abs));
    } else if (st.isFIFO()) {
      await entry({ ...common, type: 'fifo' });
    } else {
      throw new LayerError(`${abs}: sockets and device nodes cannot go into a layer`);
    }
  }
  pack.finalize();
  await written;
  const diffID = `sha256:${diffHash.digest('hex')}`;
  return {
    digest: opts.gzip ? `sha256:${blobHash.digest('hex')}` : diffID,
    diffID,
    size,
    mediaType: opts.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
    path: outFile,
  };
}

/** An overlay upper dir as a layer (the builder's diff of one step). */
export const diffLayer = (upperDir: string, outFile: string, opts: Omit<TarOptions, 'upper'> = {}) => tarDirectory(upperDir, outFile, { ...opts, upper: true });
