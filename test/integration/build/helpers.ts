// Build tests drive the real CLI (`./kubelab build`) against a temporary image store of their own
// (KUBELAB_IMAGES_DIR), so every test starts cold and leaves nothing in the machine's store.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { ImageStore, type OciImageConfig } from '../../../src/image/store.ts';
import { KUBELAB } from '../helpers.ts';

export interface BuildJson {
  ref: string;
  tags: string[];
  digest: string;
  config: string;
  layers: { digest: string; diffID: string; size: number }[];
  steps: { id: number; stage: string; position: string; instruction: string; line: number; cached: boolean; layer?: string }[];
  warnings: string[];
}

export interface Lab {
  dir: string;
  store: ImageStore;
  /** Writes files of a build context (relative path → content). */
  context(name: string, files: Record<string, string>): string;
  build(args: string[], opts?: { input?: string; reject?: boolean; env?: Record<string, string> }): Promise<{ json?: BuildJson; stdout: string; stderr: string; exitCode: number }>;
  config(ref: string): Promise<OciImageConfig>;
  /** Every file of an image's layers, as tar lists them (`mode owner size name`). */
  files(ref: string, skipLayers?: number): Promise<string[]>;
}

/** A temporary store and context root for one test file; removed at the end, failed or not. */
export function buildLab(t: ExecutionContext): Lab {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kltest-build-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return labIn(dir);
}

export function labIn(dir: string): Lab {
  const storeDir = path.join(dir, 'store');
  mkdirSync(storeDir, { recursive: true });
  const store = new ImageStore(storeDir);
  return {
    dir,
    store,
    context(name, files) {
      const root = path.join(dir, name);
      for (const [rel, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        writeFileSync(path.join(root, rel), content);
      }
      mkdirSync(root, { recursive: true });
      return root;
    },
    async build(args, opts = {}) {
      const r = await execa(KUBELAB, ['build', '--json', ...args], {
        reject: opts.reject ?? true,
        input: opts.input,
        env: { KUBELAB_IMAGES_DIR: storeDir, ...opts.env },
      });
      let json: BuildJson | undefined;
      if (r.exitCode === 0) json = JSON.parse(String(r.stdout)) as BuildJson;
      return { json, stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    },
    async config(ref) {
      return (await store.resolve(ref)).config;
    },
    async files(ref, skipLayers = 0) {
      const img = await store.resolve(ref);
      const out: string[] = [];
      for (const l of img.layers.slice(skipLayers)) {
        const r = await execa('tar', ['-tvf', store.blobPath(l.digest), '--numeric-owner']);
        for (const line of String(r.stdout).split('\n').filter(Boolean)) {
          const f = line.split(/\s+/);
          out.push(`${f[0]} ${f[1]} ${f[2]} ${f.slice(5).join(' ')}`);
        }
      }
      return out;
    },
  };
}

export const readText = (p: string) => readFileSync(p, 'utf8');
