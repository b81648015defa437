// The registry client against a real registry: Debian's docker-registry on 127.0.0.1 with token
// auth (our token server issues RS256 JWTs carrying their certificate in x5c). Push and pull with
// our client and with skopeo in both directions, a two-platform index, corrupted content caught by
// digest verification, refused credentials, a registry reference as an image source; and a second
// registry with htpasswd, whose Basic challenge the client answers too.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { writeOciLayout } from '../../../src/image/export.ts';
import { OCI_INDEX } from '../../../src/image/manifests.ts';
import { pullImage, pushImage, RegistryError } from '../../../src/image/registry.ts';
import { resolveImageSource } from '../../../src/image/sources.ts';
import { ImageStore, REF_ANNOTATION, sha256, type StoredImage } from '../../../src/image/store.ts';
import { rootOrSkip } from '../helpers.ts';
import { labStore, tinyImage } from './helpers/images.ts';
import { freePort } from './helpers/processes.ts';
import { startRegistry, type TestRegistry } from './helpers/registry.ts';
import { startTamperProxy } from './helpers/tamper-proxy.ts';

const USER = 'alice';
const PASSWORD = 'wonder-land-42';
const auth = { username: USER, password: PASSWORD };
const skopeoCreds = `${USER}:${PASSWORD}`;

const work = mkdtempSync(path.join(os.tmpdir(), 'kltest-regclient-'));
let registry: TestRegistry | undefined;
let labPromise: Promise<ImageStore> | undefined;

test.before(async () => {
  if (process.getuid?.() !== 0) return; // each test skips (or fails in CI) with the reason
  registry = await startRegistry({ users: { [USER]: PASSWORD } });
});

test.after.always(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

const lab = () => (labPromise ??= labStore(path.join(work, 'lab')));
let storeCount = 0;
const freshStore = () => new ImageStore(path.join(work, `store-${++storeCount}`));
const reg = () => registry!.host;

const layersOf = (img: StoredImage) => img.layers.map((l) => [l.digest, l.diffID]);

/** Leftovers of a download (`*.part`) in a store's blob directory. */
const partials = (store: ImageStore) => readdirSync(path.join(store.oci, 'blobs', 'sha256')).filter((f) => f.includes('.part') || f.includes('.tmp'));

test.serial('push with pushImage, pull into a fresh store with pullImage: same manifest, config and layers', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const before = registry!.token!.requests.length;
  const pushed = await pushImage(store, 'busybox', `${reg()}/lab/busybox:1`, { auth });
  t.is(pushed.digest, busybox.digest);
  t.is(pushed.reference, `${reg()}/lab/busybox:1`);
  t.deepEqual(pushed.uploaded.sort(), [...busybox.layers.map((l) => l.digest), busybox.manifest.config.digest].sort());
  // The client went through the token server, for a push scope, with our user.
  const issued = registry!.token!.requests.slice(before);
  t.true(issued.some((r) => r.outcome === 'issued' && r.account === USER && r.scopes.includes('repository:lab/busybox:pull,push')));

  const again = await pushImage(store, 'busybox', `${reg()}/lab/busybox:1`, { auth });
  t.deepEqual(again.uploaded, [], 'a second push sends no blob the registry has');

  const fresh = freshStore();
  const pulled = await pullImage(fresh, `${reg()}/lab/busybox:1`, { auth });
  t.false(pulled.converted);
  t.is(pulled.remoteDigest, busybox.digest);
  t.is(pulled.image.ref, `${reg()}/lab/busybox:1`);
  t.is(pulled.image.digest, busybox.digest);
  t.is(pulled.image.manifest.config.digest, busybox.manifest.config.digest);
  t.deepEqual(layersOf(pulled.image), layersOf(busybox));
  t.is(sha256(readFileSync(fresh.blobPath(busybox.layers[0]!.digest))), busybox.layers[0]!.digest);
  const [dir] = await fresh.layerDirs(pulled.image);
  t.true(statSync(path.join(dir!, 'bin', 'busybox')).isFile());
  t.deepEqual(partials(fresh), []);

  const byDigest = await pullImage(freshStore(), `${reg()}/lab/busybox@${busybox.digest}`, { auth });
  t.is(byDigest.image.digest, busybox.digest);
  t.is(byDigest.image.ref, `${reg()}/lab/busybox@${busybox.digest}`);
});

test.serial('skopeo reads what pushImage wrote, and pullImage reads what skopeo wrote (OCI and Docker v2 schema 2)', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  await pushImage(store, 'busybox', `${reg()}/lab/busybox:ours`, { auth });
  const inspect = JSON.parse((await execa('skopeo', ['inspect', '--tls-verify=false', '--creds', skopeoCreds, `docker://${reg()}/lab/busybox:ours`])).stdout);
  t.is(inspect.Digest, busybox.digest);
  t.deepEqual(inspect.Layers, busybox.layers.map((l) => l.digest));

  // skopeo pushes an OCI manifest as it is ...
  await execa('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', skopeoCreds, `oci:${store.oci}:busybox:latest`, `docker://${reg()}/lab/by-skopeo:oci`]);
  const oci = await pullImage(freshStore(), `${reg()}/lab/by-skopeo:oci`, { auth });
  t.false(oci.converted);
  t.is(oci.image.manifest.config.digest, busybox.manifest.config.digest);
  t.deepEqual(oci.image.layers.map((l) => l.diffID), busybox.layers.map((l) => l.diffID));

  // ... and as a Docker v2 schema 2 manifest when asked: pulled, it is stored with OCI media types.
  await execa('skopeo', ['copy', '--format', 'v2s2', '--dest-tls-verify=false', '--dest-creds', skopeoCreds, `oci:${store.oci}:busybox:latest`, `docker://${reg()}/lab/by-skopeo:v2s2`]);
  const remote = JSON.parse((await execa('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', skopeoCreds, `docker://${reg()}/lab/by-skopeo:v2s2`])).stdout);
  t.is(remote.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  const fresh = freshStore();
  const docker = await pullImage(fresh, `${reg()}/lab/by-skopeo:v2s2`, { auth });
  t.true(docker.converted);
  t.not(docker.image.digest, docker.manifestDigest);
  t.is(docker.image.manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.is(docker.image.manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  t.deepEqual(docker.image.layers.map((l) => l.diffID), busybox.layers.map((l) => l.diffID));
  t.deepEqual(docker.image.layers.map((l) => l.digest), remote.layers.map((l: { digest: string }) => l.digest));
  // The converted image works with the rest of the store: skopeo reads it, its layers unpack.
  const local = JSON.parse((await execa('skopeo', ['inspect', `oci:${fresh.oci}:${docker.image.ref}`])).stdout);
  t.is(local.Digest, docker.image.digest);
  const [dir] = await fresh.layerDirs(docker.image);
  t.true(statSync(path.join(dir!, 'bin', 'busybox')).isFile());
});

test.serial('a two-platform index pushed by skopeo --all: amd64 by default, arm64 on request, a clear error for an absent platform', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const amd64 = await tinyImage(store, 'lab/multi:amd64', { content: 'amd64\n' });
  const arm64 = await tinyImage(store, 'lab/multi:arm64', { architecture: 'arm64', variant: 'v8', content: 'arm64\n' });
  const layout = path.join(work, 'multi-layout');
  const descs = await writeOciLayout(store, ['lab/multi:amd64', 'lab/multi:arm64'], layout);
  t.deepEqual(descs.map((d) => d.platform), [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }]);
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descs.map(({ annotations: _a, ...d }) => d) }));
  const indexDigest = sha256(index);
  writeFileSync(path.join(layout, 'blobs', 'sha256', indexDigest.slice(7)), index);
  const top = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
  top.manifests.push({ mediaType: OCI_INDEX, digest: indexDigest, size: index.length, annotations: { [REF_ANNOTATION]: 'multi' } });
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify(top));
  await execa('skopeo', ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', skopeoCreds, `oci:${layout}:multi`, `docker://${reg()}/lab/multi:1`]);

  const def = await pullImage(freshStore(), `${reg()}/lab/multi:1`, { auth });
  t.is(def.platform, 'linux/amd64');
  t.is(def.remoteDigest, indexDigest);
  t.is(def.image.digest, amd64.digest);
  t.deepEqual(layersOf(def.image), layersOf(amd64));

  const arm = await pullImage(freshStore(), `${reg()}/lab/multi:1`, { auth, platform: 'linux/arm64' });
  t.is(arm.platform, 'linux/arm64/v8');
  t.is(arm.image.digest, arm64.digest);
  t.is(arm.image.config.architecture, 'arm64');

  const err = await t.throwsAsync(pullImage(freshStore(), `${reg()}/lab/multi:1`, { auth, platform: 'linux/s390x' }), { instanceOf: RegistryError });
  t.is(err!.message, `registry ${reg()}: repository lab/multi: manifest 1: no image for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8)`);
  // Asking a single-platform image for another platform is refused too.
  await t.throwsAsync(pullImage(freshStore(), `${reg()}/lab/busybox:1`, { auth, platform: 'linux/arm64' }), { message: /the image is for linux\/amd64, not the requested linux\/arm64/ });
});

test.serial('a blob served corrupted is caught by its digest, and nothing of it stays in the store', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const img = await tinyImage(store, 'lab/tamper:1');
  await pushImage(store, 'lab/tamper:1', `${reg()}/lab/tamper:1`, { auth });
  const layer = img.layers[0]!.digest;
  const proxy = await startTamperProxy(registry!.port, (method, p) => method === 'GET' && p === `/v2/lab/tamper/blobs/${layer}`);
  t.teardown(() => proxy.close());
  const fresh = freshStore();
  const err = await t.throwsAsync(pullImage(fresh, `${proxy.host}/lab/tamper:1`, { auth }), { instanceOf: RegistryError });
  t.deepEqual(proxy.tampered, [`/v2/lab/tamper/blobs/${layer}`]);
  t.regex(err!.message, new RegExp(`^registry ${proxy.host}: repository lab/tamper: blob ${layer}: content digest sha256:[0-9a-f]{64} does not match the descriptor's ${layer}$`));
  t.notRegex(err!.message, new RegExp(`content digest ${layer}`));
  t.throws(() => statSync(fresh.blobPath(layer)));
  t.deepEqual(partials(fresh), []);
  await t.throwsAsync(fresh.resolve(`${proxy.host}/lab/tamper:1`), { message: /not found in the local store/ });
  // The same pull straight from the registry is fine.
  const ok = await pullImage(fresh, `${reg()}/lab/tamper:1`, { auth });
  t.is(ok.image.digest, img.digest);
});

test.serial('a manifest served corrupted is caught against Docker-Content-Digest and against the digest asked for', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const img = await tinyImage(store, 'lab/tamper-manifest:1');
  await pushImage(store, 'lab/tamper-manifest:1', `${reg()}/lab/tamper-manifest:1`, { auth });
  const proxy = await startTamperProxy(registry!.port, (method, p) => method === 'GET' && p.startsWith('/v2/lab/tamper-manifest/manifests/'));
  t.teardown(() => proxy.close());
  await t.throwsAsync(pullImage(freshStore(), `${proxy.host}/lab/tamper-manifest:1`, { auth }), {
    message: new RegExp(`^registry ${proxy.host}: repository lab/tamper-manifest: manifest 1: content digest sha256:[0-9a-f]{64} does not match the Docker-Content-Digest ${img.digest} the registry sent$`),
  });
  await t.throwsAsync(pullImage(freshStore(), `${proxy.host}/lab/tamper-manifest@${img.digest}`, { auth }), {
    message: new RegExp(`manifest ${img.digest}: content digest sha256:[0-9a-f]{64} does not match the Docker-Content-Digest ${img.digest}`),
  });
  // A registry that sends no Docker-Content-Digest: the digest in the reference is the check.
  const bare = await startTamperProxy(registry!.port, (method, p) => method === 'GET' && p.startsWith('/v2/lab/tamper-manifest/manifests/'), { dropDigestHeader: true });
  t.teardown(() => bare.close());
  await t.throwsAsync(pullImage(freshStore(), `${bare.host}/lab/tamper-manifest@${img.digest}`, { auth }), {
    message: new RegExp(`^registry ${bare.host}: repository lab/tamper-manifest: manifest ${img.digest}: content digest sha256:[0-9a-f]{64} does not match the requested ${img.digest}$`),
  });
  t.is(proxy.tampered.length + bare.tampered.length, 3);
});

test.serial('credentials the token server refuses, none at all, and absent tags: errors naming registry, repository and what failed', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const host = reg();
  const wrong = await t.throwsAsync(pullImage(freshStore(), `${host}/lab/busybox:1`, { auth: { username: USER, password: 'not-it' } }), { instanceOf: RegistryError });
  t.regex(wrong!.message, new RegExp(`^registry ${host}: repository lab/busybox: token: token server http://127\\.0\\.0\\.1:\\d+/token refused the credentials of user "alice" for repository:lab/busybox:pull: 401 UNAUTHORIZED: invalid username or password$`));
  t.is(wrong!.status, 401);
  await t.throwsAsync(pushImage(store, 'busybox', `${host}/lab/busybox:2`, { auth: { username: 'mallory', password: PASSWORD } }), { message: /refused the credentials of user "mallory" for repository:lab\/busybox:pull,push/ });
  await t.throwsAsync(pullImage(freshStore(), `${host}/lab/busybox:1`), { message: /refused an anonymous request \(no credentials were given\).*401 UNAUTHORIZED: authentication required/ });
  t.true(registry!.token!.requests.some((r) => r.account === 'mallory' && r.outcome === 'refused'));

  await t.throwsAsync(pullImage(freshStore(), `${host}/lab/busybox:absent`, { auth }), { message: `registry ${host}: repository lab/busybox: manifest absent: 404 MANIFEST_UNKNOWN` });
  await t.throwsAsync(pullImage(freshStore(), `${host}/lab/never-pushed:1`, { auth }), { message: /repository lab\/never-pushed: manifest 1: 404 (NAME_UNKNOWN|MANIFEST_UNKNOWN)/ });
  // A port nobody listens on.
  const port = await freePort();
  await t.throwsAsync(pullImage(freshStore(), `127.0.0.1:${port}/lab/busybox:1`, { auth }), { message: new RegExp(`^registry 127\\.0\\.0\\.1:${port}: repository lab/busybox: ping: GET http://127\\.0\\.0\\.1:${port}/v2/: connect ECONNREFUSED`) });
});

test.serial('a registry reference as an image source: pulled when the store lacks it, then served from the store', async (t) => {
  if (!rootOrSkip(t)) return;
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  await pushImage(store, 'busybox', `${reg()}/lab/source:1`, { auth });
  const fresh = freshStore();
  const first = await resolveImageSource(fresh, `${reg()}/lab/source:1`, { auth });
  t.is(first.digest, busybox.digest);
  const issued = registry!.token!.requests.length;
  const second = await resolveImageSource(fresh, `${reg()}/lab/source:1`, { auth });
  t.is(second.digest, busybox.digest);
  t.is(registry!.token!.requests.length, issued, 'the second resolve asked the registry nothing');
  await t.throwsAsync(resolveImageSource(fresh, `${reg()}/lab/source:2`, { auth }), { message: /manifest 2: 404 MANIFEST_UNKNOWN/ });
  await t.throwsAsync(resolveImageSource(fresh, `${reg()}/lab/source:2`, { pull: 'never' }), { message: /not in the local store, and pulling is off/ });
  // The lab's images carry registry names; they resolve from the store, with no registry asked.
  const agnhost = await resolveImageSource(store, 'registry.k8s.io/e2e-test-images/agnhost:2.43', { pull: 'never' });
  t.is(agnhost.digest, (await store.resolve('agnhost')).digest);
});

// bcrypt of "basic-pass-7" (python3: crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))).
const BASIC_HTPASSWD = 'bob:$2b$05$SPmtkN/g9DO39P39GdmVBOKO0gW6V6fl6suhSe1iSIKO08x.KtdAC';

test.serial('a registry with Basic auth (htpasswd): push and pull with credentials, a clear error without or with wrong ones', async (t) => {
  if (!rootOrSkip(t)) return;
  const basic = await startRegistry({ auth: 'htpasswd', htpasswd: BASIC_HTPASSWD });
  t.teardown(() => basic.stop());
  const store = await lab();
  const busybox = await store.resolve('busybox:latest');
  const creds = { username: 'bob', password: 'basic-pass-7' };
  t.is((await pushImage(store, 'busybox', `${basic.host}/lab/busybox:basic`, { auth: creds })).digest, busybox.digest);
  const pulled = await pullImage(freshStore(), `${basic.host}/lab/busybox:basic`, { auth: creds });
  t.deepEqual(layersOf(pulled.image), layersOf(busybox));
  await t.throwsAsync(pullImage(freshStore(), `${basic.host}/lab/busybox:basic`), {
    message: `registry ${basic.host}: repository lab/busybox: authorization: the registry asks for credentials (Basic realm "kubelab-test"); pass a username and password`,
  });
  await t.throwsAsync(pullImage(freshStore(), `${basic.host}/lab/busybox:basic`, { auth: { username: 'bob', password: 'nope' } }), {
    message: `registry ${basic.host}: repository lab/busybox: manifest basic: 401 UNAUTHORIZED: authentication required (the registry refused the credentials of user "bob")`,
  });
});
