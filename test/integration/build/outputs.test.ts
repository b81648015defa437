// Where built images go and where bases come from, checked with clients no one here wrote:
//   --output oci:DIR         skopeo inspect and umoci unpack accept it
//   --output docker-archive  skopeo inspect accepts it; a Docker engine loads it (--load)
//   FROM                     an OCI layout, a docker-archive, the Docker engine (docker-daemon:),
//                            and a registry with token auth, credentials from Docker's config.json
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { pushImage } from '../../../src/image/registry.ts';
import { ImageStore } from '../../../src/image/store.ts';
import { ensureLabImages } from '../../../src/runtime/lab-images.ts';
import { dockerdOrSkip, startDockerd } from '../image/helpers/dockerd.ts';
import { startRegistry } from '../image/helpers/registry.ts';
import { KUBELAB, rootOrSkip } from '../helpers.ts';
import { buildLab, labIn } from './helpers.ts';

const APP = {
  Dockerfile: 'FROM busybox\nCOPY hello.txt /srv/hello.txt\nRUN chmod 0640 /srv/hello.txt\nCMD ["cat", "/srv/hello.txt"]\nEXPOSE 8080\n',
  'hello.txt': 'hello from kubelab build\n',
};

test.serial('--output oci:DIR and docker-archive:FILE: skopeo inspects both, umoci unpacks the layout; FROM reads them back', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const ctx = lab.context('app', APP);
  const oci = path.join(lab.dir, 'oci');
  const archive = path.join(lab.dir, 'app.tar');
  const r = (await lab.build(['-t', 'lab/app:1', '--output', `oci:${oci}`, '--output', `docker-archive:${archive}`, ctx])).json!;
  const inspect = JSON.parse((await execa('skopeo', ['inspect', `oci:${oci}:lab/app:1`])).stdout);
  t.is(inspect.Digest, r.digest);
  t.deepEqual(inspect.Layers, r.layers.map((l) => l.digest));
  const config = JSON.parse((await execa('skopeo', ['inspect', '--config', `oci:${oci}:lab/app:1`])).stdout);
  t.deepEqual(config.config.Cmd, ['cat', '/srv/hello.txt']);
  t.deepEqual(config.config.ExposedPorts, { '8080/tcp': {} });
  const bundle = path.join(lab.dir, 'bundle');
  await execa('umoci', ['unpack', '--image', `${oci}:lab/app:1`, bundle]);
  t.is(readFileSync(path.join(bundle, 'rootfs/srv/hello.txt'), 'utf8'), APP['hello.txt']);
  t.true(existsSync(path.join(bundle, 'rootfs/bin/busybox')));
  t.true(existsSync(path.join(bundle, 'config.json')), 'umoci made a runtime bundle');
  const fromArchive = JSON.parse((await execa('skopeo', ['inspect', `docker-archive:${archive}`])).stdout);
  const manifest = JSON.parse((await execa('tar', ['-xOf', archive, 'manifest.json'])).stdout);
  t.deepEqual(manifest[0].RepoTags, ['lab/app:1']);
  t.is(fromArchive.Layers.length, r.layers.length);

  // A fresh store builds FROM the layout and FROM the archive.
  const other = labIn(path.join(lab.dir, 'other'));
  for (const base of [`oci:${oci}:lab/app:1`, `docker-archive:${archive}`]) {
    const c = other.context(`from-${base.split(':')[0]}`, { Dockerfile: `FROM ${base}\nRUN cat /srv/hello.txt > /copy\n` });
    const b = (await other.build(['-t', 'child:1', c])).json!;
    t.is(b.layers.length, r.layers.length + 1, base);
    t.deepEqual(b.layers.slice(0, -1).map((l) => l.diffID), r.layers.map((l) => l.diffID));
  }
});

test.serial('--load hands the image to a Docker engine; FROM docker-daemon: builds on an image of the engine', async (t) => {
  if (!rootOrSkip(t) || !dockerdOrSkip(t)) return;
  const lab = buildLab(t);
  const dockerd = await startDockerd();
  t.teardown(() => dockerd.stop());
  const host = `unix://${dockerd.socket}`;
  const ctx = lab.context('app', APP);
  const r = (await lab.build(['-t', 'lab/app:1', '--load', '--docker-host', host, ctx])).json!;
  const inspect = JSON.parse((await dockerd.cli(['image', 'inspect', 'lab/app:1'])).stdout)[0];
  t.is(inspect.Id, r.config, "docker's image ID is our config digest");
  t.deepEqual(inspect.RootFS.Layers, r.layers.map((l) => l.diffID));
  t.deepEqual(inspect.Config.Cmd, ['cat', '/srv/hello.txt']);
  // The docker CLI's own `docker load` takes the --output archive too.
  const archive = path.join(lab.dir, 'app.tar');
  await lab.build(['-t', 'lab/cli-loaded:1', '--output', `docker-archive:${archive}`, ctx]);
  const loaded = await dockerd.cli(['load', '-i', archive]);
  t.regex(loaded.stdout, /Loaded image: lab\/cli-loaded:1/);
  // The engine's image, under another name, as a base in a fresh store.
  await dockerd.cli(['tag', 'lab/app:1', 'engine/base:2']);
  const other = labIn(path.join(lab.dir, 'other'));
  const c = other.context('child', { Dockerfile: 'FROM docker-daemon:engine/base:2\nRUN echo child > /child\n' });
  const b = (await other.build(['-t', 'child:1', '--docker-host', host, c])).json!;
  t.deepEqual(b.layers.slice(0, -1).map((l) => l.diffID), r.layers.map((l) => l.diffID));
  // The same engine image copied into a store by the CLI, as a pod's image would be.
  const third = labIn(path.join(lab.dir, 'third'));
  const imported = await execa(KUBELAB, ['image', 'import', 'docker-daemon:engine/base:2', '--docker-host', host], { env: { KUBELAB_IMAGES_DIR: third.store.root } });
  t.regex(imported.stdout, /^engine\/base:2 sha256:/);
  t.deepEqual((await third.store.resolve('engine/base:2')).layers.map((l) => l.diffID), r.layers.map((l) => l.diffID));
});

test.serial('FROM a registry with token auth: credentials from config.json, digests verified; wrong ones are refused clearly', async (t) => {
  if (!rootOrSkip(t)) return;
  const lab = buildLab(t);
  const registry = await startRegistry({ users: { learner: 's3cret' } });
  t.teardown(() => registry.stop());
  // Publish the lab's busybox under a new name.
  const source = new ImageStore(path.join(lab.dir, 'source'));
  await ensureLabImages(source);
  const pushed = await pushImage(source, 'busybox', `${registry.host}/lab/busybox:1.0`, { auth: { username: 'learner', password: 's3cret' } });
  const dockerConfig = path.join(lab.dir, 'docker-config');
  mkdirSync(dockerConfig);
  const writeAuth = (pw: string) =>
    writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`learner:${pw}`).toString('base64') } } }));
  const ctx = lab.context('reg', { Dockerfile: `FROM ${registry.host}/lab/busybox:1.0\nRUN echo built-on-pulled > /proof\n` });
  writeAuth('wrong');
  const refused = await lab.build(['-t', 'reg:1', ctx], { reject: false, env: { DOCKER_CONFIG: dockerConfig } });
  t.is(refused.exitCode, 1);
  t.regex(refused.stderr, new RegExp(`Dockerfile:1: FROM ${registry.host.replace(/\./g, '\\.')}/lab/busybox:1\\.0: .*registry ${registry.host.replace(/\./g, '\\.')}`));
  writeAuth('s3cret');
  const r = (await lab.build(['-t', 'reg:1', ctx], { env: { DOCKER_CONFIG: dockerConfig } })).json!;
  const busybox = await source.resolve('busybox');
  t.deepEqual(r.layers[0]!.diffID, busybox.layers[0]!.diffID);
  t.is(r.layers.length, 2);
  t.is(pushed.digest, busybox.digest, 'the registry holds the very manifest that was pushed');
  t.true(registry.token!.requests.some((q) => q.account === 'learner' && q.outcome === 'issued' && q.scopes.some((s) => s.includes('pull'))), 'a pull token was issued');
  t.true(registry.token!.requests.some((q) => q.account === 'learner' && q.outcome === 'refused'), 'the wrong password was refused by the token server');
});
