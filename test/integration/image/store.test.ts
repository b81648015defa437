// The local image store against real clients (skopeo, umoci), and layer extraction's safety against
// hostile tarballs: nothing is written outside the destination, no device is made.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import tar from 'tar-stream';
import { extractLayer, LayerError, tarDirectory } from '../../../src/image/layers.ts';
import { ImageNotFound, ImageStore } from '../../../src/image/store.ts';
import { rootOrSkip } from '../helpers.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kubelab-imgtest-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

async function smallImage(store: ImageStore, ref: string) {
  const dir = path.join(work, `src-${ref.replace(/\W/g, '_')}`);
  mkdirSync(path.join(dir, 'etc'), { recursive: true });
  writeFileSync(path.join(dir, 'etc', 'motd'), 'hello from a layer\n');
  const blob = await tarDirectory(dir, `${dir}.tar`, { gzip: true, mtime: new Date(0) });
  return store.putImage(ref, { architecture: 'amd64', os: 'linux', config: { Cmd: ['cat', '/etc/motd'], Env: ['PATH=/bin'] }, rootfs: { type: 'layers', diff_ids: [] } }, [blob]);
}

test.serial('skopeo inspects and umoci unpacks the store, which is an OCI layout', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = new ImageStore(path.join(work, 'store'));
  const img = await smallImage(store, 'example/motd:1');
  const inspect = JSON.parse((await execa('skopeo', ['inspect', `oci:${store.oci}:example/motd:1`])).stdout);
  t.is(inspect.Digest, img.digest);
  t.deepEqual(inspect.Layers, [img.layers[0]!.digest]);
  const bundle = path.join(work, 'bundle');
  await execa('umoci', ['unpack', '--image', `${store.oci}:example/motd:1`, bundle]);
  t.is(readFileSync(path.join(bundle, 'rootfs', 'etc', 'motd'), 'utf8'), 'hello from a layer\n');
  const dirs = await store.layerDirs(img);
  t.is(readFileSync(path.join(dirs[0]!, 'etc', 'motd'), 'utf8'), 'hello from a layer\n');
  await t.throwsAsync(store.resolve('example/other'), { instanceOf: ImageNotFound, message: /example\/other.*example\/motd:1/ });
});

async function hostileTar(file: string, entries: { name: string; type?: 'file' | 'symlink' | 'link' | 'character-device'; linkname?: string; body?: string }[]) {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, devmajor: 1, devminor: 3 }, e.body ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  writeFileSync(file, Buffer.concat(chunks));
}

const HOSTILE: [string, Parameters<typeof hostileTar>[1], RegExp][] = [
  ['a ../ path', [{ name: '../escaped', body: 'x' }], /escapes the root/],
  ['a symlink out, then a file through it', [{ name: 'out', type: 'symlink', linkname: '/tmp' }, { name: 'out/escaped', body: 'x' }], /goes through the symlink out/],
  ['a hard link to a file outside', [{ name: 'pw', type: 'link', linkname: '../../etc/passwd' }], /escapes the root|not a file of the layer/],
  ['a device node', [{ name: 'null', type: 'character-device' }], /device node/],
];

for (const [what, entries, message] of HOSTILE) {
  test.serial(`extraction refuses ${what}, and writes nothing outside`, async (t) => {
    if (!rootOrSkip(t)) return;
    const file = path.join(work, `hostile-${what.replace(/\W/g, '_')}.tar`);
    await hostileTar(file, entries);
    const dest = path.join(work, `dest-${what.replace(/\W/g, '_')}`, 'root');
    mkdirSync(dest, { recursive: true });
    await t.throwsAsync(extractLayer(file, dest, { mode: 'overlay' }), { instanceOf: LayerError, message });
    t.false(existsSync(path.join(dest, '..', 'escaped')));
    t.false(existsSync('/tmp/escaped'));
  });
}

test.serial('import: an OCI layout and a docker-archive written by skopeo come back with the same layers', async (t) => {
  if (!rootOrSkip(t)) return;
  const from = new ImageStore(path.join(work, 'from'));
  const img = await smallImage(from, 'example/round:1');
  const archive = path.join(work, 'round.tar');
  await execa('skopeo', ['copy', `oci:${from.oci}:example/round:1`, `docker-archive:${archive}:example/round:1`]);
  const layout = path.join(work, 'layout');
  await execa('skopeo', ['copy', `oci:${from.oci}:example/round:1`, `oci:${layout}:v1`]);
  const { importDockerArchive, importOciLayout } = await import('../../../src/image/import.ts');
  const to = new ImageStore(path.join(work, 'to'));
  const [a] = await importDockerArchive(to, archive);
  t.is(a!.ref, 'example/round:1');
  t.deepEqual(a!.config.config?.Cmd, ['cat', '/etc/motd']);
  t.deepEqual(a!.layers.map((l) => l.diffID), img.layers.map((l) => l.diffID));
  const [b] = await importOciLayout(to, layout, 'v1', 'example/round:oci');
  t.is(b!.ref, 'example/round:oci');
  t.deepEqual(b!.layers.map((l) => l.diffID), img.layers.map((l) => l.diffID));
  const dirs = await to.layerDirs(b!);
  t.is(readFileSync(path.join(dirs[0]!, 'etc', 'motd'), 'utf8'), 'hello from a layer\n');
  await t.throwsAsync(importOciLayout(to, layout, 'v2'), { message: /no manifest named "v2" \(has: v1\)/ });
});
