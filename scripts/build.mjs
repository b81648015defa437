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

const sourceTime = Math.max(newest(path.join(root, 'src')), statSync(path.join(root, 'package-lock.json')).mtimeMs);
if (existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= sourceTime && Object.keys(entries).every((e) => existsSync(path.join(dist, `${e}.mjs`)))) process.exit(0);

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
for (const f of readdirSync(tmp)) renameSync(path.join(tmp, f), path.join(dist, f));
readdirSync(tmp).length === 0 && (await import('node:fs')).rmSync(tmp, { recursive: true, force: true });
writeFileSync(stamp, String(sourceTime));
