// The build context: the directory a build reads COPY and ADD sources from, less what .dockerignore
// excludes. Sources are looked up as BuildKit looks them up: every path is taken inside the context
// (a leading `/` and `..` cannot climb out of it) and symlinks are resolved inside it too, as in a
// chroot, so nothing outside the context can ever be read. Wildcards are matched per path component
// as BuildKit matches them (patternmatcher, the same compiler .dockerignore uses), with `**` for any
// number of directories.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { checkGlobSyntax, compileIgnorePattern, IgnoreMatcher, parseDockerignore } from './dockerfile/index.ts';
import { components, RootfsView, type ViewEntry } from '../image/rootfs-view.ts';

/** A tree copies can read from: the context, or another stage's (or image's) root filesystem. */
export interface SourceTree {
  /** What the progress output calls it: `context`, `stage build`, `image busybox`. */
  label: string;
  view: RootfsView;
  /** Whether a path (relative, clean) is left out of the tree (.dockerignore). */
  excluded(rel: string): boolean;
  /** A stable identity of the tree's content for cache keys when hashing files is not needed. */
  identity?: string;
}

export class BuildContext implements SourceTree {
  readonly label = 'context';
  readonly view: RootfsView;
  readonly ignoreFile?: string;
  private readonly matcher: IgnoreMatcher;

  constructor(
    readonly root: string,
    dockerfile: string,
  ) {
    if (!existsSync(root)) throw new Error(`build context ${root} does not exist`);
    this.view = new RootfsView([path.resolve(root)]);
    // BuildKit's rule: <Dockerfile>.dockerignore beside the Dockerfile wins over the context's one.
    const specific = `${dockerfile}.dockerignore`;
    const general = path.join(root, '.dockerignore');
    this.ignoreFile = existsSync(specific) ? specific : existsSync(general) ? general : undefined;
    this.matcher = new IgnoreMatcher(this.ignoreFile ? parseDockerignore(readFileSync(this.ignoreFile, 'utf8')) : []);
  }

  excluded(rel: string): boolean {
    return rel !== '' && this.matcher.excludes(rel);
  }

  mayHaveExceptionsBelow(rel: string): boolean {
    return this.matcher.mayHaveExceptionsBelow(rel);
  }
}

export function hasWildcards(p: string): boolean {
  return /[*?[]/.test(p.replace(/\\./g, ''));
}

export interface MatchedSource {
  /** The path inside the tree as written after cleaning (what the copy names it by). */
  rel: string;
  /** The entry, symlinks on the way (and a final one) resolved inside the tree. */
  entry: ViewEntry;
  /** The resolved path inside the tree. */
  resolved: string;
}

/**
 * The entries a COPY/ADD source names: one for a plain path (its final symlink followed), all
 * matches for a wildcard (sorted). Excluded paths do not exist. Throws when nothing matches a plain
 * path; a wildcard that matches nothing returns [].
 */
export function matchSources(tree: SourceTree, source: string): MatchedSource[] {
  const parts = components(source); // a leading `/` and `..` stay inside the tree
  if (!parts.some(hasWildcards)) {
    const resolved = tree.view.resolve(parts.join('/'));
    const rel = resolved.join('/');
    const found = tree.view.lookup(resolved);
    // An excluded directory still exists when a `!` exception re-includes something inside it.
    const kept = (r: string) => !tree.excluded(r) || (found?.stat.isDirectory() && tree instanceof BuildContext && tree.mayHaveExceptionsBelow(r));
    const entry = kept(parts.join('/')) && kept(rel) ? found : undefined;
    if (!entry) throw new SourceNotFound(source, tree.label);
    return [{ rel: parts.join('/'), entry, resolved: rel }];
  }
  const matches: MatchedSource[] = [];
  const walk = (done: string[], rest: string[]): void => {
    if (rest.length === 0) {
      const rel = done.join('/');
      if (tree.excluded(rel)) return;
      const resolved = tree.view.resolve(rel);
      const entry = tree.view.lookup(resolved);
      if (entry) matches.push({ rel, entry, resolved: resolved.join('/') });
      return;
    }
    const [head, ...tail] = rest as [string, ...string[]];
    const here = done.join('/');
    if (head === '**') {
      walk(done, tail); // zero directories
      for (const name of tree.view.readdir(here)) {
        const child = [...done, name];
        if (tree.excluded(child.join('/'))) continue;
        if (tree.view.stat(child.join('/'))?.stat.isDirectory()) walk(child, rest);
      }
      return;
    }
    if (!hasWildcards(head)) return walk([...done, head.replace(/\\(.)/g, '$1')], tail);
    // One path component, matched as BuildKit's copy matches it (moby/patternmatcher).
    let matchesName: (name: string) => boolean;
    try {
      checkGlobSyntax(head);
      matchesName = compileIgnorePattern(head);
    } catch {
      throw new Error(`syntax error in pattern ${JSON.stringify(source)}`);
    }
    for (const name of tree.view.readdir(here)) if (matchesName(name)) walk([...done, name], tail);
  };
  walk([], parts);
  return matches.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export class SourceNotFound extends Error {
  constructor(
    readonly source: string,
    tree: string,
  ) {
    super(`${JSON.stringify(source)} not found in the ${tree}${tree === 'context' ? ' (or excluded by .dockerignore)' : ''}`);
  }
}

/**
 * Every path below a directory of the tree (not following symlinks), parents first, sorted. An
 * excluded directory is walked when a `!` exception may re-include something inside it, and is
 * listed itself only when something inside it is kept (as Docker sends it with the context).
 */
export function walkTree(tree: SourceTree, dir: string): { rel: string; entry: ViewEntry }[] {
  const kept = new Map<string, ViewEntry>();
  const implied = new Map<string, ViewEntry>();
  const visit = (d: string): void => {
    for (const name of tree.view.readdir(d)) {
      const rel = d ? `${d}/${name}` : name;
      const entry = tree.view.stat(rel, false);
      if (!entry) continue;
      const isDir = entry.stat.isDirectory();
      if (!tree.excluded(rel)) {
        kept.set(rel, entry);
        if (isDir) visit(rel);
      } else if (isDir && tree instanceof BuildContext && tree.mayHaveExceptionsBelow(rel)) {
        implied.set(rel, entry);
        visit(rel);
      }
    }
  };
  visit(dir);
  // Directories walked only for their exceptions appear when they hold something that is kept.
  for (const rel of [...kept.keys()]) {
    for (let p = path.posix.dirname(rel); p !== '.' && p !== dir && !kept.has(p); p = path.posix.dirname(p)) {
      const e = implied.get(p);
      if (e) kept.set(p, e);
    }
  }
  const depthFirst = (a: string, b: string) => {
    const pa = a.split('/');
    const pb = b.split('/');
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]! ? -1 : 1;
    return pa.length - pb.length;
  };
  return [...kept.keys()].sort(depthFirst).map((rel) => ({ rel, entry: kept.get(rel)! }));
}

// File contents are hashed once per build, keyed by what would change when the file does.
const contentHashes = new Map<string, string>();

async function fileHash(abs: string, st: Stats): Promise<string> {
  const key = `${abs}\0${st.ino}\0${st.size}\0${st.mtimeMs}\0${st.ctimeMs}`;
  const known = contentHashes.get(key);
  if (known) return known;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  const digest = h.digest('hex');
  contentHashes.set(key, digest);
  return digest;
}

/**
 * A digest of what a copy would read from a source: every file's path, type, mode and content (and
 * link targets), as BuildKit's content-based cache key. Not mtimes and not owners: COPY sets the
 * owner itself, and touching a file without changing it keeps the cache.
 */
export async function sourceDigest(tree: SourceTree, m: MatchedSource): Promise<string> {
  const h = createHash('sha256');
  const add = async (rel: string, entry: ViewEntry) => {
    const st = entry.stat;
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) h.update(`d ${rel} ${mode}\n`);
    else if (st.isSymbolicLink()) h.update(`l ${rel} ${readlinkSync(entry.abs)}\n`);
    else if (st.isFile()) h.update(`f ${rel} ${mode} ${await fileHash(entry.abs, st)}\n`);
    else h.update(`o ${rel} ${mode}\n`);
  };
  await add('.', m.entry);
  if (m.entry.stat.isDirectory()) for (const { rel, entry } of walkTree(tree, m.resolved)) await add(rel.slice(m.resolved ? m.resolved.length + 1 : 0), entry);
  return h.digest('hex');
}
