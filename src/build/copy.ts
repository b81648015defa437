// COPY and ADD: the new layer of a copy is a directory holding just what the copy writes (the
// destination, and its parent directories with the metadata the image already gives them), which
// is then tarred like a RUN step's upper directory. Docker's rules:
//   - a directory source copies its contents, not itself;
//   - a file goes to DEST, or into DEST when DEST ends with `/` or is a directory in the image;
//   - several sources (or a wildcard) need a directory destination ending with `/`;
//   - files keep their mode and mtime; owner root:root unless --chown; --chmod sets the mode;
//   - parent directories that do not exist are created (0755, owned like the copy);
//   - ADD extracts a local tar archive (plain, gzip, bzip2, xz) into DEST; ADD of a URL downloads it
//     (mode 0600, mtime from Last-Modified), checked against --checksum when given.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, openSync, readlinkSync, readSync, symlinkSync, writeFileSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extractLayer } from '../image/layers.ts';
import { components, type RootfsView } from '../image/rootfs-view.ts';
import { type MatchedSource, type SourceTree, walkTree } from './context.ts';

export class CopyError extends Error {}

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyRequest {
  /** The new layer's directory (empty). */
  out: string;
  /** The image being built, as it is before this step. */
  image: RootfsView;
  /** The destination, absolute (WORKDIR already applied), as written (a trailing `/` matters). */
  dest: string;
  chown?: Owner;
  /** --chmod: the mode for every copied file and directory. */
  chmod?: number;
}

/** Whether a destination names a directory: a trailing `/` (or `/.`), or an existing directory. */
function destIsDir(req: CopyRequest): boolean {
  if (/\/\.?$/.test(req.dest)) return true;
  return !!req.image.stat(req.dest)?.stat.isDirectory();
}

/** Makes `parts` exist in the layer dir: existing directories with the image's metadata, new ones 0755. */
export async function ensureDir(req: CopyRequest, parts: readonly string[], fresh?: { mode: number; mtime?: Date }): Promise<void> {
  for (let k = 1; k <= parts.length; k++) {
    const rel = parts.slice(0, k).join('/');
    const target = path.join(req.out, rel);
    if (existsSync(target)) continue;
    const inImage = req.image.lookup(parts.slice(0, k));
    if (inImage && !inImage.stat.isDirectory()) throw new CopyError(`cannot copy to /${rel}: it is a ${inImage.stat.isSymbolicLink() ? 'symlink' : 'file'} in the image`);
    mkdirSync(target);
    if (inImage) {
      const st = inImage.stat;
      await fsp.chmod(target, st.mode & 0o7777);
      await fsp.lchown(target, st.uid, st.gid);
      await fsp.utimes(target, st.atime, st.mtime);
    } else {
      const last = k === parts.length && fresh;
      await fsp.chmod(target, last ? fresh.mode : 0o755);
      await fsp.lchown(target, req.chown?.uid ?? 0, req.chown?.gid ?? 0);
      if (last && fresh.mtime) await fsp.utimes(target, fresh.mtime, fresh.mtime);
    }
  }
}

/** Directories whose times are set once the copy is done (adding entries changes a directory's mtime). */
type DirTimes = [string, Date, Date][];

/** Copies one entry (file, symlink, directory itself) to `target` in the layer. */
async function copyEntry(req: CopyRequest, abs: string, target: string, dirTimes: DirTimes): Promise<void> {
  const st = lstatSync(abs);
  const mode = req.chmod ?? st.mode & 0o7777;
  if (st.isDirectory()) {
    if (!existsSync(target)) mkdirSync(target);
  } else if (st.isSymbolicLink()) {
    await fsp.rm(target, { force: true, recursive: true });
    symlinkSync(readlinkSync(abs), target);
  } else if (st.isFile()) {
    await fsp.rm(target, { force: true, recursive: true });
    copyFileSync(abs, target);
  } else {
    throw new CopyError(`${abs}: only files, directories and symlinks can be copied`);
  }
  if (!st.isSymbolicLink()) await fsp.chmod(target, mode);
  await fsp.lchown(target, req.chown?.uid ?? 0, req.chown?.gid ?? 0);
  if (st.isDirectory()) dirTimes.push([target, st.atime, st.mtime]);
  else await fsp.lutimes(target, st.atime, st.mtime);
}

/** Where the destination's directory lies in the image (symlinks resolved inside the image). */
function destParts(req: CopyRequest): string[] {
  return req.image.resolve(req.dest);
}

/** COPY (or ADD without archives and URLs) of matched sources from a tree. */
export async function copySources(req: CopyRequest, tree: SourceTree, sources: MatchedSource[], opts: { many: boolean; unpack?: boolean }): Promise<void> {
  const dirDest = destIsDir(req);
  const dirTimes: DirTimes = [];
  if (opts.many && !/\/\.?$/.test(req.dest) && !dirDest) {
    throw new CopyError(`when copying more than one source, the destination must be a directory and end with a /: ${req.dest}`);
  }
  for (const src of sources) {
    const st = src.entry.stat;
    if (st.isDirectory()) {
      // The directory's contents go to DEST (made with the source directory's mode when new).
      const parts = destParts(req);
      await ensureDir(req, parts, { mode: req.chmod ?? st.mode & 0o7777, mtime: st.mtime });
      for (const { rel, entry } of walkTree(tree, src.resolved)) {
        const sub = src.resolved ? rel.slice(src.resolved.length + 1) : rel;
        await copyEntry(req, entry.abs, path.join(req.out, ...parts, sub), dirTimes);
      }
      continue;
    }
    if (opts.unpack && st.isFile() && archiveKind(src.entry.abs)) {
      const parts = destParts(req);
      await ensureDir(req, parts);
      await unpackArchive(src.entry.abs, path.join(req.out, ...parts));
      continue;
    }
    const into = dirDest || opts.many;
    const parts = into ? [...destParts(req), path.posix.basename(src.rel)] : destParts(req);
    await ensureDir(req, parts.slice(0, -1));
    await copyEntry(req, src.entry.abs, path.join(req.out, ...parts), dirTimes);
  }
  for (const [dir, atime, mtime] of dirTimes.reverse()) await fsp.utimes(dir, atime, mtime);
}

/** COPY <<EOF /dest: a here-document written as a file (0644 unless --chmod). */
export async function copyHeredoc(req: CopyRequest, name: string, content: string, many: boolean): Promise<void> {
  const parts = destIsDir(req) || many ? [...destParts(req), name] : destParts(req);
  await ensureDir(req, parts.slice(0, -1));
  const target = path.join(req.out, ...parts);
  writeFileSync(target, content);
  await fsp.chmod(target, req.chmod ?? 0o644);
  await fsp.lchown(target, req.chown?.uid ?? 0, req.chown?.gid ?? 0);
}

type Archive = 'tar' | 'gzip' | 'bzip2' | 'xz';

/** What ADD would unpack, by magic bytes (as Docker's DetectCompression), or undefined. */
export function archiveKind(file: string): Archive | undefined {
  const buf = Buffer.alloc(512);
  const fd = openSync(file, 'r');
  let n = 0;
  try {
    n = readSync(fd, buf, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip';
  if (n >= 3 && buf.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (n >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (n >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** Extracts an archive into a directory of the layer, refusing entries that escape it or devices. */
async function unpackArchive(file: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const kind = archiveKind(file)!;
  if (kind === 'tar' || kind === 'gzip') return extractLayer(file, dir, { mode: 'plain' });
  // bzip2 and xz: the system's decompressor streams into the same safe extraction.
  const tool = kind === 'bzip2' ? 'bzip2' : 'xz';
  const child = spawn(tool, ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new CopyError(`ADD ${path.basename(file)}: ${tool} is needed to unpack it (${e.message})`)));
    child.on('exit', (code) => resolve(code ?? 1));
  });
  await extractLayer(child.stdout as Readable, dir, { mode: 'plain' });
  if ((await exited) !== 0) throw new CopyError(`ADD ${path.basename(file)}: ${tool} failed: ${stderr.trim()}`);
}

export interface Downloaded {
  file: string;
  /** sha256:... of the body. */
  digest: string;
  name: string;
  mtime?: Date;
}

/** ADD URL: downloads into `dir`, checking `checksum` (sha256:HEX) when given. */
export async function download(url: string, dir: string, checksum?: string): Promise<Downloaded> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    throw new CopyError(`ADD ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  if (!res.ok || !res.body) throw new CopyError(`ADD ${url}: HTTP ${res.status} ${res.statusText}`);
  const file = path.join(dir, `download-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`);
  const h = createHash('sha256');
  const out = await fsp.open(file, 'w');
  try {
    for await (const chunk of Readable.fromWeb(res.body as never)) {
      h.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
  } finally {
    await out.close();
  }
  const digest = `sha256:${h.digest('hex')}`;
  if (checksum && checksum !== digest) throw new CopyError(`ADD ${url}: checksum mismatch: expected ${checksum}, got ${digest}`);
  const last = res.headers.get('last-modified');
  const name = components(new URL(url).pathname).at(-1) ?? 'index.html';
  return { file, digest, name, mtime: last ? new Date(last) : undefined };
}

/** Writes a downloaded file to the destination (0600, as Docker writes remote files). */
export async function placeDownload(req: CopyRequest, d: Downloaded): Promise<void> {
  const parts = destIsDir(req) ? [...destParts(req), d.name] : destParts(req);
  await ensureDir(req, parts.slice(0, -1));
  const target = path.join(req.out, ...parts);
  copyFileSync(d.file, target);
  await fsp.chmod(target, req.chmod ?? 0o600);
  await fsp.lchown(target, req.chown?.uid ?? 0, req.chown?.gid ?? 0);
  if (d.mtime && !Number.isNaN(d.mtime.getTime())) await fsp.utimes(target, d.mtime, d.mtime);
}
