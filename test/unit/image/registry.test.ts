// The registry client's pure parts: references, WWW-Authenticate challenges and scopes, the choice
// of HTTP or HTTPS, platform selection in an index, and Docker manifests turned into OCI ones.
import test from 'ava';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  ManifestError,
  manifestMediaType,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_LAYER_ZSTD,
  OCI_MANIFEST,
  parsePlatform,
  selectPlatform,
  toOciManifest,
  type ImageIndex,
} from '../../../src/image/manifests.ts';
import { parseScope, parseWwwAuthenticate, repositoryScope } from '../../../src/image/registry-auth.ts';
import { apiHost, formatReference, hasRegistryHost, parseReference, ReferenceError, registryScheme, storeNameOf } from '../../../src/image/registry.ts';
import { normalizeRef } from '../../../src/image/store.ts';

const D = 'sha256:' + 'ab'.repeat(32);

const REFERENCES: [string, ReturnType<typeof parseReference>][] = [
  ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
  ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36' }],
  ['docker.io/library/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }],
  ['index.docker.io/kubelab/dns:v1', { registry: 'docker.io', repository: 'kubelab/dns', tag: 'v1' }],
  ['kubelab/dns', { registry: 'docker.io', repository: 'kubelab/dns', tag: 'latest' }],
  ['localhost:5000/x/y:tag', { registry: 'localhost:5000', repository: 'x/y', tag: 'tag' }],
  ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
  ['127.0.0.1:5000/lab/busybox', { registry: '127.0.0.1:5000', repository: 'lab/busybox', tag: 'latest' }],
  [`ghcr.io/org/repo@${D}`, { registry: 'ghcr.io', repository: 'org/repo', digest: D }],
  [`host.example/repo:v2@${D}`, { registry: 'host.example', repository: 'repo', tag: 'v2', digest: D }],
  ['registry.k8s.io/e2e-test-images/agnhost:2.43', { registry: 'registry.k8s.io', repository: 'e2e-test-images/agnhost', tag: '2.43' }],
  ['[::1]:5000/a/b:c', { registry: '[::1]:5000', repository: 'a/b', tag: 'c' }],
  ['my-registry.local:8443/team__x/app.name-1:rc_1', { registry: 'my-registry.local:8443', repository: 'team__x/app.name-1', tag: 'rc_1' }],
];

for (const [ref, want] of REFERENCES) {
  test(`reference ${ref}`, (t) => t.deepEqual(parseReference(ref), want));
}

const BAD_REFERENCES: [string, RegExp][] = [
  ['', /is empty/],
  ['Busybox', /lower-case/],
  ['localhost:5000/Lab/x', /lower-case/],
  ['busybox:', /not a valid tag/],
  ['busybox:-x', /not a valid tag/],
  ['busybox@sha256:123', /only sha256 digests/],
  ['busybox@md5', /not a digest/],
  ['a//b', /repository component ""/],
];

for (const [ref, message] of BAD_REFERENCES) {
  test(`reference ${JSON.stringify(ref)} is refused`, (t) => {
    t.throws(() => parseReference(ref), { instanceOf: ReferenceError, message });
  });
}

test('formatReference and storeNameOf give names the store normalizes back', (t) => {
  t.is(formatReference(parseReference('localhost:5000/x/y:1')), 'localhost:5000/x/y:1');
  t.is(formatReference(parseReference('busybox')), 'docker.io/library/busybox:latest');
  t.is(normalizeRef(storeNameOf(parseReference('busybox'))), 'busybox:latest');
  t.is(storeNameOf(parseReference(`h.io/r:t@${D}`)), `h.io/r@${D}`);
});

test('registry hosts: named by a dot, a port or localhost', (t) => {
  t.true(hasRegistryHost('localhost:5000/lab/busybox:1'));
  t.true(hasRegistryHost('localhost/x'));
  t.true(hasRegistryHost('registry.k8s.io/pause'));
  t.false(hasRegistryHost('busybox:latest'));
  t.false(hasRegistryHost('kubelab/dns'));
  t.is(apiHost('docker.io'), 'registry-1.docker.io');
  t.is(apiHost('127.0.0.1:5000'), '127.0.0.1:5000');
});

for (const [registry, insecure, want] of [
  ['127.0.0.1:5000', false, 'http'],
  ['localhost:5000', false, 'http'],
  ['localhost', false, 'http'],
  ['[::1]:5000', false, 'http'],
  ['registry.example:5000', false, 'https'],
  ['docker.io', false, 'https'],
  ['registry.example:5000', true, 'http'],
  ['localhost.example.com', false, 'https'],
] as const) {
  test(`${registry}${insecure ? ' (insecure)' : ''} is spoken to over ${want}`, (t) => t.is(registryScheme(registry, insecure), want));
}

test('WWW-Authenticate: a Bearer challenge with quoted parameters', (t) => {
  t.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
  ]);
});

test('WWW-Authenticate: Basic, spaces, unquoted values, escapes, and an error parameter', (t) => {
  t.deepEqual(parseWwwAuthenticate('Basic realm="Registry \\"Realm\\""'), [{ scheme: 'basic', params: { realm: 'Registry "Realm"' } }]);
  t.deepEqual(parseWwwAuthenticate('bearer  realm = "http://127.0.0.1:1/token" , service=reg ,error="insufficient_scope"'), [
    { scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/token', service: 'reg', error: 'insufficient_scope' } },
  ]);
});

test('WWW-Authenticate: several challenges in one header (as Node joins repeated headers)', (t) => {
  t.deepEqual(parseWwwAuthenticate('Basic realm="a", Bearer realm="https://t/x",scope="repository:a/b:pull"'), [
    { scheme: 'basic', params: { realm: 'a' } },
    { scheme: 'bearer', params: { realm: 'https://t/x', scope: 'repository:a/b:pull' } },
  ]);
  t.deepEqual(parseWwwAuthenticate('Negotiate, Basic realm="x"'), [
    { scheme: 'negotiate', params: {} },
    { scheme: 'basic', params: { realm: 'x' } },
  ]);
});

test('WWW-Authenticate: garbage ends the parse without throwing', (t) => {
  t.deepEqual(parseWwwAuthenticate(''), []);
  t.deepEqual(parseWwwAuthenticate('Bearer realm="unterminated'), [{ scheme: 'bearer', params: { realm: 'unterminated' } }]);
  t.notThrows(() => parseWwwAuthenticate('=,=,"",\\'));
});

test('scopes: a repository name with a registry port keeps its colon', (t) => {
  t.is(repositoryScope('lab/busybox', ['pull', 'push']), 'repository:lab/busybox:pull,push');
  t.deepEqual(parseScope('repository:lab/busybox:pull,push'), { type: 'repository', name: 'lab/busybox', actions: ['pull', 'push'] });
  t.deepEqual(parseScope('repository:localhost:5000/x:pull'), { type: 'repository', name: 'localhost:5000/x', actions: ['pull'] });
  t.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  t.is(parseScope('nonsense'), undefined);
});

const entry = (os: string, architecture: string, variant?: string, n = 1) => ({
  mediaType: OCI_MANIFEST,
  digest: `sha256:${String(n).repeat(64)}`,
  size: 100,
  platform: { os, architecture, ...(variant ? { variant } : {}) },
});

const INDEX: ImageIndex = {
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [entry('linux', 'amd64', undefined, 1), entry('linux', 'arm64', 'v8', 2), entry('linux', 'arm', 'v6', 3), entry('linux', 'arm', 'v7', 4), { ...entry('unknown', 'unknown', undefined, 5) }],
};

for (const [want, digit] of [
  ['linux/amd64', 1],
  ['linux/arm64', 2],
  ['linux/arm64/v8', 2],
  ['linux/arm', 4],
  ['linux/arm/v7', 4],
  ['linux/arm/v6', 3],
] as const) {
  test(`platform ${want} picks entry ${digit}`, (t) => t.is(selectPlatform(INDEX, parsePlatform(want)).digest, `sha256:${String(digit).repeat(64)}`));
}

test('platform: an arm64 entry without a variant counts as v8; with no exact variant the first of the arch wins', (t) => {
  const idx: ImageIndex = { schemaVersion: 2, manifests: [entry('linux', 'arm64', undefined, 7), entry('linux', 'amd64', 'v3', 8)] };
  t.is(selectPlatform(idx, parsePlatform('linux/arm64/v8')).digest, `sha256:${'7'.repeat(64)}`);
  t.is(selectPlatform(idx, parsePlatform('linux/amd64')).digest, `sha256:${'8'.repeat(64)}`);
});

test('platform: none matching lists what the index has', (t) => {
  t.throws(() => selectPlatform(INDEX, parsePlatform('linux/s390x')), {
    instanceOf: ManifestError,
    message: 'no image for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8, linux/arm/v6, linux/arm/v7, unknown/unknown)',
  });
  t.throws(() => selectPlatform(INDEX, parsePlatform('linux/arm64/v9')), { message: /linux\/arm64\/v9/ });
  t.throws(() => selectPlatform({ schemaVersion: 2, manifests: [] }, parsePlatform('linux/amd64')), { message: /no platform entries/ });
});

test('platform strings are checked', (t) => {
  t.deepEqual(parsePlatform('Linux/AMD64'), { os: 'linux', architecture: 'amd64' });
  t.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  for (const bad of ['linux', 'linux/', 'a/b/c/d', 'linux/amd 64']) t.throws(() => parsePlatform(bad), { instanceOf: ManifestError, message: /os\/architecture/ });
});

test('a Docker v2 manifest becomes OCI with the same blobs', (t) => {
  const docker = {
    schemaVersion: 2 as const,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, digest: D, size: 10 },
    layers: [{ mediaType: DOCKER_LAYER_GZIP, digest: `sha256:${'c'.repeat(64)}`, size: 20 }],
  };
  const { manifest, converted } = toOciManifest(docker);
  t.true(converted);
  t.deepEqual(manifest, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: D, size: 10 },
    layers: [{ mediaType: OCI_LAYER_GZIP, digest: `sha256:${'c'.repeat(64)}`, size: 20 }],
  });
});

test('an OCI manifest is kept as it is (its digest with it)', (t) => {
  const oci = { schemaVersion: 2 as const, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: D, size: 1 }, layers: [] };
  const r = toOciManifest(oci);
  t.false(r.converted);
  t.is(r.manifest, oci);
});

test('layers the store cannot unpack, and schema 1, are refused by name', (t) => {
  const zstd = { schemaVersion: 2 as const, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: D, size: 1 }, layers: [{ mediaType: OCI_LAYER_ZSTD, digest: D, size: 1 }] };
  t.throws(() => toOciManifest(zstd), { instanceOf: ManifestError, message: new RegExp(`layer ${D} is .*zstd.*only tar and tar\\+gzip`) });
  t.throws(() => toOciManifest({ ...zstd, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' }), { message: /schema 1/ });
});

test('media type: declared, else Content-Type, else guessed from the shape', (t) => {
  t.is(manifestMediaType({ mediaType: DOCKER_MANIFEST }, OCI_MANIFEST), DOCKER_MANIFEST);
  t.is(manifestMediaType({ schemaVersion: 2, config: {} }, `${OCI_MANIFEST}; charset=utf-8`), OCI_MANIFEST);
  t.is(manifestMediaType({ schemaVersion: 2, manifests: [] }, 'application/json'), OCI_INDEX);
  t.is(manifestMediaType({ schemaVersion: 2, config: {} }), OCI_MANIFEST);
  t.throws(() => manifestMediaType({ schemaVersion: 2 }), { instanceOf: ManifestError });
});
