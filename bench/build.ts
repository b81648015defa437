// Benchmark of `./kubelab build` against buildah (Debian's, chroot isolation, vfs storage) on the
// same busybox-based Dockerfile (6 instructions, one RUN), in one run:
//   cold    an empty build cache (kubelab: a fresh image store; buildah: a fresh storage root), with
//           the base image already local in both (imported from the same OCI layout, not timed)
//   cached  the same build again, every step a cache hit
// Each is the median of RUNS builds; the ratios are kubelab / buildah. Both are whole commands (a
// CLI starting, parsing, building, tagging), timed from outside. Needs root.
//   node --import tsx bench/build.ts [runs]
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../src/util/repo.ts';

const RUNS = Number(process.argv[2] ?? 5);
const KUBELAB = path.join(repoRoot(), 'kubelab');
// Lower-case only: buildah names a layout's image after its path.
const work = path.join(os.tmpdir(), `kltest-bench-build-${randomBytes(4).toString('hex')}`);
mkdirSync(work, { recursive: true });

const DOCKERFILE = (base: string) => `FROM ${base}
ENV APP=/app
WORKDIR /app
COPY site/ ./
RUN mkdir -p /app/data && echo built > /app/data/stamp && ls -la /app > /app/listing
CMD ["httpd", "-f", "-p", "8080", "-h", "/app"]
`;

function context(name: string, base: string): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'site/css'), { recursive: true });
  writeFileSync(path.join(dir, 'site/index.html'), '<h1>bench</h1>\n');
  writeFileSync(path.join(dir, 'site/css/site.css'), 'body { margin: 0 }\n');
  writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE(base));
  return dir;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/build.ts needs root (RUN steps run in containers)');
    process.exit(2);
  }
  // The base both builders start from: the lab's busybox, as an OCI layout.
  const layout = path.join(work, 'busybox-layout');
  await execa(KUBELAB, ['image', 'export', 'busybox', '-o', `oci:${layout}`]);
  await execa(KUBELAB, ['build', '--help']); // the launcher's bundle is fresh before timing

  const kubelab = { cold: [] as number[], cached: [] as number[] };
  const buildah = { cold: [] as number[], cached: [] as number[] };
  const kctx = context('kubelab-ctx', 'busybox');
  for (let i = 0; i < RUNS; i++) {
    const store = path.join(work, `kstore-${i}`);
    const env = { KUBELAB_IMAGES_DIR: store };
    await execa(KUBELAB, ['image', 'import', `oci:${layout}:busybox:latest`, '--tag', 'busybox:latest'], { env });
    const args = ['build', '-q', '-t', 'bench:1', kctx];
    kubelab.cold.push(await timed(() => execa(KUBELAB, args, { env })));
    kubelab.cached.push(await timed(() => execa(KUBELAB, args, { env })));
    rmSync(store, { recursive: true, force: true });
  }
  for (let i = 0; i < RUNS; i++) {
    const root = path.join(work, `broot-${i}`);
    const b = ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run'), '--storage-driver', 'vfs'];
    const id = (await execa('buildah', [...b, 'pull', '--quiet', `oci:${layout}:busybox:latest`])).stdout.trim().split('\n').at(-1)!;
    await execa('buildah', [...b, 'tag', id, 'localhost/busybox:latest']);
    const bctx = context(`buildah-ctx-${i}`, 'localhost/busybox:latest');
    const args = [...b, 'bud', '--quiet', '--isolation', 'chroot', '--layers', '--pull=never', '-t', 'bench:1', bctx];
    buildah.cold.push(await timed(() => execa('buildah', args)));
    buildah.cached.push(await timed(() => execa('buildah', args)));
    await execa('buildah', [...b, 'rmi', '--all', '--force'], { reject: false });
    rmSync(root, { recursive: true, force: true });
  }
  const f = (ms: number) => `${ms.toFixed(0)} ms`.padStart(9);
  console.log(`same Dockerfile (6 instructions, 1 RUN), median of ${RUNS}`);
  console.log(`               kubelab    buildah   kubelab/buildah`);
  for (const k of ['cold', 'cached'] as const) {
    console.log(`${k.padEnd(10)} ${f(median(kubelab[k]))} ${f(median(buildah[k]))}   ${(median(kubelab[k]) / median(buildah[k])).toFixed(2)}x`);
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
