// Container start time, create to the command's first instruction, for the busybox image, in one run:
//   kubelab     prepareContainer (fresh upper/work dirs) + kubelab-init: cgroup made and joined, overlay
//               root, /proc, /dev, /sys, pivot_root, caps, uid, exec of `true`
//   baseline    by hand: `unshare --mount --uts --ipc --pid --fork chroot <rootfs> /bin/true` on the
//               same unpacked layer (no overlay, no cgroup, no /dev or /proc: the least a container is)
//   runc        `runc run` of a bundle with the same rootfs (runc spec defaults), where runc is installed
// `true` ends at once, so the wall time of each run is its start time. Medians of RUNS runs, and ratios.
// Run as root: node --import tsx bench/container-start.ts
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { which } from '../src/driver/runner.ts';
import { ImageStore } from '../src/image/store.ts';
import { detectCgroups, removeCgroupTree } from '../src/runtime/cgroups.ts';
import { prepareContainer } from '../src/runtime/containers.ts';
import { ensureLabImages } from '../src/runtime/lab-images.ts';
import { cgroupSettings } from '../src/runtime/spec/resources.ts';

const RUNS = Number(process.env.RUNS ?? 20);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const store = new ImageStore();
await ensureLabImages(store);
const img = await store.resolve('busybox');
const layers = await store.layerDirs(img);
const work = mkdtempSync(path.join(os.tmpdir(), 'kubelab-bench-'));
const layout = detectCgroups();

async function kubelabOnce(i: number): Promise<number> {
  const t0 = performance.now();
  const p = prepareContainer({
    dir: path.join(work, `k${i}`),
    layers,
    image: img.config.config ?? {},
    container: { name: 'bench', command: ['true'] },
    hostname: 'bench',
    cgroup: { layout, rel: `kubelab/bench/besteffort/pod${i}/bench`, settings: cgroupSettings({ limits: { memory: '64Mi', cpu: '500m' } }) },
    owner: 'bench',
    why: 'bench',
  });
  await execa(p.cmd.argv[0]!, p.cmd.argv.slice(1));
  const ms = performance.now() - t0;
  rmSync(path.join(work, `k${i}`), { recursive: true, force: true });
  return ms;
}

async function baselineOnce(): Promise<number> {
  const t0 = performance.now();
  await execa('unshare', ['--mount', '--uts', '--ipc', '--pid', '--fork', 'chroot', layers.at(-1)!, '/bin/true']);
  return performance.now() - t0;
}

async function runcOnce(bundle: string, i: number): Promise<number> {
  const t0 = performance.now();
  await execa('runc', ['--root', path.join(work, 'runc-state'), 'run', '--bundle', bundle, `kubelab-bench-${process.pid}-${i}`]);
  return performance.now() - t0;
}

async function runcBundle(): Promise<string | undefined> {
  if (!which('runc').startsWith('/')) return undefined;
  const bundle = path.join(work, 'bundle');
  await execa('mkdir', ['-p', bundle]);
  await execa('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse((await execa('cat', [path.join(bundle, 'config.json')])).stdout);
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  spec.root = { path: layers.at(-1), readonly: true };
  spec.hostname = 'bench';
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  return bundle;
}

try {
  // One warm-up of each, so page cache and lazy set-up do not count.
  await kubelabOnce(-1);
  await baselineOnce();
  const bundle = await runcBundle();
  if (bundle) await runcOnce(bundle, -1);
  const k: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  // Interleaved, so a burst of load on the machine hits every method alike.
  for (let i = 0; i < RUNS; i++) {
    k.push(await kubelabOnce(i));
    b.push(await baselineOnce());
    if (bundle) r.push(await runcOnce(bundle, i));
  }
  const km = median(k);
  const bm = median(b);
  console.log(`container start, busybox, median of ${RUNS} (create to first instruction of \`true\`):`);
  console.log(`  unshare + chroot by hand (baseline)  ${bm.toFixed(1)} ms`);
  console.log(`  kubelab (prepare + kubelab-init)     ${km.toFixed(1)} ms   ${(km / bm).toFixed(2)}x baseline`);
  if (r.length) {
    const rm = median(r);
    console.log(`  runc run (same rootfs)               ${rm.toFixed(1)} ms   ${(rm / bm).toFixed(2)}x baseline; kubelab/runc ${(km / rm).toFixed(2)}x`);
  } else console.log('  runc: not installed (apt-get install runc) — skipped');
} finally {
  for (let i = -1; i < RUNS; i++) removeCgroupTree(layout, `kubelab/bench/besteffort/pod${i}`);
  removeCgroupTree(layout, 'kubelab/bench');
  rmSync(work, { recursive: true, force: true });
}
