// Exports against the real readers: the lab's busybox written as an OCI layout (skopeo inspects it,
// umoci unpacks it) and as a docker-archive (skopeo inspects it), each imported back with the same
// layers; a layout keeps its other images when one is added; sources read both formats.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { writeDockerArchive, writeOciLayout } from '../../../src/image/export.ts';
import { importDockerArchive, importOciLayout } from '../../../src/image/import.ts';
import { resolveImageSource } from '../../../src/image/sources.ts';
import { ImageStore, REF_ANNOTATION, type StoredImage } from '../../../src/image/store.ts';
import { rootOrSkip } from '../helpers.ts';
import { labStore, tinyImage } from './helpers/images.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kltest-export-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));

let storePromise: Promise<ImageStore> | undefined;
/** One lab store for the file (ensureLabImages takes a second or two). */
const lab = () => (storePromise ??= labStore(path.join(work, 'lab')));

const sameLayers = (t: { deepEqual: (a: unknown, b: unknown) => void }, got: StoredImage, want: StoredImage) => {
  t.deepEqual(
    got.layers.map((l) => [l.digest, l.diffID]),
    want.layers.map((l) => [l.digest, l.diffID]),
  );
};

async function skopeoInspect(transport: string): Promise<{ Digest: string; Layers: string[]; Architecture: string; Os: string; RepoTags?: string[] }> {
  return JSON.parse((await execa('skopeo', ['inspect', transport])).stdout);
}

test.serial('an OCI layout of busybox: skopeo inspects it, umoci unpacks it, it imports back with the same layers', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const dir = path.join(work, 'layout');
  const [desc] = await writeOciLayout(store, ['busybox'], dir);
  t.is(desc!.annotations?.[REF_ANNOTATION], 'busybox:latest');
  t.deepEqual(desc!.platform, { architecture: 'amd64', os: 'linux' });
  t.deepEqual(JSON.parse(readFileSync(path.join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });

  const inspect = await skopeoInspect(`oci:${dir}:busybox:latest`);
  t.is(inspect.Digest, busybox.digest);
  t.deepEqual(inspect.Layers, busybox.layers.map((l) => l.digest));
  t.is(inspect.Architecture, 'amd64');

  const bundle = path.join(work, 'bundle');
  await execa('umoci', ['unpack', '--image', `${dir}:busybox:latest`, bundle]);
  t.true(statSync(path.join(bundle, 'rootfs', 'bin', 'busybox')).isFile());
  t.regex(readFileSync(path.join(bundle, 'rootfs', 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/);
  t.deepEqual(JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')).process.args, ['sh']);

  const back = new ImageStore(path.join(work, 'back-oci'));
  const [img] = await importOciLayout(back, dir, 'busybox:latest');
  t.is(img!.digest, busybox.digest);
  sameLayers(t, img!, busybox);
});

test.serial('adding to an existing layout keeps its other images; writing a name again moves it, not duplicates it', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const dir = path.join(work, 'layout-shared');
  // The layout starts as skopeo writes it, with an image of skopeo's own.
  await execa('skopeo', ['copy', `oci:${store.oci}:busybox:latest`, `oci:${dir}:from-skopeo`]);
  // skopeo re-serializes and compresses what it copies: its image is its own, and must stay so.
  const skopeos = await skopeoInspect(`oci:${dir}:from-skopeo`);
  const first = await tinyImage(store, 'example/first:1');
  await writeOciLayout(store, ['example/first:1'], dir, { names: { 'example/first:1': 'first' } });
  const second = await tinyImage(store, 'example/second:1');
  await writeOciLayout(store, ['example/second:1', 'busybox'], dir);
  const names = () => (JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')).manifests as { annotations?: Record<string, string> }[]).map((m) => m.annotations?.[REF_ANNOTATION]);
  t.deepEqual(names(), ['from-skopeo', 'first', 'example/second:1', 'busybox:latest']);
  t.deepEqual(await skopeoInspect(`oci:${dir}:from-skopeo`), skopeos);
  t.is((await skopeoInspect(`oci:${dir}:first`)).Digest, first.digest);
  t.is((await skopeoInspect(`oci:${dir}:example/second:1`)).Digest, second.digest);
  // "first" now names the second image: moved, not duplicated.
  await writeOciLayout(store, ['example/second:1'], dir, { names: { 'example/second:1': 'first' } });
  t.deepEqual(names(), ['from-skopeo', 'example/second:1', 'busybox:latest', 'first']);
  t.is((await skopeoInspect(`oci:${dir}:first`)).Digest, second.digest);
  t.deepEqual(await skopeoInspect(`oci:${dir}:from-skopeo`), skopeos);
  await t.throwsAsync(writeOciLayout(store, ['nope:1'], dir), { message: /image "nope:1" not found in the local store/ });
});

test.serial('a docker-archive of busybox: skopeo inspects it, its shape is docker save\'s, it imports back with the same layers', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  await store.tag('localhost:5000/lab/busybox:1', 'busybox:latest');
  const file = path.join(work, 'busybox.tar');
  const plan = await writeDockerArchive(store, ['busybox', 'localhost:5000/lab/busybox:1'], file);
  t.deepEqual(plan.manifest[0]!.RepoTags, ['busybox:latest', 'localhost:5000/lab/busybox:1']);

  const inspect = await skopeoInspect(`docker-archive:${file}`);
  t.deepEqual(inspect.Layers, busybox.layers.map((l) => l.diffID));
  t.is(inspect.Architecture, 'amd64');

  const members = (await execa('tar', ['-tf', file])).stdout.split('\n');
  const cfgHex = busybox.manifest.config.digest.slice('sha256:'.length);
  for (const m of ['manifest.json', 'repositories', `${cfgHex}.json`, plan.manifest[0]!.Layers[0]!]) t.true(members.includes(m), `${m} is in the archive`);
  const manifestJson = JSON.parse((await execa('tar', ['-xOf', file, 'manifest.json'])).stdout);
  t.deepEqual(Object.keys(manifestJson[0]), ['Config', 'RepoTags', 'Layers']);
  t.deepEqual(JSON.parse((await execa('tar', ['-xOf', file, 'repositories'])).stdout), { busybox: { latest: plan.layers[0]!.id }, 'localhost:5000/lab/busybox': { '1': plan.layers[0]!.id } });

  const back = new ImageStore(path.join(work, 'back-archive'));
  const [img] = await importDockerArchive(back, file);
  t.is(img!.ref, 'busybox:latest');
  t.is(img!.manifest.config.digest, busybox.manifest.config.digest);
  sameLayers(t, img!, busybox);
  t.is((await back.resolve('localhost:5000/lab/busybox:1')).digest, img!.digest);
});

test.serial('a gzip\'d layer goes into the docker-archive uncompressed, as docker expects, and matches its diffID', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const tiny = await tinyImage(store, 'example/gz:1');
  t.not(tiny.layers[0]!.digest, tiny.layers[0]!.diffID);
  const file = path.join(work, 'gz.tar');
  await writeDockerArchive(store, ['example/gz:1'], file);
  const inspect = await skopeoInspect(`docker-archive:${file}`);
  t.deepEqual(inspect.Layers, [tiny.layers[0]!.diffID]);
  const back = new ImageStore(path.join(work, 'back-gz'));
  const [img] = await importDockerArchive(back, file);
  t.deepEqual(img!.layers.map((l) => l.digest), [tiny.layers[0]!.diffID]);
  const dirs = await back.layerDirs(img!);
  t.regex(readFileSync(path.join(dirs[0]!, 'etc', 'kubelab-test'), 'utf8'), /^example\/gz:1 /);
});

test.serial('sources: oci:, oci-layout:// and docker-archive: bring the image into a store; the store answers bare names', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const dir = path.join(work, 'layout-src');
  await writeOciLayout(store, ['busybox'], dir, { names: { busybox: 'v1' } });
  const file = path.join(work, 'src.tar');
  await writeDockerArchive(store, ['busybox'], file);
  const to = new ImageStore(path.join(work, 'sources'));

  const a = await resolveImageSource(to, `oci:${dir}:v1`);
  t.is(a.ref, 'layout-src:v1');
  t.is(a.digest, busybox.digest);
  const b = await resolveImageSource(to, `oci-layout://${dir}`, { as: 'from-layout:1' });
  t.is(b.ref, 'from-layout:1');
  const c = await resolveImageSource(to, `docker-archive:${file}`);
  t.is(c.ref, 'busybox:latest');
  sameLayers(t, c, busybox);
  t.is((await resolveImageSource(to, 'busybox')).digest, c.digest);

  await t.throwsAsync(resolveImageSource(to, `oci:${dir}:v2`), { message: /has no image named "v2" \(it has: v1\)/ });
  await t.throwsAsync(resolveImageSource(to, `oci:${path.join(work, 'nowhere')}`), { message: /is not an OCI image layout \(no index.json\)/ });
  await t.throwsAsync(resolveImageSource(to, `docker-archive:${path.join(work, 'none.tar')}`), { message: /none.tar is not a file/ });
  await t.throwsAsync(resolveImageSource(to, `docker-archive:${file}:other:1`), { message: /no image tagged other:1 \(it has: busybox:latest\)/ });
  await t.throwsAsync(resolveImageSource(to, 'alpine:3'), { message: /no image alpine:3 in the local store \(it has: .*busybox:latest.*\)/ });
  t.false(existsSync(path.join(to.oci, 'blobs', 'sha256', 'x')));
});
