// Images to and from a real Docker engine (Debian's dockerd, in a network namespace and directories
// of its own: helpers/dockerd.ts): our docker-archive of busybox loads into it and `docker image
// inspect` sees it; docker save of it imports back into a fresh store with the same layers; the
// docker-daemon: source goes the same way. Teardown leaves no process, mount, directory or netns.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { dockerAvailable, dockerSocketPath, DockerEngineError, importFromDocker, loadIntoDocker } from '../../../src/image/docker-engine.ts';
import { writeDockerArchive } from '../../../src/image/export.ts';
import { resolveImageSource } from '../../../src/image/sources.ts';
import { ImageStore } from '../../../src/image/store.ts';
import { rootOrSkip } from '../helpers.ts';
import { dockerdOrSkip, dockerdUnavailable, startDockerd, type TestDockerd } from './helpers/dockerd.ts';
import { labStore, tinyImage } from './helpers/images.ts';
import { running } from './helpers/processes.ts';

const work = mkdtempSync(path.join(os.tmpdir(), 'kltest-dockerimg-'));
let dockerd: TestDockerd | undefined;
let labPromise: Promise<ImageStore> | undefined;
const lab = () => (labPromise ??= labStore(path.join(work, 'lab')));
let storeCount = 0;
const freshStore = () => new ImageStore(path.join(work, `store-${++storeCount}`));

test.before(async () => {
  if (dockerdUnavailable()) return; // each test skips locally, or fails in CI, with the reason
  dockerd = await startDockerd();
});

test.after.always(async () => {
  const d = dockerd;
  try {
    if (d) {
      await d.stop();
      // Nothing of the engine may outlive the test: check, so a leak fails the run.
      const leaks = [
        running(d.daemon) && `dockerd ${d.daemon.pid} still runs`,
        existsSync(d.dir) && `${d.dir} still exists`,
        existsSync(`/run/netns/${d.netns}`) && `netns ${d.netns} still exists`,
        readFileSync('/proc/self/mountinfo', 'utf8').includes(d.dir) && `mounts under ${d.dir} remain`,
      ].filter(Boolean);
      if (leaks.length) throw new Error(`dockerd teardown left: ${leaks.join('; ')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

const ready = (t: Parameters<typeof rootOrSkip>[0]) => rootOrSkip(t) && dockerdOrSkip(t);

test.serial('the engine is up in its own netns and answers its ping; an absent socket does not', async (t) => {
  if (!ready(t)) return;
  t.true(await dockerAvailable(dockerd!.socket));
  t.false(await dockerAvailable(path.join(work, 'no.sock')));
  t.is(dockerSocketPath(undefined, { DOCKER_HOST: `unix://${dockerd!.socket}` }), dockerd!.socket);
  t.is(dockerSocketPath(undefined, {}), '/var/run/docker.sock');
  t.throws(() => dockerSocketPath(undefined, { DOCKER_HOST: 'tcp://127.0.0.1:2375' }), { message: /only unix:\/\/ sockets/ });
  const info = await dockerd!.docker.info();
  t.is(info.DockerRootDir, path.join(dockerd!.dir, 'data'));
  // The engine's network namespace is not the host's.
  t.not(readFileSync(`/proc/${dockerd!.daemon.pid}/net/dev`, 'utf8'), readFileSync('/proc/self/net/dev', 'utf8'));
});

test.serial('loadIntoDocker: our docker-archive of busybox loads, and docker image inspect sees its config and layers', async (t) => {
  if (!ready(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const archive = path.join(work, 'busybox.tar');
  await writeDockerArchive(store, ['busybox'], archive);
  const loaded = await loadIntoDocker(dockerd!.docker, archive);
  t.deepEqual(loaded, ['busybox:latest']);
  const r = await dockerd!.cli(['image', 'inspect', 'busybox:latest']);
  t.is(r.exitCode, 0, r.stderr);
  const [inspect] = JSON.parse(r.stdout);
  t.is(inspect.Id, busybox.manifest.config.digest);
  t.deepEqual(inspect.RootFS.Layers, busybox.layers.map((l) => l.diffID));
  t.deepEqual(inspect.RepoTags, ['busybox:latest']);
  t.deepEqual(inspect.Config.Cmd, ['sh']);
  t.is(inspect.Architecture, 'amd64');
});

test.serial('importFromDocker: docker save of that image, into a fresh store: the same config and layers', async (t) => {
  if (!ready(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const fresh = freshStore();
  const [img] = await importFromDocker(fresh, dockerd!.docker, 'busybox:latest');
  t.is(img!.ref, 'busybox:latest');
  t.is(img!.manifest.config.digest, busybox.manifest.config.digest);
  t.deepEqual(img!.layers.map((l) => [l.digest, l.diffID]), busybox.layers.map((l) => [l.digest, l.diffID]));
  const [dir] = await fresh.layerDirs(img!);
  t.regex(readFileSync(path.join(dir!, 'etc', 'passwd'), 'utf8'), /^root:x:0:0:/);
  const as = await importFromDocker(fresh, dockerd!.docker, 'busybox', { as: 'from-docker/busybox:1' });
  t.is(as[0]!.ref, 'from-docker/busybox:1');
  await t.throwsAsync(importFromDocker(fresh, dockerd!.docker, 'never-loaded:1'), { instanceOf: DockerEngineError, message: /saving never-loaded:1: the engine has no image "never-loaded:1" \(404/ });
});

test.serial('a gzip\'d image round-trips through the engine; docker-daemon: and docker-image:// sources resolve through it', async (t) => {
  if (!ready(t)) return;
  const store = await lab();
  const tiny = await tinyImage(store, 'lab/tiny:1');
  const archive = path.join(work, 'tiny.tar');
  await writeDockerArchive(store, ['lab/tiny:1'], archive);
  t.deepEqual(await loadIntoDocker(dockerd!.docker, archive), ['lab/tiny:1']);
  const fresh = freshStore();
  const a = await resolveImageSource(fresh, 'docker-daemon:lab/tiny:1', { docker: dockerd!.docker });
  t.is(a.manifest.config.digest, tiny.manifest.config.digest);
  t.deepEqual(a.layers.map((l) => l.diffID), tiny.layers.map((l) => l.diffID));
  const b = await resolveImageSource(freshStore(), 'docker-image://busybox:latest', { dockerSocket: dockerd!.socket });
  t.is(b.ref, 'busybox:latest');
  await t.throwsAsync(resolveImageSource(freshStore(), 'docker-daemon:busybox', { dockerSocket: path.join(work, 'no.sock') }), { message: /no Docker engine answers on .*no\.sock/ });
  await t.throwsAsync(loadIntoDocker(dockerd!.docker, path.join(work, 'absent.tar')), { message: /absent\.tar does not exist/ });
});
