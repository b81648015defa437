// Bundles kubelab's entry points (the CLI, the daemons, the test server) from src/ into dist/ with
// esbuild, so that each process starts in a fraction of the time tsx needs to compile on the fly.
// Cheap when nothing changed: it compares the newest source file with the last build.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.built');
const entries = { kubelab: 'src/cli/main.ts', daemons: 'src/daemons/main.ts', agnhost: 'src/workloads/agnhost.ts', dns: 'src/dns/main.ts' };

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

// kubelab-init, the runtime's native part (src/runtime/init/kubelab-init.c): a static binary, so it
// can be run from any mount namespace. Rebuilt when its source is newer.
{
  const { execFileSync } = await import('node:child_process');
  const src = path.join(root, 'src/runtime/init/kubelab-init.c');
  const out = path.join(dist, 'kubelab-init');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dist, { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-static', '-o', `${out}.tmp`, src], { stdio: 'inherit' });
    renameSync(`${out}.tmp`, out);
  }
}

const sourceTime = Math.max(newest(path.join(root, 'src')), statSync(path.join(root, 'package-lock.json')).mtimeMs);
const fresh = existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= sourceTime && Object.keys(entries).every((e) => existsSync(path.join(dist, `${e}.mjs`)));
if (!fresh) await bundle();

// `node scripts/build.mjs --run ARGS...` (what ./kubelab does) then runs the CLI in this same
// process: one Node start per command instead of two.
if (process.argv[2] === '--run') {
  process.argv = [process.argv[0], path.join(dist, 'kubelab.mjs'), ...process.argv.slice(3)];
  await import(path.join(dist, 'kubelab.mjs'));
}

async function bundle() {

mkdirSync(dist, { recursive: true });
const tmp = path.join(dist, `.tmp-${process.pid}`);
const { build } = await import('esbuild');
await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, path.join(root, v)])),
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'error',
});
// The programs of the lab's own images (kubelab/agnhost, kubelab/dns) run inside containers that have
// no node_modules: bundle them with their dependencies.
await build({
  entryPoints: { agnhost: path.join(root, entries.agnhost), dns: path.join(root, entries.dns) },
  outdir: path.join(tmp, 'image'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "import { createRequire as __kubelabRequire } from 'node:module'; const require = __kubelabRequire(import.meta.url);" },
  logLevel: 'error',
});
mkdirSync(path.join(dist, 'image'), { recursive: true });
for (const f of readdirSync(path.join(tmp, 'image'))) renameSync(path.join(tmp, 'image', f), path.join(dist, 'image', f));
(await import('node:fs')).rmdirSync(path.join(tmp, 'image'));
for (const f of readdirSync(tmp)) renameSync(path.join(tmp, f), path.join(dist, f));
readdirSync(tmp).length === 0 && (await import('node:fs')).rmSync(tmp, { recursive: true, force: true });
writeFileSync(stamp, String(sourceTime));
}
