// Reading Kubernetes manifests: multi-document YAML (or JSON), files or directories, each object
// strictly validated, and every problem reported with its file and line. A file with one bad
// document yields an error for the whole set, so nothing is half-applied.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { validateObject } from '../api/kinds.ts';
import type { KubeObject } from '../api/types.ts';

export interface LoadedObject {
  object: KubeObject;
  file: string;
  line: number;
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ManifestError';
  }
}

/** Lists the manifest files under a path: the file itself, or a directory's .yaml/.yml/.json files. */
export function manifestFiles(p: string): string[] {
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new ManifestError([`${p}: no such file or directory`]);
  }
  if (!st.isDirectory()) return [p];
  return readdirSync(p)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(p, f));
}

/** The line of the YAML node at a field path like `spec.containers[0].ports[1].containerPort`. */
function lineOf(doc: Document, fieldPath: string, lc: LineCounter, fallback: number): number {
  const keys: (string | number)[] = [];
  for (const m of fieldPath.matchAll(/([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]/g)) {
    if (m[2] !== undefined) keys.push(Number(m[2]));
    else keys.push(m[3] ?? m[1]!);
  }
  let node: any = doc.contents;
  let line = fallback;
  for (const key of keys) {
    if (isMap(node)) {
      const pair: any = node.items.find((it: any) => String(it.key?.value ?? it.key) === String(key));
      if (!pair) break;
      if (pair.key?.range) line = lc.linePos(pair.key.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (node?.range) line = lc.linePos(node.range[0]).line;
    } else break;
  }
  return line;
}

function duplicateKeyLine(node: any, lc: LineCounter): number | undefined {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items as any[]) {
      const key = String(pair.key?.value ?? pair.key);
      if (seen.has(key) && pair.key?.range) return lc.linePos(pair.key.range[0]).line;
      seen.add(key);
      const inner = duplicateKeyLine(pair.value, lc);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const inner = duplicateKeyLine(item, lc);
      if (inner) return inner;
    }
  }
  return undefined;
}

export function parseManifests(text: string, file: string): LoadedObject[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  const out: LoadedObject[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const startLine = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
    if (doc.errors.length) {
      for (const err of doc.errors) {
        // yaml reports a duplicate key at its map; point at the repeated key itself.
        const dup = err.code === 'DUPLICATE_KEY' ? duplicateKeyLine(doc.contents, lc) : undefined;
        const line = dup ?? err.linePos?.[0]?.line ?? startLine;
        problems.push(`${file}:${line}: invalid YAML: ${err.message.split('\n')[0]}`);
      }
      continue;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue; // an empty document between ---
    if (value && typeof value === 'object' && (value as any).kind === 'List' && Array.isArray((value as any).items)) {
      (value as any).items.forEach((item: unknown, i: number) => check(item, doc, `items[${i}].`));
      continue;
    }
    check(value, doc, '');
    function check(obj: unknown, d: Document, prefix: string) {
      const errors = validateObject(obj);
      const o = obj as KubeObject;
      const where = o?.kind && o?.metadata?.name ? ` (${o.kind} ${o.metadata.name})` : '';
      for (const e of errors) {
        const line = lineOf(d, prefix + e.path, lc, startLine);
        problems.push(`${file}:${line}: ${prefix}${e.path ? `${e.path}: ` : ''}${e.message}${where}`);
      }
      if (!errors.length) out.push({ object: o, file, line: lineOf(d, prefix.replace(/\.$/, ''), lc, startLine) });
    }
  }
  if (problems.length) throw new ManifestError(problems);
  return out;
}

export function loadManifests(paths: string[]): LoadedObject[] {
  const problems: string[] = [];
  const out: LoadedObject[] = [];
  for (const p of paths.flatMap((x) => (x === '-' ? ['-'] : manifestFiles(x)))) {
    const text = p === '-' ? readFileSync(0, 'utf8') : readFileSync(p, 'utf8');
    try {
      out.push(...parseManifests(text, p === '-' ? '<stdin>' : p));
    } catch (e) {
      if (e instanceof ManifestError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length) throw new ManifestError(problems);
  return out;
}
