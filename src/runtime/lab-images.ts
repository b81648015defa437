// The lab's own images, made locally so every lab works offline:
//   busybox            one layer: Debian's static busybox, an applet link per command, /etc/passwd
//   agnhost            busybox + a node layer (node and the libraries it links) + the test server
//   kubelab/dns        busybox + the same node layer + the cluster DNS add-on
// Layers are reproducible (sorted entries, fixed times, root-owned), so the same inputs give the same
// digests on every machine, and the shared layers (busybox, node) are stored and unpacked once.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tarDirectory, type LayerBlob } from '../image/layers.ts';
import { ImageNotFound, sha256, type ImageStore, type OciImageConfig } from '../image/store.ts';
import { repoRoot } from '../util/repo.ts';

const EPOCH = new Date('2024-01-01T00:00:00Z');
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BUSYBOX = '/bin/busybox';

interface LayerRecipe {
  /** Changes when the layer's inputs change: the cache key of its tar. */
  key: string;
  fill: (dir: string) => void;
}

function busyboxLayer(): LayerRecipe {
  const st = statSync(BUSYBOX);
  return {
    key: `busybox ${st.size} ${st.mtimeMs} v1`,
    fill(dir) {
      for (const d of ['bin', 'etc', 'root', 'home/user', 'tmp', 'proc', 'sys', 'dev', 'usr/bin', 'var/log']) mkdirSync(path.join(dir, d), { recursive: true });
      chmodSync(path.join(dir, 'tmp'), 0o1777);
      chmodSync(path.join(dir, 'root'), 0o700);
      copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
      chmodSync(path.join(dir, 'bin/busybox'), 0o755);
      for (const a of execFileSync(BUSYBOX, ['--list']).toString().split('\n').filter(Boolean)) {
        if (a !== 'busybox' && !existsSync(path.join(dir, 'bin', a))) symlinkSync('busybox', path.join(dir, 'bin', a));
      }
      symlinkSync('../../bin/busybox', path.join(dir, 'usr/bin/env'));
      writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
      writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nwheel:x:10:user\nuser:x:1000:\nnogroup:x:65534:\n');
      execFileSync('chown', ['1000:1000', path.join(dir, 'home/user')]);
    },
  };
}

/** Node and the shared libraries it is linked against, at their usual paths. */
function nodeLayer(): LayerRecipe {
  const node = process.execPath;
  const st = statSync(node);
  return {
    key: `node ${node} ${st.size} ${st.mtimeMs} v1`,
    fill(dir) {
      const files = new Set<string>([node]);
      for (const line of execFileSync('ldd', [node]).toString().split('\n')) {
        const m = /(?:=>\s*)?(\/\S+)\s+\(/.exec(line);
        if (m) files.add(m[1]!);
      }
      for (const f of files) {
        const real = execFileSync('readlink', ['-f', f]).toString().trim();
        const target = f === node ? path.join(dir, 'usr/local/bin/node') : path.join(dir, f);
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(real, target);
        chmodSync(target, 0o755);
      }
    },
  };
}

function appLayer(name: 'agnhost' | 'dns'): LayerRecipe {
  const bundle = path.join(repoRoot(), 'dist', 'image', `${name}.mjs`);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run ./kubelab once (it builds dist/)`);
  return {
    key: `app ${name} ${sha256(readFileSync(bundle))}`,
    fill(dir) {
      mkdirSync(path.join(dir, 'app'), { recursive: true });
      copyFileSync(bundle, path.join(dir, 'app', `${name}.mjs`));
    },
  };
}

interface LabImage {
  refs: string[];
  layers: () => LayerRecipe[];
  config: NonNullable<OciImageConfig['config']>;
}

const LAB_IMAGES: LabImage[] = [
  { refs: ['busybox:latest'], layers: () => [busyboxLayer()], config: { Env: [PATH_ENV], Cmd: ['sh'] } },
  {
    refs: ['agnhost:latest', 'kubelab/agnhost:latest', 'registry.k8s.io/e2e-test-images/agnhost:2.43'],
    layers: () => [busyboxLayer(), nodeLayer(), appLayer('agnhost')],
    config: { Env: [PATH_ENV], Entrypoint: ['/usr/local/bin/node', '/app/agnhost.mjs'], Cmd: ['netexec', '--http-port=8080', '--udp-port=8081'], ExposedPorts: { '8080/tcp': {}, '8081/udp': {} } },
  },
  {
    refs: ['kubelab/dns:latest'],
    layers: () => [busyboxLayer(), nodeLayer(), appLayer('dns')],
    config: { Env: [PATH_ENV], Entrypoint: ['/usr/local/bin/node', '/app/dns.mjs'], Cmd: ['cluster'], ExposedPorts: { '53/udp': {}, '53/tcp': {} } },
  },
];

/** Every name the lab's images are stored under. */
export const LAB_IMAGE_REFS: readonly string[] = LAB_IMAGES.flatMap((i) => i.refs);

/** The tar of one recipe, made once per key and kept in the store's cache directory. */
function layerFor(store: ImageStore, recipe: LayerRecipe, built: Map<string, LayerBlob>): Promise<LayerBlob> | LayerBlob {
  const cacheFile = path.join(store.root, 'lab-layers.json');
  const cache: Record<string, LayerBlob> = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  const known = built.get(recipe.key) ?? cache[recipe.key];
  if (known && existsSync(store.blobPath(known.digest))) return { ...known, path: store.blobPath(known.digest) };
  return (async () => {
    const stage = mkdtempSync(path.join(os.tmpdir(), 'kubelab-layer-'));
    const out = `${stage}.tar`;
    try {
      recipe.fill(stage);
      const blob = await tarDirectory(stage, out, { mtime: EPOCH });
      await store.putBlob(out);
      const stored = { ...blob, path: store.blobPath(blob.digest) };
      const fresh: Record<string, LayerBlob> = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
      fresh[recipe.key] = stored;
      writeFileSync(cacheFile, JSON.stringify(fresh, null, 1));
      built.set(recipe.key, stored);
      return stored;
    } finally {
      rmSync(stage, { recursive: true, force: true });
      rmSync(out, { force: true });
    }
  })();
}

/**
 * Makes (or refreshes, when busybox, node or the bundles changed) the lab's images; `only` limits it
 * to some of them (a build FROM busybox need not wait for the node layer of agnhost).
 */
export async function ensureLabImages(store: ImageStore, only?: string[]): Promise<void> {
  await withLock(path.join(store.root, '.lab-images.lock'), () => makeLabImages(store, only));
}

/** One process at a time per store (a directory is the lock; a dead holder's lock is taken over). */
async function withLock(dir: string, work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (Number.isInteger(holder) && !existsSync(`/proc/${holder}`)) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`the image store is locked by process ${holder} (${dir})`);
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    await work();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function makeLabImages(store: ImageStore, only?: string[]): Promise<void> {
  const built = new Map<string, LayerBlob>();
  for (const image of LAB_IMAGES) {
    if (only && !image.refs.some((r) => only.includes(r))) continue;
    const layers: LayerBlob[] = [];
    for (const recipe of image.layers()) layers.push(await layerFor(store, recipe, built));
    let current: string | undefined;
    try {
      current = (await store.resolve(image.refs[0]!)).layers.map((l) => l.diffID).join(',');
    } catch (e) {
      if (!(e instanceof ImageNotFound)) throw e;
    }
    if (current === layers.map((l) => l.diffID).join(',')) continue;
    const config: OciImageConfig = {
      created: EPOCH.toISOString(),
      architecture: 'amd64',
      os: 'linux',
      config: image.config,
      rootfs: { type: 'layers', diff_ids: [] },
      history: layers.map((_, i) => ({ created: EPOCH.toISOString(), created_by: `kubelab lab image layer ${i + 1}` })),
    };
    const stored = await store.putImage(image.refs[0]!, config, layers);
    for (const alias of image.refs.slice(1)) await store.tag(alias, stored.ref);
  }
}
